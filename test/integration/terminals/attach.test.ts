/**
 * A terminal attached to a running kernel (`jupyter console --existing`, run by the kernels'
 * Python): the notebook and the shell share one namespace; `exit` in the shell leaves the
 * notebook's kernel running; the terminal ends with its kernel. Spark REPL requests on a gateway
 * without Spark fall back to Python and say so. (Spark terminals and attaching to a real pyspark
 * kernel: spark-terminals.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSparkBanner } from '../../../src/terminals/repl-launcher.js';
import { api } from '../../helpers/gateway.js';
import { alive, execute, waitFor } from '../../helpers/kernel-client.js';
import { commandLine, createTerminal, envWithoutSpark, startTerminalGateway, WsTerminal, type TerminalGateway } from './terminal-helpers.js';

let tg: TerminalGateway;
let km: KernelManager;
const sessionEnds: string[] = [];
const prepared: string[] = [];

beforeAll(async () => {
  tg = await startTerminalGateway({
    env: envWithoutSpark(),
    // Stands in for the Spark plugin (which gives no SPARK_HOME when it finds no Spark), to see the
    // session's env reach the fallback REPL; the real plugin is in spark-terminals.test.ts.
    prepareSession: async (id, kind) => {
      prepared.push(`${id}:${kind}`);
      return { env: { SPARKGATE_TEST_CONF: `rendered-for-${kind}` }, args: ['--conf', 'spark.app.name=t'] };
    },
    onSessionEnd: (id) => void sessionEnds.push(id),
  });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
});

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
});

async function startKernel(name = 'python3'): Promise<Kernel.IKernelConnection> {
  const kernel = await km.startNew({ name });
  await kernel.info;
  return kernel;
}

describe('attached terminals', () => {
  it('shares the kernel namespace: x = 41 in the notebook, x + 1 in the terminal', async () => {
    const kernel = await startKernel();
    await execute(kernel, 'x = 41');
    const model = await createTerminal(tg, { kernel_id: kernel.id });
    expect(model).toMatchObject({ kind: 'attached', kernel_id: kernel.id, session_id: null });
    const t = await WsTerminal.open(tg, model.name);
    await t.expect(/In \[\d+\]: $/, 30_000);
    // The kernels' Python runs the console (the project venv's jupyter_console). Read once it
    // prompts: /proc/<pid>/cmdline is empty for a moment while the freshly forked pty child execs.
    expect(commandLine(tg.ext.terminals.get(model.name).pid).slice(0, 2)).toEqual([tg.gateway.kernels.pythonInterpreter, '-c']);
    await t.run('x + 1', /Out\[\d+\]: 42/, 15_000);

    // And the other way round.
    await t.run('y = "from the shell"', /In \[\d+\]: $/, 15_000);
    expect((await execute(kernel, 'print(y)')).stdout).toBe('from the shell\n');

    // `exit` leaves the console, not the notebook's kernel.
    const pid = tg.ext.terminals.get(model.name).pid;
    t.type('exit\r');
    await t.closed;
    expect(t.output).toContain('the kernel keeps running');
    expect(t.disconnect?.exitCode).toBe(0);
    await waitFor(() => !alive(pid), 5_000, 'console gone');
    expect((await api(tg, `/api/kernels/${kernel.id}`)).status).toBe(200);
    expect((await execute(kernel, 'x + 1')).results[0]!['text/plain']).toBe('42');
    await kernel.shutdown();
  });

  it('ends when its kernel is shut down', async () => {
    const kernel = await startKernel();
    const model = await createTerminal(tg, { kernel_id: kernel.id });
    const t = await WsTerminal.open(tg, model.name);
    await t.expect(/In \[\d+\]: $/, 30_000);
    const pid = tg.ext.terminals.get(model.name).pid;
    await kernel.shutdown();
    expect(await t.closed).toBe(1000);
    expect(t.output).toContain('shutting down; closing this terminal');
    await waitFor(() => !alive(pid), 5_000, 'console gone');
    expect((await api(tg, `/api/terminals/${model.name}`)).status).toBe(404);
  });

  it('unknown kernel: 404; non-Python kernel: 400; both kernel_id and kernelspec: 400', async () => {
    const unknown = await api(tg, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: randomUUID() }) });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ reason: 'kernel_not_found', message: expect.stringContaining('Kernel does not exist') });

    // An ipykernel that says it is Scala: a real Scala kernel would start a JVM only to be refused.
    const scala = await startKernel('scala-lookalike');
    const refused = await api(tg, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: scala.id }) });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ reason: 'kernel_not_python' });
    await scala.shutdown();

    const both = await api(tg, '/api/terminals', { method: 'POST', body: JSON.stringify({ kernel_id: scala.id, kernelspec: 'pyspark' }) });
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ reason: 'invalid_body' });
  });
});

describe('Spark REPL terminals on a gateway without Spark', () => {
  it('pyspark: a Python REPL that says Spark is missing, with the session conf; onSessionEnd on exit', async () => {
    const model = await createTerminal(tg, { kernelspec: 'pyspark' });
    expect(model.kind).toBe('pyspark');
    expect(model.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(prepared).toContain(`${model.session_id}:pyspark`);
    const t = await WsTerminal.open(tg, model.name);
    await t.expect(noSparkBanner('pyspark'));
    expect(noSparkBanner('pyspark')).toMatch(/^Spark is not installed on this gateway; .*pip install pyspark .*SPARKGATE_SPARK_SPARK_HOME=/);
    await t.run('import os; print(os.environ["SPARKGATE_TEST_CONF"], "SPARKGATE_TOKEN" in os.environ)', 'rendered-for-pyspark False');
    t.type('\x04');
    await t.closed;
    await waitFor(() => sessionEnds.includes(model.session_id!), 5_000, 'onSessionEnd');
  });
});
