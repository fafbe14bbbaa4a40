/**
 * "Session logs": a notebook's Spark session logs in a main-area tab. A select picks the driver
 * log (the kernel process's output) or one executor's log (Kubernetes mode; the list comes from
 * the gateway and is refreshed when the select is opened); "Follow" keeps reading new output
 * until the session or executor ends. The text shown is bounded (the oldest lines go first) and
 * scrolls along while the view is at its bottom.
 *
 * Every read is one streamed request through the server extension (sparkgate-api.ts openLog);
 * changing the source or closing the tab aborts it, which ends the gateway's read too.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { listIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import type { IExecutorLogInfo, SparkgateApi } from './sparkgate-api';

/** Lines asked for when a log is opened (the gateway bounds it too). */
const TAIL_LINES = 2000;
/** Characters kept on screen; beyond that the oldest lines are dropped. */
const MAX_CHARS = 1_000_000;
const DRIVER = 'driver';

export interface ISessionLogsOptions {
  api: SparkgateApi;
  sessionId: string;
}

export class SessionLogsView extends Widget {
  readonly sessionId: string;
  private readonly api: SparkgateApi;
  private readonly select: HTMLSelectElement;
  private readonly follow: HTMLInputElement;
  private readonly status: HTMLSpanElement;
  private readonly output: HTMLPreElement;
  private reading: AbortController | undefined;
  private generation = 0;
  private shownChars = 0;

  constructor(options: ISessionLogsOptions) {
    super();
    this.api = options.api;
    this.sessionId = options.sessionId;
    this.addClass('jp-sparkgate-logs');
    this.node.dataset.sparkgateSession = options.sessionId;

    const bar = document.createElement('div');
    bar.className = 'jp-sparkgate-logs-bar';
    this.select = document.createElement('select');
    this.select.className = 'jp-sparkgate-logs-source';
    this.select.title = 'Which log: the driver (the kernel process) or an executor';
    this.select.append(new Option('Driver', DRIVER));
    this.select.addEventListener('change', () => this.restart());
    this.select.addEventListener('focus', () => void this.refreshExecutors());
    const followLabel = document.createElement('label');
    followLabel.className = 'jp-sparkgate-logs-follow';
    this.follow = document.createElement('input');
    this.follow.type = 'checkbox';
    this.follow.checked = true;
    this.follow.addEventListener('change', () => this.restart());
    followLabel.append(this.follow, ' Follow');
    this.status = document.createElement('span');
    this.status.className = 'jp-sparkgate-logs-status';
    bar.append(this.select, followLabel, this.status);

    this.output = document.createElement('pre');
    this.output.className = 'jp-sparkgate-logs-output';
    this.node.append(bar, this.output);
  }

  /** Lists the executors and starts reading the driver log. */
  start(): void {
    void this.refreshExecutors();
    this.restart();
  }

  dispose(): void {
    this.stopReading();
    super.dispose();
  }

  private stopReading(): void {
    this.generation++;
    this.reading?.abort();
    this.reading = undefined;
  }

  /** (Re)reads the selected log from its tail. */
  private restart(): void {
    this.stopReading();
    const generation = this.generation;
    const controller = new AbortController();
    this.reading = controller;
    this.output.textContent = '';
    this.shownChars = 0;
    const executor = this.select.value === DRIVER ? undefined : this.select.value;
    void this.read(generation, controller, executor);
  }

  private async read(generation: number, controller: AbortController, executor: string | undefined): Promise<void> {
    const follow = this.follow.checked;
    this.setStatus(follow ? 'following…' : 'loading…');
    try {
      const response = await this.api.openLog(this.sessionId, { executor, tail: TAIL_LINES, follow, signal: controller.signal });
      const reader = response.body?.getReader();
      const decoder = new TextDecoder();
      while (reader) {
        const { done, value } = await reader.read();
        if (generation !== this.generation) {
          void reader.cancel().catch(() => undefined);
          return;
        }
        if (done) {
          break;
        }
        this.append(decoder.decode(value, { stream: true }));
      }
      this.append(decoder.decode());
      this.setStatus(follow ? `end of log: the ${executor ? 'executor' : 'session'} ended` : 'end of log');
    } catch (err) {
      if (generation !== this.generation || controller.signal.aborted) {
        return;
      }
      const message = err instanceof ServerConnection.ResponseError ? err.message : `the log stream broke off (${(err as Error).message ?? String(err)})`;
      this.setStatus(message, true);
    }
  }

  /** One text node per chunk: appending is cheap, and the oldest chunks go first past MAX_CHARS. */
  private append(text: string): void {
    if (!text) {
      return;
    }
    const out = this.output;
    const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 8;
    out.append(document.createTextNode(text));
    this.shownChars += text.length;
    while (this.shownChars > MAX_CHARS && out.firstChild && out.firstChild !== out.lastChild) {
      this.shownChars -= out.firstChild.textContent?.length ?? 0;
      out.removeChild(out.firstChild);
    }
    if (atBottom) {
      out.scrollTop = out.scrollHeight;
    }
  }

  private setStatus(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('jp-sparkgate-logs-error', error);
  }

  /** Executor options from the gateway (none in local mode); the current choice is kept. */
  private async refreshExecutors(): Promise<void> {
    let executors: IExecutorLogInfo[];
    try {
      executors = await this.api.logExecutors(this.sessionId);
    } catch {
      return; // the driver log still works; a failing list says nothing new
    }
    if (this.isDisposed) {
      return;
    }
    const current = this.select.value;
    const wanted = [DRIVER, ...executors.map(e => e.id)];
    const shown = Array.from(this.select.options).map(o => o.value);
    if (wanted.join('\n') === shown.join('\n')) {
      return;
    }
    this.select.textContent = '';
    this.select.append(new Option('Driver', DRIVER));
    for (const e of executors) {
      const state = e.live ? 'running' : 'ended';
      this.select.append(new Option(`Executor ${e.id} (${state}, ${e.pod})`, e.id));
    }
    this.select.value = wanted.includes(current) ? current : DRIVER;
  }
}

export type SessionLogsWidget = MainAreaWidget<SessionLogsView>;

/** A tab showing the session's logs, beside `ref` (the notebook). */
export function createSessionLogsWidget(api: SparkgateApi, sessionId: string, label: string): SessionLogsWidget {
  const content = new SessionLogsView({ api, sessionId });
  const widget = new MainAreaWidget({ content });
  widget.id = `sparkgate-logs-${sessionId}`;
  widget.title.label = label;
  widget.title.icon = listIcon;
  widget.title.closable = true;
  widget.addClass('jp-sparkgate-logs-panel');
  content.start();
  return widget;
}
