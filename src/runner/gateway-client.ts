/**
 * The gateway a run talks to: a remote sparkgate (--url/--token) or an embedded one started in
 * this process on 127.0.0.1, port 0, stopped at the end. Either way the runner speaks the
 * public Jupyter API through @jupyterlab/services, so both paths are the same client code.
 */
import { ServerConnection, KernelConnection, KernelSpecAPI, type Kernel } from '@jupyterlab/services';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../config.js';
import { createGateway } from '../gateway-factory.js';
import { createLogger } from '../logger.js';
import { EXIT, RunnerError } from './exit-codes.js';

export interface ConnectedGateway {
  settings: ServerConnection.ISettings;
  /** For messages: "embedded gateway" or the URL. */
  description: string;
  /** Stop the embedded gateway (and any kernel it still runs); a no-op for a remote one. */
  stop(): Promise<void>;
}

export interface EmbeddedGatewayOptions {
  /** SPARKGATE_* settings apply as for `sparkgate serve`. */
  env: NodeJS.ProcessEnv;
  /** The kernels' working directory (the notebook's folder). */
  workDir: string;
  /** Where the gateway's JSON log goes (stderr); its level is SPARKGATE_LOG_LEVEL or "error". */
  logDestination: NodeJS.WritableStream;
}

export function makeSettings(url: string, token: string): ServerConnection.ISettings {
  const base = url.replace(/\/+$/, '');
  return ServerConnection.makeSettings({
    baseUrl: base,
    wsUrl: base.replace(/^http/, 'ws'),
    token,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    fetch: globalThis.fetch,
    Request: globalThis.Request,
    Headers: globalThis.Headers,
  });
}

export function remoteGateway(url: string, token: string): ConnectedGateway {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RunnerError(`--url ${JSON.stringify(url)} is not a URL; expected e.g. http://sparkgate:8888`, EXIT.usage);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RunnerError(`--url must start with http:// or https:// (got ${parsed.protocol})`, EXIT.usage);
  }
  return { settings: makeSettings(url, token), description: parsed.origin, stop: async () => undefined };
}

