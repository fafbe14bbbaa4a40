/**
 * `sparkgate run` as a process (`node --import tsx test/helpers/cli-entry.ts run ...`), with its
 * own runtime dir (named so scripts/test.sh's leak check sees leftovers) and the repo + fixture
 * kernelspecs; plus small notebooks written on the fly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../../src/config.js';
import { FIXTURE_SPECS, REPO_SPECS, testSparkPortsEnv } from '../../helpers/gateway.js';
import { VENV_PYTHON } from '../../helpers/python.js';

export const CLI_ENTRY = path.join(REPO_ROOT, 'test/helpers/cli-entry.ts');
export const NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');

export interface RunningCli {
  child: ChildProcess;
  runtimeDir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export function startCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): RunningCli {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'sparkgate-cli-run-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('SPARKGATE_')) delete env[key];
  Object.assign(env, {
    SPARKGATE_RUNTIME_DIR: runtimeDir,
    SPARKGATE_KERNELSPEC_DIRS: `${REPO_SPECS},${FIXTURE_SPECS}`,
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    // Ports of its own: another test's gateway may bind 40000+ at the same moment.
    ...testSparkPortsEnv(),
    ...options.env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'run', ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, runtimeDir, stdout: () => out, stderr: () => err, exited };
}

export async function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const started = Date.now();
  const running = startCli(args, options);
  const code = await running.exited;
  rmSync(running.runtimeDir, { recursive: true, force: true });
  return { code, stdout: running.stdout(), stderr: running.stderr(), durationMs: Date.now() - started };
}

/** Processes whose command line mentions `needle` (a kernel's connection file lives in the runtime dir). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

export interface CellSpec {
  source: string;
  type?: 'code' | 'markdown';
  tags?: string[];
}

/** Write a small nbformat 4.5 notebook into `dir` and return its path. */
export function writeNotebook(dir: string, name: string, cells: (string | CellSpec)[], kernel = 'python3'): string {
  const file = path.join(dir, name);
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: kernel, display_name: kernel } },
    cells: cells.map((c, i) => {
      const spec = typeof c === 'string' ? { source: c } : c;
      const metadata = spec.tags ? { tags: spec.tags } : {};
      return spec.type === 'markdown'
        ? { id: `c${i}`, cell_type: 'markdown', metadata, source: spec.source }
        : { id: `c${i}`, cell_type: 'code', metadata, source: spec.source, outputs: [], execution_count: null };
    }),
  };
  writeFileSync(file, JSON.stringify(nb, null, 1));
  return file;
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** nbformat's own Python validator (the venv's pinned nbformat), as a second opinion. */
export async function validateWithPythonNbformat(file: string): Promise<string> {
  const child = spawn(VENV_PYTHON, ['-c', 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], 4)); print("valid")', file]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await new Promise((resolve) => child.once('exit', resolve));
  return out.trim();
}

export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
