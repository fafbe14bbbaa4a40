/** What a Kernel is given (injected I/O, limits, session hooks) and what it reports. */
import type { Logger } from '../logger.js';
import type { LaunchPlan, SessionEndReason } from './kernel-launcher.js';
import type { Kernelspec } from './kernelspec-store.js';
import type { ProcessGroupRegistry } from './orphan-guard.js';

export interface PrepareContext {
  kernelId: string;
  spec: Kernelspec;
  connectionFile: string;
  userEnv: Readonly<Record<string, string>>;
}

export interface KernelDeps {
  logger: Logger;
  /** The gateway's own runtime directory (runtime-dir.ts): connection files go here. */
  runtimeDir: string;
  /** Told each run's process group (the orphan guard). */
  processGroups?: ProcessGroupRegistry;
  startTimeoutMs: number;
  shutdownTimeoutMs: number;
  offlineBufferMessages: number;
  /**
   * Jupyter's KernelRestarter: a kernel that dies on its own is restarted in place (same id, same
   * ports) up to this many times in a row; a run that lasted `stableRunMs` resets the count.
   * 0 = report it dead at once.
   */
  restartLimit?: number;
  stableRunMs?: number;
  /** Builds the process plan for each (re)start; `files` are removed when that run ends. */
  prepare: (ctx: PrepareContext) => Promise<{ plan: LaunchPlan; files: string[] }>;
  /**
   * Where each run's stdout and stderr go besides the debug log (the driver log,
   * src/logs/driver-log-store.ts): called once per run, before the process starts.
   */
  openOutput?: (kernelId: string) => (stream: 'stdout' | 'stderr', text: string) => void;
  /** Session-end work (executor GC, port release) after every run of the process. */
  onEnd: (kernelId: string, reason: SessionEndReason) => Promise<void>;
  now?: () => number;
}

export interface KernelModel {
  id: string;
  name: string;
  last_activity: string;
  execution_state: string;
  connections: number;
}
