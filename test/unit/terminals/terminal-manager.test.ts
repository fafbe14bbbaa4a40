/** TerminalManager and ReplLauncher with a fake pty, fake kernels and a fake clock. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { errors, GatewayError } from '../../../src/errors.js';
import type { Kernel } from '../../../src/kernels/kernel.js';
import { ATTACH_SCRIPT, noSparkBanner, ReplLauncher, type FindExecutable } from '../../../src/terminals/repl-launcher.js';
import { TerminalManager, type TerminalManagerDeps } from '../../../src/terminals/terminal-manager.js';
import { FakeClient, FakeClock, fakeSpawner, flush, silentLogger } from './fakes.js';

class FakeKernel extends EventEmitter {
  constructor(
    readonly id: string,
    readonly language = 'python',
    public state = 'idle',
    readonly connectionFilePath: string | undefined = `/run/kernel-${id}.json`,
  ) {
    super();
  }
  get spec() {
    return { spec: { language: this.language } };
  }
}

function launcher(options: { which?: FindExecutable; env?: NodeJS.ProcessEnv; consoleOk?: boolean } = {}) {
  return new ReplLauncher({
    parentEnv: options.env ?? { PATH: '/usr/bin', SPARKGATE_TOKEN: 'secret', HOME: '/home/u' },
    python: '/usr/bin/python3',
    consolePythons: ['/usr/bin/python3'],
    runtimeDir: '/tmp/sparkgate-test-x',
    findExecutable: options.which ?? (() => undefined),
    probeModule: async () => options.consoleOk ?? true,
  });
}

function make(overrides: Partial<TerminalManagerDeps> = {}) {
  const clock = new FakeClock();
  const { spawn, ptys } = fakeSpawner();
  const kernels = new Map<string, FakeKernel>();
  const ended: string[] = [];
  const prepared: [string, string][] = [];
  let n = 0;
  const manager = new TerminalManager({
    logger: silentLogger,
    launcher: launcher(),
    kernels: {
      get: (id) => {
        const k = kernels.get(id);
        if (!k) throw errors.kernelNotFound(id);
        return k as unknown as Kernel;
      },
    },
    workDir: '/',
    spawn,
    now: () => clock.now,
    timers: clock,
    newName: () => `t${++n}`,
    newSessionId: () => `session-${n}`,
    prepareSession: async (id, kind) => {
      prepared.push([id, kind]);
      return { env: { SPARK_CONF_DIR: `/conf/${id}` }, args: ['--conf', 'spark.app.name=x'] };
    },
    onSessionEnd: (id) => void ended.push(id),
    ...overrides,
  });
  return { manager, ptys, clock, kernels, ended, prepared };
}

const rejects = async (p: Promise<unknown>, status: number, reason: string): Promise<void> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).status).toBe(status);
  expect((err as GatewayError).reason).toBe(reason);
};

describe('TerminalManager', () => {
  it('creates a plain Python REPL by default, with short names; lists and models it', async () => {
    const { manager, ptys } = make();
    const t = await manager.create({});
    expect(t.name).toBe('t1');
    expect(ptys[0]!.options.file).toBe('/usr/bin/python3');
    expect(ptys[0]!.options.args.slice(0, 2)).toEqual(['-i', '-c']);
    expect(ptys[0]!.options.args[2]).toContain('sparkgate-terminal /tmp/sparkgate-test-x/t1');
    expect(ptys[0]!.options.env['SPARKGATE_TOKEN']).toBeUndefined();
    expect(manager.model(t)).toMatchObject({ name: 't1', kind: 'python', state: 'running', kernel_id: null, session_id: null, connections: 0 });
    expect(manager.list()).toEqual([t]);
  });

  it('names are unique; the limit is enforced with max_terminals', async () => {
    const { manager } = make({ options: { maxTerminals: 2 } });
    await manager.create({ name: 'a' });
    await rejects(manager.create({ name: 'a' }), 409, 'terminal_exists');
    await manager.create({});
    await rejects(manager.create({}), 403, 'max_terminals');
  });

  it('unknown names are terminal_not_found', async () => {
    const { manager } = make();
    expect(() => manager.get('nope')).toThrow(/does not exist/);
    await rejects(manager.shutdown('nope'), 404, 'terminal_not_found');
  });

  it('a Spark kernelspec owns a session: prepareSession, then onSessionEnd when it exits', async () => {
    const { manager, ptys, prepared, ended } = make();
    const t = await manager.create({ kernelspec: 'pyspark' });
    expect(prepared).toEqual([['session-1', 'pyspark']]);
    expect(t.sessionId).toBe('session-1');
    const pty = ptys[0]!;
    // No Spark here: a plain REPL that says so, with the session's env.
    expect(pty.options.args[2]).toContain(noSparkBanner('pyspark'));
    expect(pty.options.env['SPARK_CONF_DIR']).toBe('/conf/session-1');
    expect(pty.options.env['SPARKGATE_SESSION_ID']).toBe('session-1');
    pty.exit({ exitCode: 0, signal: null });
    await flush();
    expect(ended).toEqual(['session-1']);
    expect(manager.list()).toEqual([]);
  });

  it('runs the Spark command from SPARK_HOME with the rendered --conf args', async () => {
    const which: FindExecutable = (name) => (name === '/opt/spark/bin/spark-shell' ? name : undefined);
    const { manager, ptys } = make({ launcher: launcher({ which, env: { SPARK_HOME: '/opt/spark', PATH: '/usr/bin' } }) });
    await manager.create({ kernelspec: 'spark-shell' });
    expect(ptys[0]!.options.file).toBe('/opt/spark/bin/spark-shell');
    expect(ptys[0]!.options.args).toEqual(['--conf', 'spark.app.name=x']);
  });

  it('a failing prepareSession is a 500 without the cause; the session is not started', async () => {
    const { manager, ptys } = make({
      prepareSession: async () => {
        throw new Error('kube said no: token=abc');
      },
    });
    const err = (await manager.create({ kernelspec: 'pyspark' }).catch((e: unknown) => e)) as GatewayError;
    expect(err.status).toBe(500);
    expect(err.message).not.toContain('abc');
    expect(ptys).toEqual([]);
  });

  it('attaches to a Python kernel with jupyter console; 404 unknown, 400 not Python, 409 not ready', async () => {
    const { manager, ptys, kernels } = make();
    kernels.set('k1', new FakeKernel('k1'));
    kernels.set('scala', new FakeKernel('scala', 'scala'));
    kernels.set('dead', new FakeKernel('dead', 'python', 'dead'));
    const t = await manager.create({ kernel_id: 'k1' });
    expect(t.kind).toBe('attached');
    expect(ptys[0]!.options.args).toEqual(['-c', ATTACH_SCRIPT, '--existing', '/run/kernel-k1.json', '--simple-prompt', '--no-confirm-exit']);
    await rejects(manager.create({ kernel_id: 'missing' }), 404, 'kernel_not_found');
    await rejects(manager.create({ kernel_id: 'scala' }), 400, 'kernel_not_python');
    await rejects(manager.create({ kernel_id: 'dead' }), 409, 'kernel_not_ready');
  });

  it('without jupyter console, attaching is a clear 503', async () => {
    const { manager, kernels } = make({ launcher: launcher({ consoleOk: false }) });
    kernels.set('k1', new FakeKernel('k1'));
    await rejects(manager.create({ kernel_id: 'k1' }), 503, 'unavailable');
  });

  it('an attached terminal ends when its kernel shuts down', async () => {
    const { manager, kernels } = make();
    const kernel = new FakeKernel('k1');
    kernels.set('k1', kernel);
    const t = await manager.create({ kernel_id: 'k1' });
    const client = new FakeClient();
    t.attach(client);
    kernel.emit('state', 'idle', 'terminating');
    await t.ended;
    expect(client.stdout()).toContain('kernel k1 is shutting down');
    expect(manager.list()).toEqual([]);
    expect(kernel.listenerCount('state')).toBe(0);
  });

  it('culls idle terminals after idleTimeoutMs', async () => {
    const { manager, clock } = make({ options: { idleTimeoutMs: 60_000, detachedGraceMs: 0, cullIntervalMs: 10_000 } });
    manager.start();
    const t = await manager.create({});
    t.attach(new FakeClient());
    clock.advance(50_000);
    t.input('1\r'); // activity
    clock.advance(50_000);
    expect(t.state).toBe('running');
    clock.advance(20_000);
    await flush();
    expect(t.state).toBe('ended');
  });

  it('ends a terminal nobody reconnected to within detachedGraceMs', async () => {
    const { manager, clock } = make({ options: { detachedGraceMs: 30_000, cullIntervalMs: 1_000 } });
    manager.start();
    const kept = await manager.create({ name: 'kept' });
    const left = await manager.create({ name: 'left' });
    kept.attach(new FakeClient());
    const c = new FakeClient();
    left.attach(c);
    left.detach(c);
    clock.advance(29_000);
    expect(left.state).toBe('running');
    clock.advance(2_000);
    await flush();
    expect(left.state).toBe('ended');
    expect(kept.state).toBe('running');
  });

  it('stop ends every terminal, runs their session end, refuses new ones; twice is safe', async () => {
    const { manager, ended } = make();
    const a = await manager.create({});
    await manager.create({ kernelspec: 'spark-sql' });
    await manager.stop();
    await manager.stop();
    expect(a.state).toBe('ended');
    expect(ended).toEqual(['session-2']);
    await rejects(manager.create({}), 503, 'unavailable');
  });

  it('rejects invalid options with the option name', () => {
    expect(() => make({ options: { maxTerminals: 0 } })).toThrow(/maxTerminals/);
    expect(() => make({ options: { highWaterBytes: 2048, lowWaterBytes: 4096 } })).toThrow(/lowWaterBytes/);
  });

  it('falls back to the work directory for a cwd that does not exist', async () => {
    const { manager, ptys } = make();
    await manager.create({ cwd: '/definitely/not/here' });
    await manager.create({ cwd: 'tmp' });
    expect(ptys[0]!.options.cwd).toBe('/');
    expect(ptys[1]!.options.cwd).toBe('/tmp');
  });
});
