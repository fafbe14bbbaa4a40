/**
 * What the Jupyter side (repl-kernel.ts) needs from a language: a four-verb engine. The Scala
 * REPL engine drives a ReplProcess; the unavailable engine answers every cell with one clear
 * error (spark-scala on a gateway without Spark), so the user still gets a kernel that explains.
 */
import { cellOutcome, codePointsToUtf16, utf16ToCodePoints, type CellOutcome } from './repl-protocol.js';
import { ReplExitedError, type OutputSink, type ReplProcess } from './repl-process.js';
import { isComplete, type Completeness } from './scala-syntax.js';

export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  codemirror_mode: string;
  pygments_lexer: string;
}

export interface CompletionResult {
  matches: string[];
  /** Code point offsets (Jupyter's unit). */
  cursorStart: number;
  cursorEnd: number;
}

export interface ReplEngine {
  /** Resolves when cells can run; rejects when the engine cannot start at all. */
  start(): Promise<void>;
  languageInfo(): LanguageInfo;
  banner(): string;
  execute(code: string, sink: OutputSink): Promise<CellOutcome>;
  complete(code: string, cursorPos: number): Promise<CompletionResult>;
  isComplete(code: string): Completeness;
  interrupt(): void;
  /** Stop the engine and everything it started; safe to call twice. */
  stop(): Promise<void>;
  /** The engine died on its own (the JVM exited): the kernel must report it and go away. */
  onDeath(listener: (reason: string) => void): void;
}

const SCALA_LANGUAGE: Omit<LanguageInfo, 'version'> = {
  name: 'scala',
  mimetype: 'text/x-scala',
  file_extension: '.scala',
  codemirror_mode: 'text/x-scala',
  pygments_lexer: 'scala',
};

export class ScalaReplEngine implements ReplEngine {
  constructor(
    private readonly repl: ReplProcess,
    private readonly options: { stopGraceMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    await this.repl.start();
  }

  languageInfo(): LanguageInfo {
    return { ...SCALA_LANGUAGE, version: this.repl.ready?.scala_version ?? '' };
  }

  banner(): string {
    const r = this.repl.ready;
    if (!r) return 'Scala REPL (sparkgate)';
    const spark = r.spark_version ? `, Spark ${r.spark_version} (spark, sc)` : '';
    return `Scala ${r.scala_version} REPL on ${r.java_vm} ${r.java_version}${spark} - sparkgate`;
  }

  async execute(code: string, sink: OutputSink): Promise<CellOutcome> {
    try {
      const reply = await this.repl.execute(code, sink);
      const outcome = cellOutcome(reply.done, reply.replText);
      // Compiler warnings of a cell that ran: shown, but not as its result.
      if (outcome.status === 'ok' && outcome.notes) sink.stderr(`${outcome.notes}\n`);
      return outcome;
    } catch (err) {
      const dead = err instanceof ReplExitedError;
      const evalue = (err as Error).message;
      return { status: 'error', ename: dead ? 'ReplExited' : 'KernelError', evalue, traceback: [`${dead ? 'ReplExited' : 'KernelError'}: ${evalue}`] };
    }
  }

  async complete(code: string, cursorPos: number): Promise<CompletionResult> {
    try {
      const reply = await this.repl.complete(code, codePointsToUtf16(code, cursorPos));
      return { matches: reply.matches, cursorStart: utf16ToCodePoints(code, reply.cursor), cursorEnd: cursorPos };
    } catch {
      return { matches: [], cursorStart: cursorPos, cursorEnd: cursorPos };
    }
  }

  isComplete(code: string): Completeness {
    return isComplete(code);
  }

  interrupt(): void {
    this.repl.interrupt();
  }

  stop(): Promise<void> {
    return this.repl.stop(this.options.stopGraceMs ?? 3_000);
  }

  onDeath(listener: (reason: string) => void): void {
    this.repl.on('exit', (err) => listener(err.message));
  }
}

const RED = '\u001b[0;31m';
const RESET = '\u001b[0m';

/** Every cell fails with the same readable error; nothing else runs. */
export class UnavailableEngine implements ReplEngine {
  constructor(
    private readonly error: { ename: string; message: string },
    private readonly language: { version: string; banner: string },
  ) {}

  async start(): Promise<void> {}

  languageInfo(): LanguageInfo {
    return { ...SCALA_LANGUAGE, version: this.language.version };
  }

  banner(): string {
    return this.language.banner;
  }

  async execute(): Promise<CellOutcome> {
    const { ename, message } = this.error;
    const [first = '', ...rest] = message.split('\n');
    return { status: 'error', ename, evalue: message, traceback: [`${RED}${ename}${RESET}: ${first}`, ...rest] };
  }

  async complete(_code: string, cursorPos: number): Promise<CompletionResult> {
    return { matches: [], cursorStart: cursorPos, cursorEnd: cursorPos };
  }

  isComplete(code: string): Completeness {
    return isComplete(code);
  }

  interrupt(): void {}

  async stop(): Promise<void> {}

  onDeath(): void {}
}
