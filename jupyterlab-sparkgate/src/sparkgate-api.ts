/**
 * The server extension's proxy routes, as @jupyterlab/services settings and a few calls.
 *
 * Everything goes to this Jupyter Server under `{baseUrl}sparkgate/`; the server forwards it to
 * sparkgate with its own GatewayClient URL and token (jupyterlab_sparkgate/gateway.py). The
 * browser never learns either. `settings` is a copy of the app's server settings (token, xsrf,
 * fetch) with the base and websocket URLs moved under the prefix, so @jupyterlab/services'
 * TerminalConnection talks to `{base}sparkgate/api/terminals` and
 * `{base}sparkgate/terminals/websocket/{name}` unchanged.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection, type Terminal } from '@jupyterlab/services';

/** The terminal kinds sparkgate's POST /api/terminals starts (src/terminals/repl-launcher.ts SPARK_KINDS). */
export const SPARK_TERMINAL_KINDS = ['pyspark', 'spark-shell', 'spark-sql'] as const;
export type SparkTerminalKind = (typeof SPARK_TERMINAL_KINDS)[number];

/** POST /api/terminals: attach to a kernel's session, or start a REPL with its own session. */
export type CreateTerminalBody = { kernel_id: string } | { kernelspec: SparkTerminalKind };

/** sparkgate's terminal model (terminal-models.ts); Jupyter's `name` plus what sparkgate adds. */
export interface ISparkTerminalModel extends Terminal.IModel {
  kind?: string;
  kernel_id?: string | null;
  session_id?: string | null;
}

/** One executor of a session (spark-sessions.ts ExecutorInfo). */
export interface IExecutorInfo {
  name: string;
  phase: string;
  node: string | null;
  startTime: string | null;
  ageSeconds: number | null;
}

/** An executor a session has logs of (sparkgate's GET /api/sparkgate/sessions/{id}/logs/executors). */
export interface IExecutorLogInfo {
  id: string;
  pod: string;
  namespace: string;
  live: boolean;
  endedAt: string | null;
}

/** Which log, how much of it, and whether to keep reading (sparkgate's session-logs.ts query). */
export interface ILogRequest {
  /** An executor's log instead of the driver's. */
  executor?: string;
  /** Only the last N lines. */
  tail?: number;
  /** Then new output until the session (or executor) ends. */
  follow?: boolean;
  /** Aborting ends the request (and, through the server, the gateway's). */
  signal?: AbortSignal;
}

export const PROXY_PREFIX = 'sparkgate/';

export class SparkgateApi {
  readonly settings: ServerConnection.ISettings;

  constructor(base: ServerConnection.ISettings) {
    this.settings = ServerConnection.makeSettings({
      ...base,
      baseUrl: URLExt.join(base.baseUrl, PROXY_PREFIX),
      wsUrl: URLExt.join(base.wsUrl, PROXY_PREFIX)
    });
  }

  /** Whether the server runs in gateway mode (false also when the server extension is missing). */
  async gatewayMode(): Promise<boolean> {
    try {
      const body = (await this.request('api/info', {})) as { gateway_mode?: boolean };
      return body.gateway_mode === true;
    } catch {
      return false;
    }
  }

  async createTerminal(body: CreateTerminalBody): Promise<ISparkTerminalModel> {
    return (await this.request('api/terminals', { method: 'POST', body: JSON.stringify(body) })) as ISparkTerminalModel;
  }

  async executors(sessionId: string): Promise<IExecutorInfo[]> {
    return (await this.request(`api/sessions/${encodeURIComponent(sessionId)}/executors`, {})) as IExecutorInfo[];
  }

  async logExecutors(sessionId: string): Promise<IExecutorLogInfo[]> {
    return (await this.request(`api/sessions/${encodeURIComponent(sessionId)}/logs/executors`, {})) as IExecutorLogInfo[];
  }

  /** A session's log as a streamed plain-text response; errors as ResponseError. */
  async openLog(sessionId: string, options: ILogRequest): Promise<Response> {
    const query = new URLSearchParams();
    if (options.executor !== undefined) {
      query.set('source', 'executor');
      query.set('executor', options.executor);
    }
    if (options.tail !== undefined) {
      query.set('tail', String(options.tail));
    }
    if (options.follow) {
      query.set('follow', 'true');
    }
    const url = URLExt.join(this.settings.baseUrl, 'api/sessions', encodeURIComponent(sessionId), 'logs') + `?${query.toString()}`;
    const response = await ServerConnection.makeRequest(url, options.signal ? { signal: options.signal } : {}, this.settings);
    if (!response.ok) {
      throw await ServerConnection.ResponseError.create(response);
    }
    return response;
  }

  /** The session's Spark UI, streamed through this server (a page URL: the browser's cookie signs it). */
  sparkUiUrl(sessionId: string): string {
    return URLExt.join(this.settings.baseUrl, 'sessions', encodeURIComponent(sessionId), 'ui') + '/';
  }

  private async request(path: string, init: RequestInit): Promise<unknown> {
    const url = URLExt.join(this.settings.baseUrl, path);
    const response = await ServerConnection.makeRequest(url, init, this.settings);
    if (!response.ok) {
      throw await ServerConnection.ResponseError.create(response);
    }
    return response.json();
  }
}
