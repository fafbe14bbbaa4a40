/**
 * The request/reply protocol between the adapter and the init script's loop, pure (no I/O).
 *
 * Requests, one line each on the REPL's stdin (base64 keeps any code on one line):
 *   X <id> <base64 code>            evaluate a cell
 *   C <id> <cursor> <base64 code>   complete at a UTF-16 offset
 *   I                               interrupt the running cell (handled at once, not queued)
 * Replies arrive as `m` frames (repl-frames.ts) holding one JSON object each; while a cell runs,
 * `progress` replies (Spark job counts from sc.statusTracker) may come before its `done`.
 */
import { z } from 'zod';

export const readyMessageSchema = z.object({
  type: z.literal('ready'),
  pid: z.string(),
  scala_version: z.string(),
  java_version: z.string().default(''),
  java_vm: z.string().default(''),
  spark_version: z.string().default(''),
});

/** A Dataset result, fetched once in the JVM (take(maxRows + 1)); cells are already text. */
export const tableSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.array(z.string())),
  truncated: z.boolean(),
});

export const doneMessageSchema = z.object({
  type: z.literal('done'),
  id: z.string(),
  status: z.enum(['ok', 'compile_error', 'runtime_error', 'interrupted', 'incomplete', 'internal_error']),
  value: z.string().optional(),
  table: tableSchema.optional(),
  ename: z.string().optional(),
  evalue: z.string().optional(),
});

/** One stage as Spark's status tracker reports it (SparkStageInfo). */
export const stageCountsSchema = z.object({
  stage_id: z.number().int(),
  num_tasks: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});

/** One job (SparkJobInfo): `stages` holds the stages the tracker knows, of `stage_ids`. */
export const jobCountsSchema = z.object({
  job_id: z.number().int(),
  status: z.string(),
  stage_ids: z.array(z.number().int()),
  stages: z.array(stageCountsSchema),
});

export const progressMessageSchema = z.object({
  type: z.literal('progress'),
  id: z.string(),
  /** The cell has ended: these are the jobs' last counts. */
  final: z.boolean(),
  /** Older jobs of the cell not sent. */
  hidden: z.number().int().default(0),
  jobs: z.array(jobCountsSchema),
});

export const completionMessageSchema = z.object({
  type: z.literal('completion'),
  id: z.string(),
  cursor: z.number().int(),
  matches: z.array(z.string()),
  error: z.string().optional(),
});

export const otherMessageSchema = z.object({ type: z.enum(['failure', 'unknown']) }).loose();

export const replMessageSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  doneMessageSchema,
  progressMessageSchema,
  completionMessageSchema,
  otherMessageSchema,
]);

export type ReadyMessage = z.infer<typeof readyMessageSchema>;
export type DoneMessage = z.infer<typeof doneMessageSchema>;
export type ProgressMessage = z.infer<typeof progressMessageSchema>;
export type JobCounts = z.infer<typeof jobCountsSchema>;
export type Table = z.infer<typeof tableSchema>;
export type CompletionMessage = z.infer<typeof completionMessageSchema>;
export type ReplMessage = z.infer<typeof replMessageSchema>;

export function parseReplMessage(body: Buffer): ReplMessage | undefined {
  try {
    const parsed = replMessageSchema.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const b64 = (code: string): string => Buffer.from(code, 'utf8').toString('base64');
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new Error(`bad request id ${JSON.stringify(id)}`);
  return id;
}

export function executeRequestLine(id: string, code: string): string {
  return `X ${checkId(id)} ${b64(code)}\n`;
}

export function completeRequestLine(id: string, code: string, cursorUtf16: number): string {
  return `C ${checkId(id)} ${Math.max(0, Math.trunc(cursorUtf16))} ${b64(code)}\n`;
}

export const INTERRUPT_LINE = 'I\n';

/** The two lines that load the init script and start its loop (the REPL's first input). */
export function bootLines(initScript: string, key: string): string {
  if (/[\r\n]/.test(initScript)) throw new Error('init script path must be one line');
  return `:paste ${initScript}\n__sparkgate.serve("${key}")\n`;
}

// ---- what a cell's outcome becomes in Jupyter terms ----

export type CellOutcome =
  | { status: 'ok'; value?: string | undefined; table?: Table | undefined; notes?: string | undefined }
  | { status: 'error'; ename: string; evalue: string; traceback: string[] };

// CSI/OSC escape sequences (colour, cursor movement); what a REPL may colour its errors with.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

/**
 * Scala compiler error lines: `<console>:12: error: type mismatch;` (2.11/2.12) or, indented
 * under the caret line, `       error: not found: value foo` (2.13).
 */
const COMPILE_ERROR_RE = /^[ \t]*(?:<[^>\n]+>:\d+: )?error: (.*)$/m;

/**
 * `done` + the REPL's own text printed while the cell ran (compiler output, the REPL's stack
 * trace) -> the Jupyter outcome. Which kind of failure it was comes from the init script (the
 * interpreter's result and its `lastException`), never from guessing at the text; the text only
 * supplies the human-readable message and traceback.
 */
export function cellOutcome(done: DoneMessage, replText: string): CellOutcome {
  const text = stripAnsi(replText).replace(/\r\n/g, '\n').replace(/^\n+|\s+$/g, '');
  const lines = text ? text.split('\n') : [];
  switch (done.status) {
    case 'ok':
      return { status: 'ok', value: done.value, table: done.table, notes: text || undefined };
    case 'compile_error': {
      const match = COMPILE_ERROR_RE.exec(text);
      const evalue = match?.[1]?.trim() || lines[0] || 'compilation failed';
      return { status: 'error', ename: 'CompileError', evalue, traceback: lines.length ? lines : [`CompileError: ${evalue}`] };
    }
    case 'runtime_error': {
      const ename = done.ename || 'java.lang.Throwable';
      const evalue = done.evalue ?? '';
      return { status: 'error', ename, evalue, traceback: lines.length ? lines : [evalue ? `${ename}: ${evalue}` : ename] };
    }
    case 'interrupted':
      return {
        status: 'error',
        ename: 'Interrupted',
        evalue: 'Execution interrupted',
        traceback: [`Interrupted: the statement was stopped${done.ename ? ` (${done.ename})` : ''}; earlier definitions are kept`],
      };
    case 'incomplete':
      return {
        status: 'error',
        ename: 'CompileError',
        evalue: 'incomplete input: a brace, parenthesis or string is not closed',
        traceback: ['CompileError: incomplete input: a brace, parenthesis or string is not closed', ...lines],
      };
    case 'internal_error':
      return { status: 'error', ename: 'KernelError', evalue: done.evalue ?? 'the REPL failed', traceback: lines };
    default: {
      const never: never = done.status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

// ---- cursor units: Jupyter counts Unicode code points (protocol 5.2+), the JVM UTF-16 units ----

export function codePointsToUtf16(text: string, cursor: number): number {
  let units = 0;
  let points = 0;
  for (const ch of text) {
    if (points >= cursor) break;
    units += ch.length;
    points++;
  }
  return units;
}

export function utf16ToCodePoints(text: string, offset: number): number {
  return [...text.slice(0, Math.max(0, offset))].length;
}
