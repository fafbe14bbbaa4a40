/**
 * The Spark rows' floor: a bare pyspark REPL, no gateway, no kernel protocol. It is what
 * `bin/pyspark` ends up running, minus spark-submit's extra launcher JVM in front: the kernels'
 * interpreter (.venv/bin/python) in interactive mode with pyspark's own `shell.py` as
 * PYTHONSTARTUP, which creates the SparkSession eagerly (like the pyspark kernel) and prints
 * "SparkSession available as 'spark'." Then the bench types `spark.range(1000).count()` and
 * waits for `1000` on stdout.
 *
 * Same Spark as a gateway session: the SPARK_HOME the gateway would pick (the venv's pyspark,
 * found by the gateway's own probe), SPARK_CONF_DIR (kernel/spark-conf), PYSPARK_PYTHON,
 * SPARK_LOCAL_IP and a properties file rendered by the gateway's renderSparkConf for local mode
 * (the pyspark kernelspec's empty profile, ports of its own), handed over through
 * PYSPARK_SUBMIT_ARGS exactly as src/spark/spark-session-plugin.ts does.
 *
 * The REPL runs in its own process group (spawnTracked); `stop` takes its JVM with it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { probePython } from '../src/kernels/python-interpreter.js';
import { renderSparkConf, toPropertiesFile } from '../src/spark/spark-conf.js';
import { resolveProfile } from '../src/spark/spark-profile.js';
import { sparkSettingsSchema } from '../src/spark/spark-settings.js';
import { BENCH_KERNEL_PYTHON } from './bench-kernelspec.js';
import { WAIT_MS } from './budgets.js';
import type { DeadlineScope } from './deadline.js';
import { BENCH_TMP_DIR, descendants, freePort, rssKiB, spawnTracked, stopTracked, type Tracked } from './processes.js';

/** The cell every Spark row runs, and what it must print. */
export const SPARK_COUNT_CELL = 'spark.range(1000).count()';
export const SPARK_COUNT_RESULT = '1000';
/** The last line pyspark's shell.py prints once the session exists. */
const SESSION_READY = "SparkSession available as 'spark'.";

let sparkHomeLookup: Promise<string> | undefined;

/** pyspark's SPARK_HOME as the gateway finds it (src/kernels/python-interpreter.ts probe). */
export function kernelSparkHome(): Promise<string> {
  sparkHomeLookup ??= probePython(BENCH_KERNEL_PYTHON).then((probe) => {
    if (!probe.sparkHome) throw new Error(`no pyspark in ${BENCH_KERNEL_PYTHON}: bash scripts/ensure-python.sh installs it`);
    return probe.sparkHome;
  });
  return sparkHomeLookup;
}

/** A properties file as the gateway renders it for a local-mode pyspark session, on free ports. */
async function renderFloorProperties(file: string): Promise<void> {
  const settings = sparkSettingsSchema.parse({});
  const profile = resolveProfile({ settings, kernelspecProfile: {} });
  const sessionId = randomUUID();
  const ports = { driverPort: await freePort(), blockManagerPort: await freePort(), uiPort: await freePort() };
  const conf = renderSparkConf({ settings, profile, sessionId, ports, appName: `bench-pyspark-floor-${sessionId.slice(0, 8)}` });
  writeFileSync(file, toPropertiesFile(conf), { mode: 0o600 });
}

export interface ReplTimes {
  /** Spawn until `1000` was printed. */
  readonly coldMs: number;
  /** The session announced ready until `1000` was printed: the first count of a running session. */
  readonly firstCountMs: number;
}

