/**
 * One REPL process driven through pipes (not a pty: no echo, no line discipline, no CRLF, no
 * prompt redrawing to undo, and stdin EOF is a clean "the adapter is gone" signal).
 *
 * Start: the REPL's first input loads the init script and enters its request loop, which
 * answers `ready` (JVM pid, versions). From then on one request at a time: `execute` streams the
 * cell's stdout/stderr to a sink as it arrives and resolves with the `done` reply plus the REPL's
 * own text (compiler/stack-trace output) printed meanwhile; `complete` resolves with candidates.
 * `interrupt` is a line the loop's reader thread handles at once, even while a cell runs.
 * The JVM stays in the adapter's process group, so the gateway's group kill reaches it; it also
 * exits when its stdin closes (after stopping its SparkContext), so it cannot outlive the adapter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { FrameParser, type ReplEvent } from './repl-frames.js';
import {
  bootLines,
  completeRequestLine,
  executeRequestLine,
  INTERRUPT_LINE,
  parseReplMessage,
  type CompletionMessage,
  type DoneMessage,
  type ProgressMessage,
  type ReadyMessage,
} from './repl-protocol.js';

export interface OutputSink {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Spark job counts of the running cell (in order with its output, before its result). */
  progress?(update: ProgressMessage): void;
}

export interface ReplProcessOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  initScript: string;
  /** Secret of the output framing; random per process (injected for tests). */
  key: string;
  startTimeoutMs: number;
  /** The REPL's text and stderr outside any request (goes to the adapter's log). */
  log: (stream: 'repl' | 'stderr', text: string) => void;
}

export interface ExecuteReply {
  done: DoneMessage;
  /** What the REPL itself printed while the cell ran (errors, warnings), ANSI included. */
  replText: string;
}

