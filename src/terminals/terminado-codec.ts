/**
 * The terminado wire protocol (https://github.com/jupyter/terminado, `terminado/websocket.py`),
 * as `@jupyterlab/services`' TerminalConnection speaks it: every frame is a JSON text array
 * whose first element is the verb.
 *
 *   client -> server   ["stdin", text]
 *                      ["set_size", rows, cols, ...]   JupyterLab's terminal widget appends its
 *                                                      pixel height and width; extra elements
 *                                                      are ignored, as terminado does
 *   server -> client   ["setup", {}]                   first frame of every connection
 *                      ["stdout", text]
 *                      ["disconnect", 1, {exit_code, signal}]
 *                                                      the process ended; terminado sends
 *                                                      ["disconnect", 1], the third element is
 *                                                      ours (the REPL's exit status for
 *                                                      `sparkgate shell`) and clients that do not
 *                                                      know it ignore it
 *
 * Pure: no I/O, no clock. Decoding never throws; it says whether a bad frame is a protocol
 * violation (the connection is closed) or a frame to ignore (logged).
 */
import { parseJsonBounded } from '../wire/json-scan.js';

/** Terminal sizes outside this range are clamped (a 0 or 10^9 row pty helps nobody). */
export const MIN_TERMINAL_SIZE = 1;
export const MAX_TERMINAL_SIZE = 1000;

export type ClientFrame = { type: 'stdin'; data: string } | { type: 'set_size'; rows: number; cols: number };

export type DecodeResult =
  | { ok: true; frame: ClientFrame }
  /**
   * `fatal`: the peer does not speak terminado (not JSON, not an array, no string verb, stdin
   * without text); the connection is closed with 1007. Otherwise the frame is ignored: an
   * unknown verb (a newer client) or a set_size with non-integer sizes.
   */
  | { ok: false; fatal: boolean; reason: string };

export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
}

const fail = (fatal: boolean, reason: string): DecodeResult => ({ ok: false, fatal, reason });

export function clampSize(n: number): number {
  return Math.min(MAX_TERMINAL_SIZE, Math.max(MIN_TERMINAL_SIZE, n));
}

/**
 * Terminado frames are flat arrays (`["stdin", text]`, `["set_size", rows, cols]`); a few levels
 * leave room for newer verbs. The size bound is the websocket's own (maxWsMessageBytes).
 */
const FRAME_JSON_LIMITS = { maxDepth: 8, maxBytes: Number.MAX_SAFE_INTEGER };

export function decodeClientFrame(data: string | Buffer, isBinary = false): DecodeResult {
  if (isBinary) return fail(true, 'binary frame; terminado frames are JSON text');
  const parsed = parseJsonBounded(data, FRAME_JSON_LIMITS);
  if (!parsed.ok) return fail(true, `frame is not JSON terminado accepts (${parsed.error})`);
  const value = parsed.value;
  if (!Array.isArray(value)) return fail(true, 'frame is not a JSON array');
  const [verb, a, b] = value as unknown[];
  if (typeof verb !== 'string') return fail(true, 'frame has no verb (first element must be a string)');
  switch (verb) {
    case 'stdin':
      if (typeof a !== 'string') return fail(true, 'stdin frame needs a string: ["stdin", text]');
      return { ok: true, frame: { type: 'stdin', data: a } };
    case 'set_size':
      if (!Number.isInteger(a) || !Number.isInteger(b)) {
        return fail(false, 'set_size needs whole numbers: ["set_size", rows, cols]');
      }
      return { ok: true, frame: { type: 'set_size', rows: clampSize(a as number), cols: clampSize(b as number) } };
    default:
      return fail(false, `unknown verb ${JSON.stringify(verb.slice(0, 32))}`);
  }
}

export function encodeSetup(): string {
  return '["setup",{}]';
}

export function encodeStdout(text: string): string {
  return JSON.stringify(['stdout', text]);
}

export function encodeDisconnect(status: ExitStatus): string {
  return JSON.stringify(['disconnect', 1, { exit_code: status.exitCode, signal: status.signal }]);
}

/** Client side (CLI, web page, tests): a server frame, or undefined when it is not one. */
export type ServerFrame =
  | { type: 'setup' }
  | { type: 'stdout'; data: string }
  | { type: 'disconnect'; status: ExitStatus };

export function decodeServerFrame(data: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') return undefined;
  switch (value[0]) {
    case 'setup':
      return { type: 'setup' };
    case 'stdout':
      return typeof value[1] === 'string' ? { type: 'stdout', data: value[1] } : undefined;
    case 'disconnect': {
      const extra = (value[2] ?? {}) as { exit_code?: unknown; signal?: unknown };
      return {
        type: 'disconnect',
        status: {
          exitCode: typeof extra.exit_code === 'number' ? extra.exit_code : null,
          signal: typeof extra.signal === 'number' ? extra.signal : null,
        },
      };
    }
    default:
      return undefined;
  }
}

export function encodeStdin(text: string): string {
  return JSON.stringify(['stdin', text]);
}

export function encodeSetSize(rows: number, cols: number): string {
  return JSON.stringify(['set_size', rows, cols]);
}

/** The shell's conventional status: the exit code, or 128 + the signal that killed it. */
export function shellStatus(status: ExitStatus): number {
  if (status.exitCode !== null && status.exitCode !== 0) return status.exitCode;
  if (status.signal) return 128 + status.signal;
  return status.exitCode ?? 1;
}
