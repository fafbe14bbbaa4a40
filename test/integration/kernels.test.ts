/**
 * The gateway API driven by the real client library (@jupyterlab/services) against real
 * ipykernel processes over ZeroMQ.
 */
import { existsSync, readdirSync } from 'node:fs';
import { KernelManager, KernelSpecManager, SessionManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, execute, waitFor } from '../helpers/kernel-client.js';
import { api, startGateway, type TestGateway } from '../helpers/gateway.js';

let tg: TestGateway;
let km: KernelManager;

beforeAll(async () => {
  tg = await startGateway();
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
});

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
});

async function startKernel(name = 'plain-python'): Promise<Kernel.IKernelConnection> {
  const kernel = await km.startNew({ name });
  await kernel.info;
  return kernel;
}

describe('kernelspecs', () => {
  it('lists specs with resources through KernelSpecManager', async () => {
    const ksm = new KernelSpecManager({ serverSettings: tg.settings });
    await ksm.ready;
    const specs = ksm.specs!;
    expect(Object.keys(specs.kernelspecs)).toContain('plain-python');
    expect(specs.kernelspecs['plain-python']!.display_name).toBe('Plain ipykernel (test fixture)');
    ksm.dispose();
  });
});

describe('kernels', () => {
  it('executes code: execute_result, stream, display_data and error', async () => {
    const kernel = await startKernel();
    const sum = await execute(kernel, '1+1');
    expect(sum.reply.content.status).toBe('ok');
    expect(sum.results[0]!['text/plain']).toBe('2');

    const printed = await execute(kernel, 'import sys\nprint("hello")\nprint("oops", file=sys.stderr)');
    expect(printed.stdout).toBe('hello\n');
    expect(printed.stderr).toBe('oops\n');

    const shown = await execute(kernel, 'from IPython.display import display, HTML\ndisplay(HTML("<b>x</b>"))');
    expect(shown.displays[0]!['text/html']).toBe('<b>x</b>');

    const failed = await execute(kernel, '1/0');
    expect(failed.reply.content.status).toBe('error');
    expect(failed.errors[0]!.ename).toBe('ZeroDivisionError');
    await kernel.shutdown();
  });

  it('answers input() over the stdin channel', async () => {
    const kernel = await startKernel();
    const result = await execute(kernel, 'name = input("who? ")\nprint("hi " + name)', {
      allowStdin: true,
      onStdin: (msg) => {
        expect(msg.header.msg_type).toBe('input_request');
        kernel.sendInputReply({ status: 'ok', value: 'spark' }, msg.header as never);
      },
    });
    expect(result.stdout).toContain('hi spark');
    await kernel.shutdown();
  });

  it('interrupts time.sleep(60) and keeps the kernel', async () => {
    const kernel = await startKernel();
    const started = Date.now();
    let inCell = false;
    const running = execute(kernel, 'import time\ntime.sleep(60)', { onRunning: () => (inCell = true) });
    await waitFor(() => inCell, 10_000, 'the cell running');
    await kernel.interrupt();
    const result = await running;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.errors[0]?.ename).toBe('KeyboardInterrupt');
    expect((await execute(kernel, '6*7')).results[0]!['text/plain']).toBe('42');
    await kernel.shutdown();
  });

  it('interrupts with interrupt_request for interrupt_mode message', async () => {
    const kernel = await startKernel('message-interrupt');
    let inCell = false;
    const running = execute(kernel, 'import time\ntime.sleep(60)', { onRunning: () => (inCell = true) });
    await waitFor(() => inCell, 10_000, 'the cell running');
    await kernel.interrupt();
    const result = await running;
    expect(result.errors[0]?.ename).toBe('KeyboardInterrupt');
    await kernel.shutdown();
  });

  it('restart keeps the id, clears state, and the connection keeps working', async () => {
    const kernel = await startKernel();
    await execute(kernel, 'x = 5');
    const pidBefore = tg.gateway.kernels.get(kernel.id).pid;
    // As Jupyter Server: a restart the client asked for sends no 'restarting' status (that one
    // means "died and auto-restarted", and makes @jupyterlab/services reconnect a second time).
    // Nor the busy/idle of the gateway's own start probes: only statuses of clients' requests.
    const serverStatuses: string[] = [];
    const probeStatuses: string[] = [];
    kernel.iopubMessage.connect((_, msg) => {
      if (msg.header.msg_type !== 'status') return;
      serverStatuses.push((msg.content as { execution_state: string }).execution_state);
      const parentSession = (msg.parent_header as { session?: string }).session ?? '';
      if (parentSession.startsWith('sparkgate-')) probeStatuses.push(parentSession);
    });
    await kernel.restart();
    await waitFor(() => kernel.status === 'idle', 20_000, 'idle after restart');
    expect(serverStatuses).not.toContain('restarting');
    expect(probeStatuses).toEqual([]);
    expect(tg.gateway.kernels.get(kernel.id).pid).not.toBe(pidBefore);
    expect(alive(pidBefore)).toBe(false);
    const after = await execute(kernel, 'print("x" in globals())');
    expect(after.stdout).toBe('False\n');
    const model = await (await api(tg, `/api/kernels/${kernel.id}`)).json();
    expect(model.id).toBe(kernel.id);
    await kernel.shutdown();
  });

  it('shutdown removes the process group and the connection file', async () => {
    const kernel = await startKernel();
    const server = tg.gateway.kernels.get(kernel.id);
    const pid = server.pid;
    const file = server.connectionFilePath!;
    expect(existsSync(file)).toBe(true);
    await kernel.shutdown();
    expect(alive(pid)).toBe(false);
    expect(existsSync(file)).toBe(false);
    expect((await api(tg, `/api/kernels/${kernel.id}`)).status).toBe(404);
  });

  it('two clients on one kernel both receive iopub; connections are counted', async () => {
    const kernel = await startKernel();
    const other = km.connectTo({ model: { id: kernel.id, name: kernel.name } });
    await other.info;
    const seen: string[] = [];
    other.iopubMessage.connect((_sender, msg) => {
      if (msg.header.msg_type === 'stream') seen.push(String((msg.content as { text: string }).text));
    });
    await execute(kernel, 'print("to everyone")');
    await waitFor(() => seen.join('').includes('to everyone'), 5_000, 'iopub on second client');
    const model = await (await api(tg, `/api/kernels/${kernel.id}`)).json();
    expect(model.connections).toBe(2);
    expect(model.execution_state).toBe('idle');
    other.dispose();
    await kernel.shutdown();
  });

  it('a reconnecting client keeps its kernel and its state', async () => {
    const kernel = await startKernel();
    await execute(kernel, 'y = 41');
    await kernel.reconnect();
    const result = await execute(kernel, 'y + 1');
    expect(result.results[0]!['text/plain']).toBe('42');
    await kernel.shutdown();
  });

  it('tracks busy/idle and last_activity from iopub', async () => {
    const kernel = await startKernel();
    const server = tg.gateway.kernels.get(kernel.id);
    const before = server.lastActivity;
    const running = execute(kernel, 'import time\ntime.sleep(1)');
    await waitFor(() => server.state === 'busy', 5_000, 'server sees busy');
    await running;
    await waitFor(() => server.state === 'idle', 5_000, 'server sees idle');
    expect(server.lastActivity).toBeGreaterThan(before);
    await kernel.shutdown();
  });
});

describe('sessions', () => {
  it('creates, lists, renames and deletes sessions with SessionManager', async () => {
    const sm = new SessionManager({ serverSettings: tg.settings, kernelManager: km });
    await sm.ready;
    const session = await sm.startNew({ path: 'work/explore.ipynb', name: 'explore.ipynb', type: 'notebook', kernel: { name: 'plain-python' } });
    await session.kernel!.info;
    expect((await execute(session.kernel!, '2**10')).results[0]!['text/plain']).toBe('1024');
    await session.setPath('work/renamed.ipynb');
    const listed = await (await api(tg, '/api/sessions')).json();
    expect(listed.map((s: { path: string }) => s.path)).toContain('work/renamed.ipynb');
    const kernelId = session.kernel!.id;
    await session.shutdown();
    expect((await api(tg, `/api/kernels/${kernelId}`)).status).toBe(404);
    sm.dispose();
  });
});

describe('cleanup', () => {
  it('leaves no connection files behind', async () => {
    await waitFor(() => tg.gateway.kernels.list().length === 0, 10_000, 'no kernels');
    expect(readdirSync(tg.runtimeDir).filter((f) => f.startsWith('kernel-'))).toEqual([]);
  });
});