export async function embeddedGateway(options: EmbeddedGatewayOptions): Promise<ConnectedGateway> {
  let config;
  try {
    config = loadConfig({
      env: options.env,
      overrides: {
        host: '127.0.0.1',
        port: 0,
        workDir: options.workDir,
        ...(options.env['SPARKGATE_LOG_LEVEL'] ? {} : { logLevel: 'error' }),
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new RunnerError(err.message.replace(/\n\s*/g, ' '), EXIT.usage);
    throw err;
  }
  // The same gateway `sparkgate serve` builds (Spark conf, and in Kubernetes mode executor GC),
  // without terminals.
  const gateway = createGateway({
    config,
    env: options.env,
    terminals: false,
    logger: createLogger({ level: config.logLevel, destination: options.logDestination }),
  });
  let url: string;
  try {
    url = await gateway.start();
  } catch (err) {
    await gateway.stop().catch(() => undefined);
    throw new RunnerError(`the embedded gateway did not start: ${(err as Error).message}`, EXIT.gateway);
  }
  return { settings: makeSettings(url, gateway.token), description: 'embedded gateway', stop: () => gateway.stop() };
}

/** settings.baseUrl ends with "/" (makeSettings normalizes it). */
function apiUrl(gateway: ConnectedGateway, route: string): string {
  return `${gateway.settings.baseUrl.replace(/\/+$/, '')}/${route}`;
}

function describeRequestError(err: unknown, gateway: ConnectedGateway): string {
  if (err instanceof ServerConnection.ResponseError) {
    if (err.response.status === 401 || err.response.status === 403) {
      return `${gateway.description} refused the request (${err.response.status}): ${err.message} (check --token / SPARKGATE_TOKEN)`;
    }
    return `${gateway.description} answered ${err.response.status}: ${err.message}`;
  }
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return `cannot reach ${gateway.description} at ${gateway.settings.baseUrl}: ${detail}`;
}

/** The kernelspec's display name and language; a clear error when the gateway has no such kernel. */
export async function findKernelspec(
  gateway: ConnectedGateway,
  name: string,
): Promise<{ name: string; displayName: string; language: string }> {
  let specs: KernelSpecAPI.ISpecModels;
  try {
    specs = await KernelSpecAPI.getSpecs(gateway.settings);
  } catch (err) {
    throw new RunnerError(describeRequestError(err, gateway), EXIT.gateway);
  }
  const spec = specs.kernelspecs[name];
  if (!spec) {
    const known = Object.keys(specs.kernelspecs).sort().join(', ') || '(none)';
    throw new RunnerError(`kernel "${name}" is not on the ${gateway.description}; kernels there: ${known} (choose one with -k NAME)`, EXIT.usage);
  }
  return { name, displayName: spec.display_name, language: spec.language };
}

/**
 * POST /api/kernels (with KERNEL_* env, as Jupyter Server sends it), then the kernel websocket;
 * resolves once kernel_info has answered.
 */
export async function startKernel(
  gateway: ConnectedGateway,
  name: string,
  options: { env?: Record<string, string>; timeoutMs: number },
): Promise<{ kernel: Kernel.IKernelConnection; info: Awaited<Kernel.IKernelConnection['info']> }> {
  const url = apiUrl(gateway, 'api/kernels');
  let model: Kernel.IModel;
  try {
    const response = await ServerConnection.makeRequest(
      url,
      { method: 'POST', body: JSON.stringify({ name, env: options.env ?? {} }) },
      gateway.settings,
    );
    if (response.status !== 201) throw await ServerConnection.ResponseError.create(response);
    model = (await response.json()) as Kernel.IModel;
  } catch (err) {
    throw new RunnerError(`kernel "${name}" did not start: ${describeRequestError(err, gateway)}`, EXIT.gateway);
  }
  const kernel = new KernelConnection({ model, serverSettings: gateway.settings });
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      kernel.info,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no kernel_info reply within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
      }),
    ]);
    return { kernel, info };
  } catch (err) {
    await shutdownKernel(kernel, gateway);
    throw new RunnerError(`kernel "${name}" started but does not answer: ${(err as Error).message}`, EXIT.gateway);
  } finally {
    clearTimeout(timer);
  }
}

/** DELETE /api/kernels/{id}: the gateway stops the kernel and everything of its session. Never throws. */
export async function shutdownKernel(kernel: Kernel.IKernelConnection, gateway: ConnectedGateway): Promise<string | undefined> {
  const id = kernel.id;
  await connectionSettled(kernel, 5_000);
  kernel.dispose();
  try {
    const response = await ServerConnection.makeRequest(apiUrl(gateway, `api/kernels/${id}`), { method: 'DELETE' }, gateway.settings);
    if (response.status === 204 || response.status === 404) return undefined;
    const err = await ServerConnection.ResponseError.create(response);
    return `kernel ${id} shutdown: ${describeRequestError(err, gateway)}`;
  } catch (err) {
    return `kernel ${id} shutdown: ${describeRequestError(err, gateway)}`;
  }
}

/**
 * After a kernel is restarted by the gateway (it died), @jupyterlab/services reconnects on its
 * own, and disposing the connection mid-reconnect rejects a promise nobody can catch: wait for
 * the reconnect to finish (or give up) first.
 */
function connectionSettled(kernel: Kernel.IKernelConnection, timeoutMs: number): Promise<void> {
  if (kernel.isDisposed || kernel.connectionStatus !== 'connecting') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      kernel.connectionStatusChanged.disconnect(onChange);
      resolve();
    };
    const onChange = (_: unknown, status: Kernel.ConnectionStatus): void => {
      if (status !== 'connecting') done();
    };
    const timer = setTimeout(done, timeoutMs);
    kernel.connectionStatusChanged.connect(onChange);
  });
}