export class PysparkRepl {
  private stdout = '';
  private stderr = '';
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly proc: Tracked,
    private readonly propertiesFile: string,
    private readonly spawnedAt: number,
  ) {
    proc.child.stdout?.on('data', (d: Buffer) => {
      this.stdout = (this.stdout + d.toString()).slice(-16_000);
      for (const l of this.listeners) l();
    });
    // The `>>>` prompts, Spark's warnings and progress bars: kept for error messages only.
    proc.child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4_000)));
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  /** Spawn the REPL (the clock starts here), then `untilCount` times it. */
  static async spawn(name = 'bare pyspark REPL'): Promise<PysparkRepl> {
    const sparkHome = await kernelSparkHome();
    const dir = path.join(BENCH_TMP_DIR, 'pyspark-floor');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const propertiesFile = path.join(dir, `${randomUUID()}.properties`);
    await renderFloorProperties(propertiesFile);
    const settings = sparkSettingsSchema.parse({});
    const shell = [path.join(sparkHome, 'shell.py'), path.join(sparkHome, 'python', 'pyspark', 'shell.py')].find((f) => existsSync(f));
    if (!shell) throw new Error(`no pyspark shell.py under ${sparkHome}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SPARK_HOME: sparkHome,
      SPARK_CONF_DIR: settings.confDir,
      PYSPARK_PYTHON: BENCH_KERNEL_PYTHON,
      PYSPARK_DRIVER_PYTHON: BENCH_KERNEL_PYTHON,
      SPARK_LOCAL_IP: '127.0.0.1',
      PYSPARK_SUBMIT_ARGS: `--properties-file ${propertiesFile} pyspark-shell`,
      PYTHONSTARTUP: shell,
      // stdout is a pipe: without this the banner and the result would sit in Python's buffer.
      PYTHONUNBUFFERED: '1',
    };
    const spawnedAt = performance.now();
    // -i: interactive although stdin is a pipe (PYTHONSTARTUP only runs in interactive mode).
    const proc = spawnTracked(name, BENCH_KERNEL_PYTHON, ['-i', '-q'], { env, cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    return new PysparkRepl(proc, propertiesFile, spawnedAt);
  }

  /** Wait for the session banner, type the count cell, wait for `1000`. */
  async untilCount(scope: DeadlineScope): Promise<ReplTimes> {
    await this.waitFor(scope, (out) => out.includes(SESSION_READY), WAIT_MS.sparkStart, 'its SparkSession');
    const readyAt = performance.now();
    const from = this.stdout.length;
    this.proc.child.stdin?.write(`${SPARK_COUNT_CELL}\n`);
    // The REPL echoes nothing on stdout but results: the count is a line of its own.
    await this.waitFor(scope, (out) => out.slice(from).split('\n').some((l) => l.trim() === SPARK_COUNT_RESULT), WAIT_MS.sparkStart, `\`${SPARK_COUNT_CELL}\` to print ${SPARK_COUNT_RESULT}`);
    const doneAt = performance.now();
    return { coldMs: doneAt - this.spawnedAt, firstCountMs: doneAt - readyAt };
  }

  /** RSS of the REPL's process tree (python, spark-submit's shell, the driver JVM), in KiB. */
  treeRssKiB(): number {
    let total = 0;
    for (const pid of [this.pid, ...descendants(this.pid)]) {
      try {
        total += rssKiB(pid);
      } catch {
        /* exited while we looked */
      }
    }
    return total;
  }

  /** SIGTERM, then SIGKILL of its process group and tree (the JVM included). */
  async stop(): Promise<void> {
    this.proc.child.stdin?.destroy();
    await stopTracked(this.proc, 5_000);
    rmSync(this.propertiesFile, { force: true });
  }

  private waitFor(scope: DeadlineScope, done: (stdout: string) => boolean, baseMs: number, what: string): Promise<void> {
    return scope.wait(
      (inner) =>
        new Promise<void>((resolve, reject) => {
          const check = (): void => {
            if (done(this.stdout)) finish(resolve);
          };
          const onExit = (): void =>
            finish(() => reject(new Error(`bare pyspark REPL (pid ${this.pid}) exited (${this.proc.child.exitCode ?? this.proc.child.signalCode}): ${this.stderr.trim().split('\n').slice(-3).join(' / ')}`)));
          const finish = (settle: () => void): void => {
            this.listeners.delete(check);
            inner.signal.removeEventListener('abort', onAbort);
            settle();
          };
          const onAbort = (): void => finish(() => reject(inner.signal.reason as Error));
          this.listeners.add(check);
          inner.signal.addEventListener('abort', onAbort, { once: true });
          void this.proc.exited.then(() => {
            if (this.listeners.has(check)) onExit();
          });
          check();
        }),
      baseMs,
      `bare pyspark REPL (pid ${this.pid}): ${what}`,
    );
  }
}
