import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, ReplLauncher } from '../../../src/terminals/repl-launcher.js';

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
  const base = { python: '/usr/bin/python3', consolePythons: ['/usr/bin/python3'], runtimeDir: '/run/sg' };

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

  it('falls back to the stock jupyter-console when no Python imports jupyter_console, and says so', async () => {
    const console = executable('jupyter-console');
    const warnings: string[] = [];
    const launcher = new ReplLauncher({ ...base, parentEnv: { PATH: dir }, probeModule: async () => false, warn: (m) => warnings.push(m) });
    const launch = await launcher.attached({ name: 'n', cwd: '/', connectionFile: '/run/k.json' });
    expect(launch.file).toBe(console);
    expect(launch.args).toEqual(['--existing', '/run/k.json', '--simple-prompt', '--no-confirm-exit']);
    expect(warnings[0]).toContain('stops the notebook');
  });
});
