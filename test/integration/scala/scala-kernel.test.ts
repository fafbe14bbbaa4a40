/**
 * The `scala` kernel (kernel adapter + a real Scala 2.11 REPL) through @jupyterlab/services
 * against the gateway. One kernel is shared by the file (the REPL takes seconds to start); the
 * tests run in order and the last ones restart and shut it down.
 */
import { execFileSync } from 'node:child_process';
import { KernelManager, type Kernel, type KernelMessage } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, execute, waitFor, type ExecuteResult } from '../../helpers/kernel-client.js';
import { startGateway, type TestGateway } from '../../helpers/gateway.js';

let tg: TestGateway;
let km: KernelManager;
let kernel: Kernel.IKernelConnection;

const START_TIMEOUT_MS = 120_000;

beforeAll(async () => {
  tg = await startGateway({ kernelStartTimeoutMs: START_TIMEOUT_MS });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
  kernel = await km.startNew({ name: 'scala' });
  await kernel.info;
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
});

const text = (r: ExecuteResult): string | undefined => r.results[0]?.['text/plain'] as string | undefined;

/** The JVM's pid, asked of the JVM itself. */
async function jvmPid(): Promise<number> {
  const r = await execute(kernel, 'java.lang.management.ManagementFactory.getRuntimeMXBean.getName.takeWhile(_ != \'@\').toInt');
  const pid = Number(text(r));
  expect(pid).toBeGreaterThan(1);
  return pid;
}

/** Processes of a process group (the kernel runs in its own). */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,pgid='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([pid, g]) => g === pgid && pid !== undefined)
    .map(([pid]) => pid!);
}

