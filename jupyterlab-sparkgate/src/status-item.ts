/**
 * The status-bar item: the current notebook's Spark session, its executors now, and a link to its
 * Spark UI through the server's proxy. Polls the proxied executors endpoint while a Spark
 * notebook is current (sparkgate has no executor watch over HTTP yet); stops when none is.
 */
import { Widget } from '@lumino/widgets';
import type { IExecutorInfo, SparkgateApi } from './sparkgate-api';

export interface ISparkStatusOptions {
  api: SparkgateApi;
  pollIntervalMs?: number;
}

export class SparkStatus extends Widget {
  private sessionId: string | null = null;
  private timer: number | undefined;
  private generation = 0;
  private readonly api: SparkgateApi;
  private readonly pollIntervalMs: number;

  constructor(options: ISparkStatusOptions) {
    super();
    this.api = options.api;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.addClass('jp-sparkgate-status');
    this.node.title = 'Spark session of this notebook (sparkgate)';
  }

  /** Whether the item has a session to show (the status bar hides it otherwise). */
  get active(): boolean {
    return this.sessionId !== null;
  }

  /** Follows a notebook's Spark session; null when the notebook has none. */
  setSession(sessionId: string | null): void {
    if (sessionId === this.sessionId) {
      return;
    }
    this.sessionId = sessionId;
    this.generation++;
    window.clearTimeout(this.timer);
    this.render(null, null);
    if (sessionId !== null) {
      void this.poll(this.generation);
    }
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    this.generation++;
    super.dispose();
  }

  private async poll(generation: number): Promise<void> {
    const sessionId = this.sessionId;
    if (sessionId === null || generation !== this.generation) {
      return;
    }
    try {
      const executors = await this.api.executors(sessionId);
      if (generation === this.generation) {
        this.render(executors, null);
      }
    } catch (err) {
      if (generation === this.generation) {
        this.render(null, (err as Error).message ?? String(err));
      }
    }
    if (generation === this.generation && !this.isDisposed) {
      this.timer = window.setTimeout(() => void this.poll(generation), this.pollIntervalMs);
    }
  }

  private render(executors: IExecutorInfo[] | null, error: string | null): void {
    const node = this.node;
    node.textContent = '';
    if (this.sessionId === null) {
      return;
    }
    const summary = document.createElement('span');
    summary.className = 'jp-sparkgate-executors';
    if (error !== null) {
      summary.textContent = 'Spark: executors unavailable';
      summary.classList.add('jp-sparkgate-status-error');
      summary.title = error;
    } else if (executors === null) {
      summary.textContent = 'Spark: …';
    } else {
      const running = executors.filter(e => e.phase === 'Running').length;
      const n = executors.length;
      summary.textContent = `Spark: ${n} executor${n === 1 ? '' : 's'}` + (running !== n ? ` (${running} running)` : '');
      summary.title = n
        ? executors.map(e => `${e.name}: ${e.phase}${e.node ? ` on ${e.node}` : ''}`).join('\n')
        : 'No executor pods (dynamic allocation starts them on demand; none in local mode)';
    }
    summary.dataset.executors = executors === null ? '' : String(executors.length);
    node.appendChild(summary);

    const link = document.createElement('a');
    link.className = 'jp-sparkgate-ui-link';
    link.href = this.api.sparkUiUrl(this.sessionId);
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = 'Spark UI';
    link.title = 'Open the Spark UI of this session (through Jupyter Server)';
    node.appendChild(link);
  }
}
