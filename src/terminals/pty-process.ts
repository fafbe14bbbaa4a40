/**
 * A process on a pseudo-terminal, behind the few methods a Terminal needs, so tests can drive a
 * Terminal with a fake. The real one is node-pty with `encoding: null`: output arrives as raw
 * bytes and the Terminal decodes it with a StringDecoder, so a UTF-8 character split across two
 * reads is never mangled.
 *
 * node-pty forks with forkpty(), so the child is a session (and process group) leader: signals go
 * to the whole group (`kill(-pid)`), which also reaches what the REPL started (spark-submit's JVM).
 */
import { spawn } from 'node-pty';
import type { ExitStatus } from './terminado-codec.js';

export interface PtySpawnOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  rows: number;
  cols: number;
}

export interface PtyProcess {
  readonly pid: number;
  onData(listener: (chunk: Buffer) => void): void;
  /** Once, after the last output was delivered. */
  onExit(listener: (status: ExitStatus) => void): void;
  write(data: string): void;
  /** Input written but not yet taken by the pty (node-pty queues what the kernel refuses). */
  readonly pendingWriteBytes: number;
  resize(rows: number, cols: number): void;
  /** Stop reading output; the REPL blocks once the pty buffer is full. */
  pause(): void;
  resume(): void;
  /** Signal the process group; a group that is gone already is not an error. */
  signalGroup(signal: NodeJS.Signals): void;
}

export type PtySpawn = (options: PtySpawnOptions) => PtyProcess;

/** node-pty 1.1's write queue (`unixTerminal.js`, CustomWriteStream); read only, guarded. */
interface WriteQueueInternals {
  _writeStream?: { _writeQueue?: { buffer: Buffer; offset: number }[] };
}

export const spawnPty: PtySpawn = (options) => {
  const pty = spawn(options.file, options.args, {
    name: options.env['TERM'] ?? 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
    cwd: options.cwd,
    env: options.env,
    encoding: null,
  });
  const internals = pty as unknown as WriteQueueInternals;
  return {
    pid: pty.pid,
    // With encoding null node-pty hands over Buffers; its typings say string.
    onData: (listener) => void pty.onData((d) => listener(Buffer.isBuffer(d) ? d : Buffer.from(d, 'utf8'))),
    onExit: (listener) =>
      void pty.onExit(({ exitCode, signal }) => listener({ exitCode, signal: signal ? signal : null })),
    write: (data) => pty.write(data),
    get pendingWriteBytes(): number {
      const queue = internals._writeStream?._writeQueue;
      if (!Array.isArray(queue)) return 0;
      let n = 0;
      for (const task of queue) n += task.buffer.length - task.offset;
      return n;
    },
    resize: (rows, cols) => pty.resize(cols, rows),
    pause: () => pty.pause(),
    resume: () => pty.resume(),
    signalGroup: (signal) => {
      try {
        process.kill(-pty.pid, signal);
      } catch {
        // ESRCH: the group is gone already.
      }
    },
  };
};
