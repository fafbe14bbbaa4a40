/**
 * Kernel conformance: the Jupyter project's kernel test suite (jupyter_kernel_test 0.7.0, pinned
 * in requirements/test.txt; https://github.com/jupyter/jupyter_kernel_test) against the kernels
 * a real gateway starts: `python3`, `pyspark` (real Spark), `scala` (Debian's Scala REPL) and
 * `spark-scala` (the venv's spark-shell). Each kernel is started through POST /api/kernels; the
 * suite's Python modules (test/conformance/test_<kernel>.py) attach a BlockingKernelClient to the
 * gateway's connection file for it, beside the gateway's own client, and run with unittest.
 *
 * A run passes only with exit status 0, every test of the suite run, and exactly the skips
 * README.md ("Kernel conformance") lists as not applicable: a check that starts skipping fails.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KernelManager, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../src/config.js';
import { api, startGateway, type TestGateway } from '../../helpers/gateway.js';
import { execute } from '../../helpers/kernel-client.js';

const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const CONFORMANCE_DIR = path.join(REPO_ROOT, 'test', 'conformance');
/** A Spark kernel's start on two busy cores (the JVM, then the SparkSession or spark-shell). */
const START_MS = 180_000;
/** One suite run; jupyter_kernel_test's own waits are 15-60 s per reply. */
const SUITE_MS = 240_000;
/** jupyter_kernel_test 0.7.0: 12 KernelTests + 1 IopubWelcomeTests. */
const TESTS_PER_SUITE = 13;

/** Checks the kernels cannot do, by design; README.md, "Kernel conformance", says why. */
const NOT_APPLICABLE = {
  python: ["test_history (hist_access_type='range')"],
  scala: ['test_clear_output', 'test_display_data', 'test_inspect', 'test_pager'],
};

interface SuiteRun {
  code: number | null;
  output: string;
  ran: number;
  skipped: string[];
}

/** `python -m unittest` on test/conformance/<module>.py against the kernel of `connectionFile`. */
function runSuite(module: string, connectionFile: string): Promise<SuiteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-v', '-s', CONFORMANCE_DIR, '-p', `${module}.py`], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPARKGATE_CONFORMANCE_CONNECTION_FILE: connectionFile, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    const timer = setTimeout(() => {
      output += `\n[kernel-conformance] ${module} still running after ${SUITE_MS} ms: killed\n`;
      child.kill('SIGKILL');
    }, SUITE_MS - 5_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const ran = Number(/^Ran (\d+) tests? in/m.exec(output)?.[1] ?? -1);
      // `test_x (module.Class.test_x) ... skipped '...'`, subtests with their parameters after the id.
      const skipped = [...output.matchAll(/^\s*(test_\w+) \([\w.]+\)( \([^)]*\))? \.\.\. skipped/gm)].map((m) => `${m[1]}${m[2] ?? ''}`);
      resolve({ code, output, ran, skipped: skipped.sort() });
    });
  });
}

let tg: TestGateway;
let km: KernelManager;
const ids = new Map<string, Promise<string>>();

/** Start a kernel through POST /api/kernels (once per name); its id. */
function kernelId(name: string): Promise<string> {
  let id = ids.get(name);
  if (!id) {
    id = (async () => {
      const res = await api(tg, '/api/kernels', { method: 'POST', body: JSON.stringify({ name }) });
      const body = (await res.json()) as { id?: string; message?: string };
      if (res.status !== 201 || !body.id) throw new Error(`starting ${name}: HTTP ${res.status} ${body.message ?? ''}`);
      return body.id;
    })();
    ids.set(name, id);
  }
  return id;
}

async function conformance(kernel: string, module: string, notApplicable: string[]): Promise<void> {
  const id = await kernelId(kernel);
  const file = tg.gateway.kernels.get(id).connectionFilePath!;
  expect(existsSync(file)).toBe(true);
  const run = await runSuite(module, file);
  process.stdout.write(`[kernel-conformance] ${kernel}: ran ${run.ran}, skipped ${run.skipped.length} (${run.skipped.join(', ')})\n`);
  expect(run.code, run.output).toBe(0);
  expect(run.ran, run.output).toBe(TESTS_PER_SUITE);
  expect(run.skipped, run.output).toEqual([...notApplicable].sort());
  // Shut down through the gateway, as a notebook would.
  const res = await api(tg, `/api/kernels/${id}`, { method: 'DELETE' });
  expect(res.status).toBe(204);
}

beforeAll(async () => {
  tg = await startGateway({ kernelStartTimeoutMs: START_MS });
  km = new KernelManager({ serverSettings: tg.settings });
  await km.ready;
  // The JVMs start side by side while the suites of the kernels that are ready run.
  for (const name of ['python3', 'scala', 'pyspark', 'spark-scala']) kernelId(name).catch(() => undefined);
}, 60_000);

afterAll(async () => {
  km?.dispose();
  await tg?.stop();
}, 60_000);

describe('jupyter_kernel_test 0.7.0 against the gateway kernels', () => {
  it('python3', () => conformance('python3', 'test_python3', NOT_APPLICABLE.python), SUITE_MS);
  it('scala', () => conformance('scala', 'test_scala', NOT_APPLICABLE.scala), START_MS + SUITE_MS);
  it('pyspark (real Spark)', () => conformance('pyspark', 'test_pyspark', NOT_APPLICABLE.python), START_MS + SUITE_MS);
  it('spark-scala (real spark-shell)', () => conformance('spark-scala', 'test_spark_scala', NOT_APPLICABLE.scala), START_MS + SUITE_MS);
});

describe('what the suite found, kept fixed', () => {
  it("a Python kernel's history is its own: another session's cells are not found by a history search", async () => {
    const start = async (): Promise<Kernel.IKernelConnection> => {
      const k = await km.startNew({ name: 'python3' });
      await k.info;
      return k;
    };
    const [a, b] = await Promise.all([start(), start()]);
    const marker = `sparkgate_history_marker_${Math.random().toString(36).slice(2)}`;
    expect((await execute(a, `${marker} = 1`)).reply.content.status).toBe('ok');
    const search = async (k: Kernel.IKernelConnection): Promise<unknown[]> => {
      const reply = await k.requestHistory({ hist_access_type: 'search', pattern: `${marker}*`, n: 10, unique: false, output: false, raw: true });
      expect(reply.content.status).toBe('ok');
      return (reply.content as { history: unknown[] }).history;
    };
    expect(await search(a)).toHaveLength(1);
    expect(await search(b)).toEqual([]);
    await Promise.all([a.shutdown(), b.shutdown()]);
  }, 60_000);
});
