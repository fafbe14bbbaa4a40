import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ATTACH_SCRIPT, findExecutable, noSparkBanner, ReplLauncher } from '../../../src/terminals/repl-launcher.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function executable(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('findExecutable', () => {
  it('looks names up on PATH and checks absolute paths; skips files that are not executable', () => {
    const spark = executable('spark-sql');
    writeFileSync(path.join(dir, 'pyspark'), 'not executable');
    expect(findExecutable('spark-sql', { PATH: `/nonexistent:${dir}` })).toBe(spark);
    expect(findExecutable('pyspark', { PATH: dir })).toBeUndefined();
    expect(findExecutable(spark, {})).toBe(spark);
    expect(findExecutable('spark-sql', {})).toBeUndefined();
  });
});

describe('ReplLauncher', () => {
  const base = { python: '/usr/bin/python3', consolePythons: [] as string[], runtimeDir: '/run/sg' };
  const prepared = { env: { A: '1' }, args: ['--properties-file', '/run/sg/spark-s1.properties'] };

  it("runs the session's Spark (SPARK_HOME in its contribution) before the gateway's SPARK_HOME and PATH", () => {
    const home = mkdtempSync(path.join(dir, 'spark-home-'));
    mkdirSync(path.join(home, 'bin'));
    const sessionSql = path.join(home, 'bin', 'spark-sql');
    writeFileSync(sessionSql, '#!/bin/sh\n');
    chmodSync(sessionSql, 0o755);
    executable('spark-sql'); // on PATH too: not chosen
    const launcher = new ReplLauncher({ ...base, parentEnv: { PATH: dir, SPARK_HOME: '/nowhere' } });
    const { launch, sparkInstalled } = launcher.spark('spark-sql', { name: 'n', cwd: '/' }, { ...prepared, env: { SPARK_HOME: home } });
    expect(sparkInstalled).toBe(true);
    expect(launch.file).toBe(sessionSql);
    expect(launch.args).toEqual(prepared.args);
    expect(launch.env['SPARK_HOME']).toBe(home);
  });

  it('without Spark anywhere: a plain Python REPL that says so, with the session env', () => {
    const launcher = new ReplLauncher({ ...base, parentEnv: { PATH: '/nonexistent' } });
    const { launch, sparkInstalled } = launcher.spark('spark-shell', { name: 'n', cwd: '/', sessionId: 's1' }, { ...prepared, env: { A: '1', SPARK_HOME: '/nowhere' } });
    expect(sparkInstalled).toBe(false);
    expect(launch.file).toBe('/usr/bin/python3');
    expect(launch.args.join(' ')).toContain(JSON.stringify(noSparkBanner('spark-shell')));
    expect(launch.env).toMatchObject({ A: '1', SPARKGATE_SESSION_ID: 's1' });
  });

  it('finds Spark on PATH when SPARK_HOME does not have it', () => {
    const shell = executable('spark-shell');
    const launcher = new ReplLauncher({ ...base, parentEnv: { PATH: dir, SPARK_HOME: '/nowhere', SPARKGATE_TOKEN: 't' } });
    expect(launcher.sparkCommand('spark-shell')).toBe(shell);
    const { launch, sparkInstalled } = launcher.spark('spark-shell', { name: 'n', cwd: '/', sessionId: 's1' }, { env: { A: '1' }, args: ['--conf', 'k=v'] });
    expect(sparkInstalled).toBe(true);
    expect(launch).toMatchObject({ file: shell, args: ['--conf', 'k=v'], cwd: '/' });
    expect(launch.env).toMatchObject({ A: '1', TERM: 'xterm-256color', SPARKGATE_TERMINAL: 'n', SPARKGATE_SESSION_ID: 's1' });
    expect(launch.env['SPARKGATE_TOKEN']).toBeUndefined();
  });

  it("attaches with the kernels' Python when it imports jupyter_console", async () => {
    const python = executable('python3');
    const launcher = new ReplLauncher({ ...base, consolePythons: [python], parentEnv: { PATH: dir }, probeModule: async () => true });
    const launch = await launcher.attached({ name: 'n', cwd: '/', connectionFile: '/run/k.json' });
    expect(launch.file).toBe(python);
    expect(launch.args).toEqual(['-c', ATTACH_SCRIPT, '--existing', '/run/k.json', '--simple-prompt', '--no-confirm-exit']);
  });

  it("falls back to the jupyter-console script next to the kernels' Python (never another on PATH), and says so", async () => {
    const venv = mkdtempSync(path.join(dir, 'venv-'));
    const python = path.join(venv, 'python');
    const console = path.join(venv, 'jupyter-console');
    for (const file of [python, console]) {
      writeFileSync(file, '#!/bin/sh\n');
      chmodSync(file, 0o755);
    }
    executable('jupyter-console'); // on PATH: not chosen
    const warnings: string[] = [];
    const launcher = new ReplLauncher({ ...base, consolePythons: [python], parentEnv: { PATH: dir }, probeModule: async () => false, warn: (m) => warnings.push(m) });
    const launch = await launcher.attached({ name: 'n', cwd: '/', connectionFile: '/run/k.json' });
    expect(launch.file).toBe(console);
    expect(launch.args).toEqual(['--existing', '/run/k.json', '--simple-prompt', '--no-confirm-exit']);
    expect(warnings[0]).toContain('stops the notebook');
  });

  it("without jupyter-console in the kernels' Python: 503 naming the fix", async () => {
    const launcher = new ReplLauncher({ ...base, consolePythons: ['/opt/py/bin/python'], parentEnv: { PATH: dir }, probeModule: async () => false });
    await expect(launcher.attached({ name: 'n', cwd: '/', connectionFile: '/run/k.json' })).rejects.toMatchObject({
      message: expect.stringContaining('/opt/py/bin/python -m pip install jupyter-console'),
    });
  });
});
