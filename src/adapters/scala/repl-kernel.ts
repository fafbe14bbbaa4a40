/**
 * A Jupyter kernel (messaging protocol 5.3) on top of a ReplEngine: the shell channel is served
 * one request at a time, in order (as ipykernel does); control is served at once (interrupt,
 * shutdown). Every request is wrapped in iopub status busy/idle with the request as parent.
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html
 *
 *   shell:   kernel_info, execute, is_complete, complete, inspect, history (cell-history.ts),
 *            comm_info, shutdown
 *   control: interrupt, shutdown, kernel_info
 *
 * Shell requests wait for the engine to be ready (the REPL takes seconds to start); the kernel
 * is "ready" for the gateway when its first kernel_info_reply arrives.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseJsonBounded } from '../../wire/json-scan.js';
import { newMessage, parseHeader, PROTOCOL_VERSION, type MessageHeader, type RawMessage } from '../../wire/message.js';
import { CellHistory } from './cell-history.js';
import type { IncomingRequest, KernelServerSockets } from './kernel-server-sockets.js';
import type { ReplEngine } from './repl-engine.js';
import type { CellOutcome, ProgressMessage } from './repl-protocol.js';
import { renderProgress, type MimeBundle } from './spark-progress.js';
import { renderTable } from './spark-table.js';
import { StreamCoalescer, type StreamName } from './stream-coalescer.js';

const executeRequestSchema = z
  .object({
    code: z.string(),
    silent: z.boolean().default(false),
    store_history: z.boolean().default(true),
    stop_on_error: z.boolean().default(true),
  })
  .loose();
const completeRequestSchema = z.object({ code: z.string(), cursor_pos: z.number().int().min(0) }).loose();
const isCompleteRequestSchema = z.object({ code: z.string() }).loose();
const shutdownRequestSchema = z.object({ restart: z.boolean().default(false) }).loose();

export interface ReplKernelOptions {
  sockets: KernelServerSockets;
  engine: ReplEngine;
  implementation: string;
  implementationVersion: string;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called once the kernel has answered a shutdown_request or its engine died. */
  onExit: (code: number) => void;
  now?: () => Date;
}

type Handler = (req: IncomingRequest, header: MessageHeader, content: unknown) => Promise<void>;

export class ReplKernel {
  private readonly session = randomUUID();
  private executionCount = 0;
  private shellQueue: Promise<void>;
  private arrived = 0;
  /** Shell requests that arrived up to this number are aborted (stop_on_error after an error). */
  private abortThrough = 0;
  private lastParent: Buffer | undefined;
  private readonly streams: StreamCoalescer;
  private readonly history = new CellHistory();
  private exiting = false;
  private readonly now: () => Date;

  constructor(private readonly options: ReplKernelOptions) {
    this.now = options.now ?? (() => new Date());
    this.streams = new StreamCoalescer({ emit: (name, text) => this.publishStream(name, text) });
    const ready = options.engine.start();
    this.shellQueue = ready.catch((err: Error) => {
      options.log('error', `the REPL did not start: ${err.message}`);
      this.exit(1);
    });
    options.engine.onDeath((reason) => {
      if (this.exiting) return;
      options.log('error', `the REPL died: ${reason}`);
      // Give the reply of the cell it died in (sent by the engine's execute) a moment to leave.
      setTimeout(() => this.exit(1), 200).unref();
    });
  }

  /**
   * A client subscribed to iopub (KernelServerSockets.onSubscribe): greet it with an iopub_welcome
   * (JEP 65), sent to the subscribed topic; no parent, clients that did not just subscribe ignore it.
   */
  welcome(topic: string): void {
    if (this.exiting) return;
    this.options.sockets.publish(this.message('iopub', 'iopub_welcome', { subscription: topic }, undefined), topic);
  }

  /** Entry point for every decoded request (KernelServerSockets.onRequest). */
  onRequest(req: IncomingRequest): void {
    const header = parseHeader(req.message.header);
    if (!header) return;
    // Request contents are small dicts of strings and flags; a hostile one costs a scan only.
    const parsed = parseJsonBounded(req.message.content, { maxDepth: 64, maxBytes: Number.MAX_SAFE_INTEGER });
    const content: unknown = parsed.ok ? parsed.value : {};
    if (req.channel === 'control') {
      void this.serve(req, header, content);
      return;
    }
    if (req.channel !== 'shell') return; // input_reply: stdin input is not supported by the REPL engine
    const seq = ++this.arrived;
    this.shellQueue = this.shellQueue.then(() => this.serve(req, header, content, seq));
  }

