/** What every measurement drives: one client of one kernel, over a websocket or ZeroMQ. */
import type { RequestResult } from './request-tracker.js';

export interface BenchClient {
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
