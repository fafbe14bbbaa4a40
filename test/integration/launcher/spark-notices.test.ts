/**
 * The kernel's side of the gateway's notices (kernel/python/sparkgate_kernel/notices.py): while a
 * cell runs, a notice the gateway writes to SPARKGATE_SPARK_NOTICE_FILE (src/spark/spark-notice-file.ts)
 * appears once on that cell's stderr; notices from before the cell started do not. The cells
 * write the file themselves here, as the gateway would when the driver's log says a
 * ResourceQuota refuses executors (real thing: test/integration/control-plane/team-namespaces.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LauncherKernel, messages, type Execution } from './launcher-kernel.js';

const NOTICE = 'Spark cannot start executors: namespace spark-analytics\'s ResourceQuota "q" refuses them (exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0)';

let dir: string;
let file: string;
let kernel: LauncherKernel;

/** Python that replaces the notice file as the gateway does (temporary file, rename). */
const write = (text: string, when = 'time.time()') =>
  `json.dump({"time": ${when}, "text": ${JSON.stringify(text)}}, open(${JSON.stringify(`${file}.tmp`)}, "w")); os.rename(${JSON.stringify(`${file}.tmp`)}, ${JSON.stringify(file)})`;

const stderrOf = (exec: Execution): string =>
  messages(exec, 'stream')
    .filter((m) => m.content['name'] === 'stderr')
    .map((m) => String(m.content['text']))
    .join('');

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sg-notices-'));
  file = path.join(dir, 'spark-x.notice');
  kernel = await LauncherKernel.start({
    kind: 'pyspark',
    fakePyspark: true,
    conf: { 'spark.master': 'local[1]' },
    env: { SPARKGATE_SPARK_NOTICE_FILE: file, SPARKGATE_SPARK_PROGRESS_INTERVAL_S: '0.1' },
  });
  await kernel.execute('import json, os, time');
});

afterAll(async () => {
  await kernel?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('notices from the gateway in the cell that waits', () => {
  it('shows a notice written while the cell runs, once, on its stderr, however often it is rewritten', async () => {
    const exec = await kernel.execute([write(NOTICE), 'time.sleep(0.5)', write(NOTICE), 'time.sleep(0.5)', write(`${NOTICE} again`), 'time.sleep(0.5)'].join('\n'));
    expect(exec.reply.status).toBe('ok');
    expect(stderrOf(exec)).toBe(`${NOTICE}\n`);
  });

  it('does not show a notice written before the cell started', async () => {
    await kernel.execute(write(NOTICE, 'time.time() - 5'));
    const exec = await kernel.execute('time.sleep(0.5)');
    expect(stderrOf(exec)).toBe('');
  });

  it('shows a notice written just before the cell ends (the cell failed at once)', async () => {
    const exec = await kernel.execute(`${write(NOTICE)}\nraise RuntimeError("job failed")`);
    expect(exec.reply.status).toBe('error');
    expect(stderrOf(exec)).toBe(`${NOTICE}\n`);
  });

  it('ignores a file that is not a notice', async () => {
    const exec = await kernel.execute(`open(${JSON.stringify(file)}, "w").write("not json")\ntime.sleep(0.4)`);
    expect(exec.reply.status).toBe('ok');
    expect(stderrOf(exec)).toBe('');
  });
});
