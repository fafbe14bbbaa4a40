/** What the Kernel reads off the messages that pass through it: pure, parsing only when asked. */
import type { RawMessage } from '../wire/message.js';

const STATUS_MARK = Buffer.from('"status"');

/** The execution_state of an iopub status message; parses only status messages. */
export function executionStateOf(msg: RawMessage): string | undefined {
  if (msg.header.indexOf(STATUS_MARK) < 0) return undefined;
  try {
    const header = JSON.parse(msg.header.toString('utf8')) as { msg_type?: string };
    if (header.msg_type !== 'status') return undefined;
    return (JSON.parse(msg.content.toString('utf8')) as { execution_state?: string }).execution_state;
  } catch {
    return undefined;
  }
}

/** A string field of a message's parent header (msg_id, session), parsed only when asked for. */
export function parentField(msg: RawMessage, key: 'msg_id' | 'session'): string | undefined {
  try {
    const value = (JSON.parse(msg.parentHeader.toString('utf8')) as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The last `n` lines of a process's output, on one line (log fields, start errors). */
export function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' | ');
}
