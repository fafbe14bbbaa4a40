/**
 * Runs a notebook's code cells one at a time on a kernel connection (@jupyterlab/services over
 * the gateway's kernel websocket), recording outputs, execution counts and nbclient's timing
 * metadata in the cells.
 *
 * Per cell:   execute_request ──reply──> ok | error
 *                  │ cell timeout / stop (total timeout, SIGINT, SIGTERM)
 *                  └──> interrupt the kernel, wait up to `interruptGraceMs` for the reply,
 *                       add a notice output ──> timeout | stopped
 *                  │ kernel status "dead" or connection lost ──> kernel-died
 * The run stops at the first cell that is not `ok` (errors too, unless `allowErrors`).
 */
import type * as nbformat from '@jupyterlab/nbformat';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { CellOutputCollector, type ErrorContent } from './cell-outputs.js';
import { joinText } from './notebook-format.js';
import type { Notebook } from './notebook-schema.js';

export type StopReason = 'timeout' | 'SIGINT' | 'SIGTERM';
export type CellStatus = 'ok' | 'error' | 'timeout' | 'stopped' | 'kernel-died';
export type RunStatus = 'completed' | 'failed' | 'cell-timeout' | 'stopped' | 'kernel-died';

export interface CellFailure extends ErrorContent {
  cellIndex: number;
  status: Exclude<CellStatus, 'ok'>;
}

export interface RunOutcome {
  status: RunStatus;
  stopReason?: StopReason;
  /** Code cells that were sent to the kernel. */
  executed: number;
  total: number;
  /** Every cell that ended in an error (several with allowErrors). */
  failures: CellFailure[];
}

export interface CellEvent {
  cellIndex: number;
  /** 1-based position among the cells to run. */
  number: number;
  total: number;
  source: string;
}

export interface ExecutorEvents {
  cellStarted?(event: CellEvent): void;
  cellFinished?(event: CellEvent & { status: CellStatus; elapsedMs: number }): void;
  stream?(name: string, text: string): void;
  /** A display_data or update_display_data bundle (the Spark kernels' job progress is one). */
  display?(data: Readonly<Record<string, unknown>>): void;
}

export interface NotebookExecutorOptions {
  kernel: Kernel.IKernelConnection;
  allowErrors?: boolean;
  /** Per-cell limit; undefined = none. */
  cellTimeoutMs?: number;
  /** Aborted with a StopReason as its reason: interrupt the running cell and stop. */
  stopSignal?: AbortSignal;
  interruptGraceMs?: number;
  events?: ExecutorEvents;
  now?: () => number;
}

type Settled =
  | { kind: 'reply'; reply: KernelMessage.IExecuteReplyMsg }
  | { kind: 'lost'; error: unknown }
  | { kind: 'timeout' }
  | { kind: 'stop'; reason: StopReason }
  | { kind: 'died' };

const TIMING_KEYS: Record<string, string> = { busy: 'iopub.status.busy', idle: 'iopub.status.idle' };

