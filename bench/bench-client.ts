/** What every measurement drives: one client of one kernel, over a websocket or ZeroMQ. */
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import type { RequestResult } from './request-tracker.js';

export interface BenchClient {
  /** Named in deadline errors: "Jupyter Server v1 websocket", "floor ZeroMQ". */
  readonly label: string;
  kernelInfo(options?: { untilReply?: boolean }): Promise<RequestResult>;
  execute(code: string): Promise<RequestResult>;
  close(): void;
}

export const EXECUTE_DEFAULTS = {
  silent: false,
  store_history: false,
  user_expressions: {},
  allow_stdin: false,
  stop_on_error: true,
} as const;

/**
 * `code` until its execute_reply and status idle, within `baseMs` (scaled by the scope). `where`
 * places the cell in its run ("client 3 of 32, cell 17 of 200") for the deadline error.
 */
export function executeWithin(scope: DeadlineScope, client: BenchClient, code: string, options: { baseMs?: number; where?: () => string } = {}): Promise<RequestResult> {
  return scope.wait(client.execute(code), options.baseMs ?? WAIT_MS.cell, () => `execute_reply + status idle of \`${code}\` from ${client.label}${options.where ? ` (${options.where()})` : ''}`);
}

/** kernel_info_request until its reply (`untilReply`) or reply and status idle. */
export function kernelInfoWithin(scope: DeadlineScope, client: BenchClient, options: { untilReply?: boolean; baseMs?: number } = {}): Promise<RequestResult> {
  const until = options.untilReply ? 'kernel_info_reply' : 'kernel_info_reply + status idle';
  return scope.wait(client.kernelInfo({ untilReply: options.untilReply ?? false }), options.baseMs ?? WAIT_MS.cell, () => `${until} from ${client.label}`);
}