describe('scala kernel', () => {
  it('answers kernel_info with Scala language_info', async () => {
    const info = (await kernel.info) as KernelMessage.IInfoReply;
    expect(info.protocol_version).toBe('5.3');
    expect(info.implementation).toBe('sparkgate-scala');
    expect(info.language_info).toMatchObject({
      name: 'scala',
      mimetype: 'text/x-scala',
      file_extension: '.scala',
      codemirror_mode: 'text/x-scala',
    });
    expect(info.language_info.version).toMatch(/^2\.1\d\.\d+/);
    expect(info.banner).toContain('Scala');
  });

  it('val x = 21; x * 2 -> execute_result 42, with execute_input and execution counts', async () => {
    const r = await execute(kernel, 'val x = 21; x * 2');
    expect(r.reply.content.status).toBe('ok');
    expect(text(r)).toBe('42');
    expect(r.errors).toHaveLength(0);
    const input = r.iopub.find((m) => m.header.msg_type === 'execute_input');
    expect((input?.content as { code: string }).code).toBe('val x = 21; x * 2');
    const count = r.reply.content.execution_count;
    const next = await execute(kernel, 'x + 1');
    expect(text(next)).toBe('22');
    expect(next.reply.content.execution_count).toBe(count! + 1);
    const states = r.iopub.filter((m) => m.header.msg_type === 'status').map((m) => (m.content as { execution_state: string }).execution_state);
    expect(states).toEqual(['busy', 'idle']);
  });

  it('a statement without a value has no execute_result', async () => {
    const r = await execute(kernel, 'def twice(n: Int) = n * 2');
    expect(r.reply.content.status).toBe('ok');
    expect(r.results).toHaveLength(0);
    expect(text(await execute(kernel, 'twice(5)'))).toBe('10');
  });

  it('println streams while the cell runs', async () => {
    const arrivals: { t: number; text: string }[] = [];
    const started = Date.now();
    const future = kernel.requestExecute({ code: 'for (i <- 1 to 3) { println(s"tick $i"); Thread.sleep(600) }' });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'stream') arrivals.push({ t: Date.now() - started, text: (msg.content as { text: string }).text });
    };
    await future.done;
    const total = Date.now() - started;
    expect(arrivals.map((a) => a.text).join('')).toBe('tick 1\ntick 2\ntick 3\n');
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    // The first line arrived well before the cell finished (it sleeps 1.8 s in all).
    expect(arrivals[0]!.t).toBeLessThan(total - 1_000);
  });

  it('stdout and stderr are separate streams', async () => {
    const r = await execute(kernel, 'println("to out"); System.err.println("to err"); Console.err.println("console err")');
    expect(r.stdout).toBe('to out\n');
    expect(r.stderr).toBe('to err\nconsole err\n');
  });

  it('a type error is an error message with ename CompileError', async () => {
    const r = await execute(kernel, 'val s: Int = "a"');
    expect(r.reply.content.status).toBe('error');
    expect(r.errors).toHaveLength(1);
    const [error] = r.errors;
    expect(error!.ename).toBe('CompileError');
    expect(error!.evalue).toContain('type mismatch');
    expect(error!.traceback.join('\n')).toContain('required: Int');
    expect(r.results).toHaveLength(0);
    expect(r.stdout).toBe('');
  });

  it('a runtime exception: ename = exception class, evalue = message', async () => {
    const r = await execute(kernel, 'def boom(): Int = throw new IllegalStateException("boom at runtime")\nboom()');
    expect(r.reply.content.status).toBe('error');
    expect(r.errors[0]).toMatchObject({ ename: 'java.lang.IllegalStateException', evalue: 'boom at runtime' });
    expect(r.errors[0]!.traceback.join('\n')).toContain('java.lang.IllegalStateException: boom at runtime');
    // The kernel goes on, definitions included.
    expect(text(await execute(kernel, 'x'))).toBe('21');
  });

  it('multi-line class definitions (one compilation unit, companion included)', async () => {
    const code = [
      'case class Point(x: Int, y: Int) {',
      '  def +(o: Point): Point =',
      '    Point(x + o.x,',
      '          y + o.y)',
      '}',
      '',
      'object Point {',
      '  val origin = Point(0, 0)',
      '}',
      '',
      'Point.origin + Point(1, 2) + Point(3, 4)',
    ].join('\n');
    const r = await execute(kernel, code);
    expect(r.reply.content.status).toBe('ok');
    expect(text(r)).toBe('Point(4,6)');
    const multiline = await execute(kernel, 'val poem = """roses\n  |are red""".stripMargin\npoem');
    expect(text(multiline)).toBe('roses\nare red');
  });

  it('a cell printing the framing characters and ANSI colour does not confuse the kernel', async () => {
    const code = [
      'val soh = "\\u0001"; val stx = "\\u0002"',
      'print(soh + "KEY:m:10" + stx + "{\\"type\\":\\"done\\"}")',
      'println(soh + "x:o:3" + stx)',
      'println("\\u001b[31mred\\u001b[0m plain")',
      '"\\u0001done\\u0002"',
    ].join('\n');
    const r = await execute(kernel, code);
    expect(r.reply.content.status).toBe('ok');
    expect(r.stdout).toBe('\u0001KEY:m:10\u0002{"type":"done"}\u0001x:o:3\u0002\n\u001b[31mred\u001b[0m plain\n');
    expect(text(r)).toBe('\u0001done\u0002');
    expect(text(await execute(kernel, '1 + 1'))).toBe('2');
  });

  it('a very long output (20k lines) arrives intact and in order', async () => {
    const r = await execute(kernel, 'for (i <- 1 to 20000) println(s"line $i of the long output")');
    expect(r.reply.content.status).toBe('ok');
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(20001);
    expect(lines[0]).toBe('line 1 of the long output');
    expect(lines[19999]).toBe('line 20000 of the long output');
    expect(lines.every((l, i) => i === 20000 ? l === '' : l === `line ${i + 1} of the long output`)).toBe(true);
    // Batched: far fewer stream messages than lines.
    expect(r.iopub.filter((m) => m.header.msg_type === 'stream').length).toBeLessThan(2_000);
  });

  it('is_complete: complete, incomplete with indent, invalid', async () => {
    const ask = async (code: string) => ((await kernel.requestIsComplete({ code })).content as { status: string; indent?: string });
    expect(await ask('val a = 1')).toMatchObject({ status: 'complete' });
    expect(await ask('class A {\n  def f = {')).toEqual({ status: 'incomplete', indent: '    ' });
    expect((await ask('val s = """abc')).status).toBe('incomplete');
    expect((await ask('val y =')).status).toBe('incomplete');
    expect((await ask('foo(1))')).status).toBe('invalid');
  });

  it('complete: members from the REPL, with the cursor range of the word', async () => {
    await execute(kernel, 'val greeting = "hello"');
    const code = 'greeting.toUpp';
    const reply = (await kernel.requestComplete({ code, cursor_pos: code.length })).content as KernelMessage.ICompleteReplyMsg['content'] & { status: 'ok' };
    expect(reply.status).toBe('ok');
    expect(reply.matches).toContain('toUpperCase');
    expect(reply.matches.every((m) => m.startsWith('toUpp'))).toBe(true);
    expect(reply.cursor_start).toBe('greeting.'.length);
    expect(reply.cursor_end).toBe(code.length);
    const local = 'gree';
    const names = (await kernel.requestComplete({ code: local, cursor_pos: 4 })).content as { matches: string[]; cursor_start: number };
    expect(names.matches).toContain('greeting');
    expect(names.cursor_start).toBe(0);
  });

  it('stop_on_error aborts the requests queued behind a failing cell; silent cells publish no result', async () => {
    // The failing cell takes a while, so the second request is surely queued behind it when it
    // fails (a compile error alone can fail before a loaded machine delivers the second one).
    const failing = kernel.requestExecute({ code: 'Thread.sleep(1500); throw new IllegalStateException("boom")', stop_on_error: true });
    const queued = kernel.requestExecute({ code: 'val neverDefined = 1', stop_on_error: true });
    expect(((await failing.done) as KernelMessage.IExecuteReplyMsg).content.status).toBe('error');
    expect(((await queued.done) as KernelMessage.IExecuteReplyMsg).content.status).toBe('aborted');
    expect((await execute(kernel, 'neverDefined')).errors[0]?.ename).toBe('CompileError');

    const silent = kernel.requestExecute({ code: 'val quiet = 7; quiet', silent: true });
    const published: string[] = [];
    silent.onIOPub = (msg) => {
      published.push(msg.header.msg_type);
    };
    expect(((await silent.done) as KernelMessage.IExecuteReplyMsg).content.status).toBe('ok');
    expect(published).not.toContain('execute_result');
    expect(published).not.toContain('execute_input');
    expect(text(await execute(kernel, 'quiet'))).toBe('7');
  });

  it('interrupts an infinite loop; the next cell works and earlier definitions are kept', async () => {
    const started = Date.now();
    const running = execute(kernel, 'var spins = 0L\nwhile (true) { spins += 1 }');
    await waitFor(() => kernel.status === 'busy', 10_000, 'busy');
    await new Promise((r) => setTimeout(r, 1_000));
    await kernel.interrupt();
    const r = await running;
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.reply.content.status).toBe('error');
    expect(r.errors[0]!.ename).toBe('Interrupted');
    expect(text(await execute(kernel, 'x * 3'))).toBe('63');
    // A sleeping cell is interrupted cooperatively.
    const sleeping = execute(kernel, 'Thread.sleep(60000); 1');
    await new Promise((r) => setTimeout(r, 1_000));
    await kernel.interrupt();
    expect((await sleeping).errors[0]!.ename).toBe('Interrupted');
    expect(text(await execute(kernel, 'twice(x)'))).toBe('42');
  });

  it('restart keeps the kernel id, loses definitions, and replaces the JVM', async () => {
    const before = await jvmPid();
    const id = kernel.id;
    await kernel.restart();
    await waitFor(() => kernel.status === 'idle', START_TIMEOUT_MS, 'idle after restart');
    expect(kernel.id).toBe(id);
    expect(alive(before)).toBe(false);
    const r = await execute(kernel, 'x');
    expect(r.errors[0]?.ename).toBe('CompileError');
    expect(r.errors[0]?.evalue).toContain('not found: value x');
    expect(text(await execute(kernel, '1+1'))).toBe('2');
  }, START_TIMEOUT_MS);

  it('shutdown leaves no process of the kernel: adapter, launcher script and JVM', async () => {
    const jvm = await jvmPid();
    const adapter = tg.gateway.kernels.get(kernel.id).pid!;
    expect(groupMembers(adapter).length).toBeGreaterThanOrEqual(3); // node adapter, scala script, java
    expect(groupMembers(adapter)).toContain(jvm);
    await kernel.shutdown();
    await waitFor(() => !alive(jvm) && !alive(adapter), 10_000, 'kernel processes gone');
    expect(groupMembers(adapter)).toEqual([]);
  });
});