export class ReplExitedError extends Error {
  constructor(readonly code: number | null, readonly signal: NodeJS.Signals | null, tail: string) {
    super(`the REPL process exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
  }
}

type Pending =
  | { kind: 'execute'; id: string; text: string[]; resolve: (r: ExecuteReply) => void; reject: (e: Error) => void }
  | { kind: 'complete'; id: string; text: string[]; resolve: (r: CompletionMessage) => void; reject: (e: Error) => void };

const TAIL_LINES = 30;

export class ReplProcess extends EventEmitter<{ exit: [ReplExitedError] }> {
  private child: ChildProcess | undefined;
  private readonly parser: FrameParser;
  private pending: Pending | undefined;
  private sink: OutputSink | undefined;
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8'), text: new StringDecoder('utf8') };
  private readyInfo: ReadyMessage | undefined;
  private onReady: ((r: ReadyMessage) => void) | undefined;
  private exitError: ReplExitedError | undefined;
  private exited: Promise<void> | undefined;
  private readonly tail: string[] = [];
  private seq = 0;

  constructor(private readonly options: ReplProcessOptions) {
    super();
    this.parser = new FrameParser(options.key);
  }

  get ready(): ReadyMessage | undefined {
    return this.readyInfo;
  }

  get childPid(): number | undefined {
    return this.child?.pid;
  }

  get jvmPid(): number | undefined {
    const pid = Number(this.readyInfo?.pid);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  get hasExited(): boolean {
    return this.exitError !== undefined;
  }

  /** Spawn, load the init script, and resolve when its loop answers `ready`. */
  start(): Promise<ReadyMessage> {
    const [command, ...args] = this.options.argv;
    if (!command) return Promise.reject(new Error('empty REPL command'));
    return new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the REPL did not start within ${this.options.startTimeoutMs} ms${this.tailText()}`));
        void this.stop(1_000);
      }, this.options.startTimeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      this.onReady = (info) => {
        clearTimeout(timer);
        resolve(info);
      };
      const child = spawn(command, args, { cwd: this.options.cwd, env: this.options.env, stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      this.exited = new Promise((done) => child.once('close', () => done()));
      child.once('error', (err) => fail(new Error(`cannot run ${JSON.stringify(command)}: ${err.message}`)));
      child.stdin!.on('error', () => {
        /* EPIPE after the REPL died: the exit handler reports it */
      });
      child.stdout!.on('data', (chunk: Buffer) => this.onEvents(this.parser.push(chunk)));
      child.stderr!.setEncoding('utf8').on('data', (text: string) => {
        this.keepTail(text);
        this.options.log('stderr', text);
      });
      child.once('exit', (code, signal) => {
        this.onEvents(this.parser.end());
        const err = new ReplExitedError(code, signal, this.tail.slice(-8).join(' | '));
        this.exitError = err;
        fail(err);
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(err);
        this.emit('exit', err);
      });
      child.stdin!.write(bootLines(this.options.initScript, this.options.key));
    });
  }

  /** Evaluate one cell; stdout/stderr go to `sink` as they arrive (and after it, until the next cell). */
  execute(code: string, sink: OutputSink): Promise<ExecuteReply> {
    return new Promise((resolve, reject) => {
      const id = this.request(reject);
      if (!id) return;
      this.sink = sink;
      this.pending = { kind: 'execute', id, text: [], resolve, reject };
      this.child!.stdin!.write(executeRequestLine(id, code));
    });
  }

  /** Completion candidates at a UTF-16 offset. */
  complete(code: string, cursorUtf16: number): Promise<CompletionMessage> {
    return new Promise((resolve, reject) => {
      const id = this.request(reject);
      if (!id) return;
      this.pending = { kind: 'complete', id, text: [], resolve, reject };
      this.child!.stdin!.write(completeRequestLine(id, code, cursorUtf16));
    });
  }

  /** Cancel Spark jobs and stop the running statement; the REPL and its definitions stay. */
  interrupt(): void {
    if (this.readyInfo && !this.exitError) this.child?.stdin?.write(INTERRUPT_LINE);
  }

  /**
   * End the REPL: close its stdin (the loop halts the JVM at once), then SIGKILL the JVM and the
   * launcher script if they are still there after `graceMs`. Safe to call twice.
   */
  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.exited) return;
    if (!this.exitError) child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!gone) {
      for (const pid of [this.jvmPid, child.pid]) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await this.exited;
    } else if (this.jvmPid) {
      // The launcher script exited; make sure the JVM it started did too.
      try {
        process.kill(this.jvmPid, 'SIGKILL');
      } catch {
        /* gone, as expected */
      }
    }
  }

  private request(reject: (e: Error) => void): string | undefined {
    if (this.exitError) {
      reject(this.exitError);
      return undefined;
    }
    if (!this.readyInfo || !this.child) {
      reject(new Error('the REPL is not ready'));
      return undefined;
    }
    if (this.pending) {
      reject(new Error('a request is already running'));
      return undefined;
    }
    return `r${++this.seq}`;
  }

  private onEvents(events: ReplEvent[]): void {
    for (const event of events) {
      switch (event.kind) {
        case 'stdout':
        case 'stderr': {
          const text = this.decoders[event.kind].write(event.data);
          if (!text) break;
          if (this.sink) this.sink[event.kind](text);
          else this.options.log('repl', text);
          break;
        }
        case 'text': {
          const text = this.decoders.text.write(event.data);
          if (!text) break;
          if (this.pending) this.pending.text.push(text);
          else {
            this.keepTail(text);
            this.options.log('repl', text);
          }
          break;
        }
        case 'message':
          this.onMessage(event.data);
          break;
        default: {
          const never: never = event;
          throw new Error(`unknown event ${JSON.stringify(never)}`);
        }
      }
    }
  }

  private onMessage(body: Buffer): void {
    const msg = parseReplMessage(body);
    if (!msg) {
      this.options.log('repl', `unparsable reply: ${body.toString('utf8').slice(0, 200)}\n`);
      return;
    }
    const pending = this.pending;
    switch (msg.type) {
      case 'ready':
        this.readyInfo = msg;
        this.onReady?.(msg);
        return;
      case 'done':
        if (pending?.id !== msg.id) break;
        this.pending = undefined;
        if (pending.kind === 'execute') pending.resolve({ done: msg, replText: pending.text.join('') });
        else pending.reject(new Error('completion was interrupted'));
        return;
      case 'progress':
        if (pending?.kind !== 'execute' || pending.id !== msg.id) break;
        this.sink?.progress?.(msg);
        return;
      case 'completion':
        if (pending?.kind !== 'complete' || pending.id !== msg.id) break;
        this.pending = undefined;
        pending.resolve(msg);
        return;
      default:
        break;
    }
    this.options.log('repl', `unexpected reply: ${body.toString('utf8').slice(0, 200)}\n`);
  }

  private keepTail(text: string): void {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      this.tail.push(line.slice(0, 300));
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }

  private tailText(): string {
    return this.tail.length ? `: ${this.tail.slice(-8).join(' | ')}` : '';
  }
}