export function runnableCells(nb: Notebook): number[] {
  return nb.cells.flatMap((cell, index) => (cell.cell_type === 'code' && joinText(cell.source).trim() !== '' ? [index] : []));
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export class NotebookExecutor {
  private readonly collector = new CellOutputCollector();
  private readonly now: () => number;
  private readonly graceMs: number;

  constructor(private readonly options: NotebookExecutorOptions) {
    this.now = options.now ?? Date.now;
    this.graceMs = options.interruptGraceMs ?? 5_000;
  }

  /** Execute the notebook in place. Code cells that do not run keep no outputs. */
  async run(nb: Notebook): Promise<RunOutcome> {
    for (const cell of nb.cells) if (cell.cell_type === 'code') this.collector.begin(cell as nbformat.ICodeCell);
    // @jupyterlab/services hands update_display_data only to the futures of the cells that first
    // showed the display (disposed once done), never to the running cell's future: take every
    // update from the connection's iopub stream instead.
    const onIopub = (_: unknown, msg: KernelMessage.IIOPubMessage): void => {
      const type = msg.header.msg_type;
      if (type === 'update_display_data') this.collector.updateDisplay(msg.content);
      if (type === 'update_display_data' || type === 'display_data') {
        const data = (msg.content as { data?: unknown }).data;
        if (typeof data === 'object' && data !== null) this.options.events?.display?.(data as Record<string, unknown>);
      }
    };
    this.options.kernel.iopubMessage.connect(onIopub);
    try {
      return await this.runCells(nb);
    } finally {
      this.options.kernel.iopubMessage.disconnect(onIopub);
    }
  }

  private async runCells(nb: Notebook): Promise<RunOutcome> {
    const order = runnableCells(nb);
    const outcome: RunOutcome = { status: 'completed', executed: 0, total: order.length, failures: [] };
    for (const [position, cellIndex] of order.entries()) {
      const stop = this.stopReason();
      if (stop) return { ...outcome, status: 'stopped', stopReason: stop };
      const cell = nb.cells[cellIndex] as nbformat.ICodeCell;
      const event: CellEvent = { cellIndex, number: position + 1, total: order.length, source: joinText(cell.source) };
      this.options.events?.cellStarted?.(event);
      const started = this.now();
      const result = await this.executeCell(cell, cellIndex, event.source);
      outcome.executed += 1;
      this.options.events?.cellFinished?.({ ...event, status: result.status, elapsedMs: this.now() - started });
      if (result.status === 'ok') continue;
      const status = result.status;
      outcome.failures.push({ cellIndex, status, ...result.error });
      switch (status) {
        case 'error':
          if (this.options.allowErrors) continue;
          return { ...outcome, status: 'failed' };
        case 'timeout':
          if (this.options.allowErrors) continue;
          return { ...outcome, status: 'cell-timeout' };
        case 'stopped':
          return { ...outcome, status: 'stopped', stopReason: this.stopReason() ?? 'SIGINT' };
        case 'kernel-died':
          return { ...outcome, status: 'kernel-died' };
        default: {
          const never: never = status;
          throw new Error(`unexpected cell status ${String(never)}`);
        }
      }
    }
    return outcome;
  }

  private stopReason(): StopReason | undefined {
    const signal = this.options.stopSignal;
    return signal?.aborted ? ((signal.reason as StopReason | undefined) ?? 'SIGINT') : undefined;
  }

  private async executeCell(
    cell: nbformat.ICodeCell,
    cellIndex: number,
    code: string,
  ): Promise<{ status: 'ok' } | { status: Exclude<CellStatus, 'ok'>; error: ErrorContent }> {
    const { kernel } = this.options;
    const timing: Record<string, string> = {};
    const future = kernel.requestExecute(
      { code, silent: false, store_history: true, allow_stdin: false, stop_on_error: !this.options.allowErrors },
      true,
    );
    future.onIOPub = (msg) => {
      const type = msg.header.msg_type;
      if (type === 'status') {
        const key = TIMING_KEYS[(msg.content as { execution_state: string }).execution_state];
        if (key) timing[key] = msg.header.date;
      } else if (type === 'execute_input') {
        timing['iopub.execute_input'] = msg.header.date;
      }
      if (type !== 'update_display_data') this.collector.handle(cell, type, msg.content);
      if (type === 'stream') {
        const content = msg.content as { name: string; text: string };
        this.options.events?.stream?.(content.name, content.text);
      }
    };
    const done: Promise<Settled> = future.done.then(
      (reply) => ({ kind: 'reply', reply: reply as KernelMessage.IExecuteReplyMsg }),
      (error: unknown) => ({ kind: 'lost', error }),
    );
    const watch = this.watchers();
    const settled = await Promise.race([done, watch.settled]);
    watch.dispose();

    let notice: ErrorContent | undefined;
    if (settled.kind === 'timeout' || settled.kind === 'stop') {
      const why = settled;
      await kernel.interrupt().catch(() => undefined);
      const grace = this.watchers({ timeoutMs: this.graceMs, stop: false });
      const after = await Promise.race([done, grace.settled]);
      grace.dispose();
      if (after.kind === 'reply') this.recordReply(cell, after.reply, timing);
      else future.dispose();
      notice = this.notice(why, cellIndex);
      this.collector.appendError(cell, notice);
      cell.metadata = { ...cell.metadata, execution: timing };
      return { status: why.kind === 'timeout' ? 'timeout' : 'stopped', error: notice };
    }
    if (settled.kind === 'died' || settled.kind === 'lost') {
      future.dispose();
      notice = {
        ename: 'KernelDiedError',
        evalue: `The kernel ${settled.kind === 'died' ? 'died' : 'connection was lost'} while cell ${cellIndex + 1} was running; its outputs may be incomplete.`,
        traceback: [],
      };
      notice.traceback = [`KernelDiedError: ${notice.evalue}`];
      this.collector.appendError(cell, notice);
      return { status: 'kernel-died', error: notice };
    }
    this.recordReply(cell, settled.reply, timing);
    cell.metadata = { ...cell.metadata, execution: timing };
    const content = settled.reply.content;
    if (content.status === 'ok') return { status: 'ok' };
    if (content.status === 'error') {
      return { status: 'error', error: { ename: content.ename, evalue: content.evalue, traceback: content.traceback } };
    }
    const aborted = { ename: 'ExecutionAborted', evalue: `The kernel aborted cell ${cellIndex + 1}.`, traceback: [] };
    return { status: 'error', error: aborted };
  }

  private recordReply(cell: nbformat.ICodeCell, reply: KernelMessage.IExecuteReplyMsg, timing: Record<string, string>): void {
    timing['shell.execute_reply'] = reply.header.date;
    const count = (reply.content as { execution_count?: unknown }).execution_count;
    cell.execution_count = typeof count === 'number' ? count : null;
  }

  private notice(why: { kind: 'timeout' } | { kind: 'stop'; reason: StopReason }, cellIndex: number): ErrorContent {
    let ename: string;
    let evalue: string;
    if (why.kind === 'timeout') {
      ename = 'CellTimeoutError';
      evalue = `Cell ${cellIndex + 1} did not finish within ${seconds(this.options.cellTimeoutMs ?? 0)} (--cell-timeout); the kernel was interrupted.`;
    } else if (why.reason === 'timeout') {
      ename = 'RunTimeoutError';
      evalue = `The run reached its time limit (--timeout) while cell ${cellIndex + 1} was running; the kernel was interrupted.`;
    } else {
      ename = 'RunInterrupted';
      evalue = `sparkgate run received ${why.reason} while cell ${cellIndex + 1} was running; the kernel was interrupted and shut down.`;
    }
    return { ename, evalue, traceback: [`${ename}: ${evalue}`] };
  }

  /** Promises for the things that end a cell besides its reply; dispose() removes every listener. */
  private watchers(options: { timeoutMs?: number | undefined; stop?: boolean } = {}): { settled: Promise<Settled>; dispose(): void } {
    const { kernel, stopSignal } = this.options;
    const timeoutMs = 'timeoutMs' in options ? options.timeoutMs : this.options.cellTimeoutMs;
    const cleanups: (() => void)[] = [];
    const settled = new Promise<Settled>((resolve) => {
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
        cleanups.push(() => clearTimeout(timer));
      }
      if (stopSignal && options.stop !== false) {
        const onAbort = (): void => resolve({ kind: 'stop', reason: this.stopReason() ?? 'SIGINT' });
        if (stopSignal.aborted) onAbort();
        stopSignal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => stopSignal.removeEventListener('abort', onAbort));
      }
      const onStatus = (_: unknown, status: KernelMessage.Status): void => {
        // A kernel that dies mid-cell is restarted by the gateway: its state is gone either way.
        if (status === 'dead' || status === 'restarting' || status === 'autorestarting') resolve({ kind: 'died' });
      };
      const onConnection = (_: unknown, status: Kernel.ConnectionStatus): void => {
        if (status === 'disconnected') resolve({ kind: 'died' });
      };
      kernel.statusChanged.connect(onStatus);
      kernel.connectionStatusChanged.connect(onConnection);
      cleanups.push(() => {
        kernel.statusChanged.disconnect(onStatus);
        kernel.connectionStatusChanged.disconnect(onConnection);
      });
    });
    return { settled, dispose: () => cleanups.splice(0).forEach((fn) => fn()) };
  }
}
