/**
 * Waiting for a kernel to be ready: a kernel_info_reply on shell AND an iopub message seen (the
 * "nudge" Jupyter Server does: a SUB socket drops messages until its subscription reaches the
 * kernel). Probes are re-sent while the kernel is silent, and a reply to ANY of them counts: a
 * kernel still importing answers the queued probes all at once, and waiting for only the latest
 * would cost up to a whole probe interval on every start.
 */
import type { Logger } from '../logger.js';
import { lastLines } from './kernel-messages.js';
import type { KernelProcess } from './kernel-process.js';

/** A start with no progress from the kernel this long opens the silent gateway sockets again. */
const SILENT_START_REOPEN_MS = 5_000;

export interface StartWatchOptions {
  proc: KernelProcess;
  startTimeoutMs: number;
  now: () => number;
  log: Logger;
  /** Sends one kernel_info_request on the gateway's shell socket; its msg_id. */
  probe: () => string | undefined;
  iopubSeen: () => boolean;
  shuttingDown: () => boolean;
  /** Close and open again the gateway's sockets that delivered nothing. */
  reopen: (which: { control: boolean; iopub: boolean }) => void;
}

export class StartWatch {
  private readonly probes = new Set<string>();
  private readonly timings: Record<string, number> = {};
  private readonly t0 = performance.now();
  private replied = false;
  private wake: () => void = () => undefined;

  constructor(private readonly options: StartWatchOptions) {}

  /** A reply on the gateway's shell socket; true when it answered one of the probes. */
  reply(parentId: string): boolean {
    if (!this.probes.has(parentId)) return false;
    this.timings['reply_ms'] ??= Math.round(performance.now() - this.t0);
    this.replied = true;
    this.wake();
    return true;
  }

  /** iopub traffic arrived. */
  iopub(): void {
    this.timings['iopub_ms'] ??= Math.round(performance.now() - this.t0);
    this.wake();
  }

  /** Resolves when ready; rejects when the process exits, the kernel is shut down, or time is up. */
  async run(): Promise<void> {
    const { proc, startTimeoutMs, now, log } = this.options;
    const deadline = now() + startTimeoutMs;
    const onExit = (): void => this.wake();
    proc.once('exit', onExit);
    let lastProgress = performance.now();
    let progressSeen = 0;
    try {
      while (!(this.replied && this.options.iopubSeen())) {
        // One of the gateway's own sockets can stay silent though the kernel is up and
        // listening (seen in the soak: a TCP connection closed from our side during the start,
        // never reconnected). Whatever has not delivered for a while is opened anew; a slow
        // starter (a Spark driver) only costs a socket now and then.
        const iopubSeen = this.options.iopubSeen();
        const progress = (this.replied ? 1 : 0) + (iopubSeen ? 1 : 0);
        if (progress !== progressSeen) {
          progressSeen = progress;
          lastProgress = performance.now();
        } else if (!proc.hasExited && performance.now() - lastProgress > SILENT_START_REOPEN_MS) {
          log.debug({ replied: this.replied, iopub: iopubSeen }, 'kernel silent during start; opening the gateway sockets again');
          this.options.reopen({ control: !this.replied, iopub: !iopubSeen });
          lastProgress = performance.now();
        }
        if (proc.hasExited) {
          const tail = proc.stderr();
          throw new Error(`kernel process exited during start${tail ? `: ${lastLines(tail, 6)}` : ''}`);
        }
        if (this.options.shuttingDown()) throw new Error('kernel shut down during start');
        if (now() > deadline) {
          throw new Error(`kernel did not answer kernel_info within ${startTimeoutMs} ms (setting kernelStartTimeoutMs)`);
        }
        // Probes go out every 50 ms at first. A DEALER queues the first until the kernel binds, but
        // ipykernel does not notice requests that arrived before its event loop started until
        // the next one comes in (measured: one probe alone made cold starts ~170 ms slower);
        // once answered, more are needed to make iopub traffic until the subscription is through.
        const probe = this.options.probe();
        if (probe) this.probes.add(probe);
        // A slow starter (a Spark driver: tens of seconds) should not find hundreds queued.
        const elapsed = performance.now() - this.t0;
        const interval = this.replied || elapsed < 2_000 ? 50 : elapsed < 10_000 ? 250 : 1_000;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      log.debug({ ...this.timings, probes: this.probes.size }, 'kernel answered');
    } finally {
      proc.off('exit', onExit);
    }
  }
}