  private async serve(req: IncomingRequest, header: MessageHeader, content: unknown, seq = 0): Promise<void> {
    if (this.exiting) return;
    const handler = this.handlers[header.msg_type];
    if (!handler) {
      this.options.log('warn', `unsupported request ${header.msg_type} on ${req.channel}`);
      return;
    }
    this.publish('status', { execution_state: 'busy' }, req.message.header);
    try {
      if (seq > 0 && seq <= this.abortThrough && header.msg_type === 'execute_request') {
        this.reply(req, 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
      } else {
        await handler(req, header, content);
      }
    } catch (err) {
      this.options.log('error', `${header.msg_type} failed: ${(err as Error).message}`);
    } finally {
      this.streams.flush();
      this.publish('status', { execution_state: 'idle' }, req.message.header);
    }
  }

  private readonly handlers: Record<string, Handler> = {
    kernel_info_request: async (req) => {
      const { engine, implementation, implementationVersion } = this.options;
      this.reply(req, 'kernel_info_reply', {
        status: 'ok',
        protocol_version: PROTOCOL_VERSION,
        implementation,
        implementation_version: implementationVersion,
        language_info: engine.languageInfo(),
        banner: engine.banner(),
        help_links: [],
        debugger: false,
      });
    },

    execute_request: async (req, _header, raw) => {
      const parsed = executeRequestSchema.safeParse(raw);
      if (!parsed.success) {
        this.reply(req, 'execute_reply', { status: 'error', ename: 'BadRequest', evalue: 'execute_request without code', traceback: [], execution_count: this.executionCount });
        return;
      }
      const { code, silent, store_history, stop_on_error } = parsed.data;
      const counted = !silent && store_history;
      if (counted) this.executionCount++;
      const count = this.executionCount;
      const parent = req.message.header;
      if (!silent) this.publish('execute_input', { code, execution_count: count }, parent);
      this.lastParent = parent;
      const progress = silent ? undefined : this.progressDisplay(parent);
      const outcome: CellOutcome = code.trim()
        ? await this.options.engine.execute(code, {
            stdout: (text) => this.streams.write('stdout', text),
            stderr: (text) => this.streams.write('stderr', text),
            ...(progress ? { progress } : {}),
          })
        : { status: 'ok' };
      this.streams.flush();
      if (counted) this.history.record(count, code, outcome.status === 'ok' ? outcome.value : undefined);
      if (outcome.status === 'ok') {
        if (outcome.value !== undefined && !silent) {
          const data = outcome.table ? renderTable(outcome.table) : { 'text/plain': outcome.value };
          this.publish('execute_result', { execution_count: count, data, metadata: {} }, parent);
        }
        this.reply(req, 'execute_reply', { status: 'ok', execution_count: count, payload: [], user_expressions: {} });
        return;
      }
      const error = { ename: outcome.ename, evalue: outcome.evalue, traceback: outcome.traceback };
      this.publish('error', error, parent);
      this.reply(req, 'execute_reply', { status: 'error', execution_count: count, ...error });
      if (stop_on_error) this.abortThrough = this.arrived;
    },

    is_complete_request: async (req, _header, raw) => {
      const parsed = isCompleteRequestSchema.safeParse(raw);
      const result = parsed.success ? this.options.engine.isComplete(parsed.data.code) : { status: 'unknown' as const };
      this.reply(req, 'is_complete_reply', result);
    },

    complete_request: async (req, _header, raw) => {
      const parsed = completeRequestSchema.safeParse(raw);
      if (!parsed.success) {
        this.reply(req, 'complete_reply', { status: 'ok', matches: [], cursor_start: 0, cursor_end: 0, metadata: {} });
        return;
      }
      const { code, cursor_pos } = parsed.data;
      const result = await this.options.engine.complete(code, cursor_pos);
      this.reply(req, 'complete_reply', {
        status: 'ok',
        matches: result.matches,
        cursor_start: result.cursorStart,
        cursor_end: result.cursorEnd,
        metadata: {},
      });
    },

    inspect_request: async (req) => this.reply(req, 'inspect_reply', { status: 'ok', found: false, data: {}, metadata: {} }),
    history_request: async (req, _header, raw) => this.reply(req, 'history_reply', { status: 'ok', history: this.history.query(raw) }),
    comm_info_request: async (req) => this.reply(req, 'comm_info_reply', { status: 'ok', comms: {} }),

    interrupt_request: async (req) => {
      this.options.engine.interrupt();
      this.reply(req, 'interrupt_reply', { status: 'ok' });
    },

    shutdown_request: async (req, _header, raw) => {
      const parsed = shutdownRequestSchema.safeParse(raw);
      const restart = parsed.success ? parsed.data.restart : false;
      this.exiting = true;
      await this.options.engine.stop();
      this.reply(req, 'shutdown_reply', { status: 'ok', restart });
      this.exit(0);
    },
  };

  /**
   * Spark job progress of one cell: one display (display_data with a transient display_id) that
   * later updates change in place (update_display_data), only when what it shows changed.
   */
  private progressDisplay(parent: Buffer): (update: ProgressMessage) => void {
    const displayId = randomUUID();
    let last: MimeBundle | undefined;
    return (update) => {
      const data = renderProgress(update.jobs, update.hidden);
      if (last && last['text/plain'] === data['text/plain'] && last['text/html'] === data['text/html']) return;
      this.streams.flush(); // output printed before the update stays before it
      this.publish(last ? 'update_display_data' : 'display_data', { data, metadata: {}, transient: { display_id: displayId } }, parent);
      last = data;
    };
  }

  private exit(code: number): void {
    this.exiting = true;
    void (async () => {
      this.streams.flush();
      await this.options.engine.stop().catch(() => undefined);
      await this.options.sockets.flush();
      this.options.onExit(code);
    })();
  }

  private reply(req: IncomingRequest, msgType: string, content: unknown): void {
    const msg = this.message(req.channel, msgType, content, req.message.header);
    this.options.sockets.send(req.channel, req.identities, msg);
  }

  private publish(msgType: string, content: unknown, parent: Buffer | undefined): void {
    this.options.sockets.publish(this.message('iopub', msgType, content, parent));
  }

  private publishStream(name: StreamName, text: string): void {
    this.publish('stream', { name, text }, this.lastParent);
  }

  private message(channel: RawMessage['channel'], msgType: string, content: unknown, parent: Buffer | undefined): RawMessage {
    return newMessage({
      channel,
      msgType,
      session: this.session,
      content,
      ...(parent ? { parentHeader: parent } : {}),
      msgId: randomUUID(),
      date: this.now(),
    });
  }
}
