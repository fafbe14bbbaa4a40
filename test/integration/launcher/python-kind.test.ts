/** The `python` kind (plain ipykernel) and launcher failures before any kernel starts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LauncherKernel, messages, resultText, runLauncher } from './launcher-kernel.js';

describe('python kind', () => {
  let kernel: LauncherKernel;
  beforeAll(async () => {
    kernel = await LauncherKernel.start({ kind: 'python' });
  });
  afterAll(async () => {
    await kernel?.dispose();
  });

  it('runs 1+1 as a plain ipykernel', async () => {
    const info = await kernel.kernelInfo();
    expect((info['language_info'] as { name: string }).name).toBe('python');
    const exec = await kernel.execute('1+1');
    expect(exec.reply.status).toBe('ok');
    expect(resultText(exec)).toBe('2');
    expect(resultText(await kernel.execute("'spark' in dir(), 'sc' in dir()"))).toBe('(False, False)');
  });

  it('SIGINT interrupts time.sleep(30) and the kernel keeps working', async () => {
    const started = Date.now();
    const exec = await kernel.execute('import time; time.sleep(30)', { signalAfterS: 0.5 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(exec.reply.status).toBe('error');
    expect(exec.reply.ename).toBe('KeyboardInterrupt');
    expect(messages(exec, 'error')).toHaveLength(1);
    expect(resultText(await kernel.execute('2+3'))).toBe('5');
  });
});

describe('launcher failures before the kernel starts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sparkgate-launcher-fail-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const oneClearLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sparkgate_kernel: /);
    expect(stderr).not.toContain('Traceback');
    return lines[0]!;
  };

  it('rejects a missing or unknown --kind and a missing -f', async () => {
    const cf = path.join(dir, 'k.json');
    for (const args of [['-f', cf], ['--kind', 'scala', '-f', cf], ['--kind', 'pyspark']]) {
      const run = await runLauncher(args, {});
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.stdout).toBe('');
      oneClearLine(run.stderr);
    }
  });

  it('rejects a conf file that is not a JSON object of strings, naming the setting', async () => {
    const cf = path.join(dir, 'k.json');
    const cases: [string, RegExp][] = [
      ['{not json', /SPARKGATE_SPARK_CONF_FILE=.*not valid JSON/],
      ['["spark.master"]', /SPARKGATE_SPARK_CONF_FILE=.*JSON object/],
      ['{"spark.executor.instances": 2}', /'spark\.executor\.instances' must map to a string/],
    ];
    for (const [i, [text, pattern]] of cases.entries()) {
      const conf = path.join(dir, `conf-${i}.json`);
      writeFileSync(conf, text, { mode: 0o600 });
      const run = await runLauncher(['--kind', 'pyspark', '-f', cf], { SPARKGATE_SPARK_CONF_FILE: conf });
      expect(run.code).not.toBe(0);
      expect(oneClearLine(run.stderr)).toMatch(pattern);
    }
    const missing = await runLauncher(['--kind', 'spark-sql', '-f', cf], {
      SPARKGATE_SPARK_CONF_FILE: path.join(dir, 'nope.json'),
    });
    expect(missing.code).not.toBe(0);
    expect(oneClearLine(missing.stderr)).toMatch(/cannot read it/);
  });

  it('rejects a bad SPARKGATE_SPARK_EAGER value with an example; SPARKGATE_DEBUG=1 adds the traceback', async () => {
    const cf = path.join(dir, 'k.json');
    const run = await runLauncher(['--kind', 'pyspark', '-f', cf], { SPARKGATE_SPARK_EAGER: 'maybe' });
    expect(run.code).not.toBe(0);
    expect(oneClearLine(run.stderr)).toContain('SPARKGATE_SPARK_EAGER=0');
    const debug = await runLauncher(['--kind', 'pyspark', '-f', cf], { SPARKGATE_SPARK_EAGER: 'maybe', SPARKGATE_DEBUG: '1' });
    expect(debug.code).not.toBe(0);
    expect(debug.stderr).toContain('Traceback');
  });
});
