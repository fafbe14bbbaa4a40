/**
 * Which REPL process a Scala kernel runs. The command comes from the kernelspec (`-- scala
 * -Xnojline`, or `-- spark-shell --conf spark.ui.showConsoleProgress=false -Xnojline`: the
 * kernel shows its own progress display); for `--engine spark-shell` the session's rendered
 * Spark conf is put in front of the REPL's own arguments, exactly as the gateway rendered it for
 * the session (src/spark/spark-session-plugin.ts):
 *
 *   spark-shell <SPARKGATE_SPARK_SUBMIT_ARGS> [--properties-file $SPARKGATE_SPARK_PROPERTIES_FILE]
 *               --name <spark.app.name> <kernelspec args>
 *
 * (`--name` because spark-shell passes `--name "Spark shell"`, which would beat the properties
 * file; spark-submit stops reading its own options at the first unknown one, so `-Xnojline` and
 * the like must come last and reach the REPL.) spark-shell is looked up in $SPARK_HOME/bin, then
 * on PATH; when it is nowhere, the kernel still starts and every cell explains how to fix it.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';

export type EngineKind = 'scala' | 'spark-shell';

export type CommandPlan =
  | { ok: true; argv: string[] }
  | { ok: false; ename: string; message: string };

export interface ResolveOptions {
  engine: EngineKind;
  /** The kernelspec's REPL command and its arguments. */
  command: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  isExecutable?: (file: string) => boolean;
  readFile?: (file: string) => string;
}

export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` as given when it has a slash, else the first executable match on PATH. */
export function findOnPath(name: string, envPath: string | undefined, isExecutable = isExecutableFile): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Split spark-submit arguments the way a POSIX shell would for plain words and quotes (the
 * gateway renders `--properties-file <path>`; an operator may add `--driver-memory 2g`).
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) out.push(current);
  return out;
}

export const SPARK_NOT_INSTALLED = 'SparkNotInstalledError';

export function resolveReplCommand(options: ResolveOptions): CommandPlan {
  const isExecutable = options.isExecutable ?? isExecutableFile;
  const [name, ...args] = options.command;
  if (!name) return { ok: false, ename: 'KernelError', message: 'The kernelspec names no REPL command (argv after "--").' };
  const { env } = options;
  if (options.engine === 'scala') {
    const found = findOnPath(name, env['PATH'], isExecutable);
    if (!found) {
      return {
        ok: false,
        ename: 'ScalaNotInstalledError',
        message: `${name} was not found on PATH; install a Scala 2.11/2.12 REPL on the gateway (Debian: apt-get install -y scala).`,
      };
    }
    return { ok: true, argv: [found, ...args] };
  }

  const sparkHome = env['SPARK_HOME'];
  const inHome = sparkHome ? path.join(sparkHome, 'bin', path.basename(name)) : undefined;
  const found = (inHome && isExecutable(inHome) ? inHome : undefined) ?? findOnPath(name, env['PATH'], isExecutable);
  if (!found) {
    const where = sparkHome
      ? `SPARK_HOME=${sparkHome} has no bin/${path.basename(name)} and there is none on PATH`
      : `SPARK_HOME is not set and there is no ${name} on PATH`;
    return {
      ok: false,
      ename: SPARK_NOT_INSTALLED,
      message:
        `Spark is not installed on this gateway: ${where}, so this kernel has no Spark session.\n` +
        'To fix it, install Apache Spark on the gateway and set SPARK_HOME (gateway setting spark.sparkHome, ' +
        'env SPARKGATE_SPARK_SPARK_HOME), or run the gateway from an image that includes Spark.\n' +
        'The "Scala (sparkgate)" kernel runs plain Scala without Spark.',
    };
  }
  const submit = splitArgs(env['SPARKGATE_SPARK_SUBMIT_ARGS'] ?? '');
  const propertiesFile = env['SPARKGATE_SPARK_PROPERTIES_FILE'];
  if (propertiesFile && !submit.includes('--properties-file')) submit.push('--properties-file', propertiesFile);
  const appName = appNameFromConf(env['SPARKGATE_SPARK_CONF_FILE'], options.readFile);
  if (appName && !submit.includes('--name')) submit.push('--name', appName);
  return { ok: true, argv: [found, ...submit, ...args] };
}

function appNameFromConf(file: string | undefined, readFile = (f: string) => readFileSync(f, 'utf8')): string | undefined {
  if (!file) return undefined;
  try {
    const conf = JSON.parse(readFile(file)) as Record<string, unknown>;
    const name = conf['spark.app.name'];
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The REPL's environment: the JVM is tagged with its kernel's connection file
 * (`-Dsparkgate.connection_file=...`, through JAVA_OPTS for scala and SPARK_SUBMIT_OPTS for
 * spark-shell), so `ps` and the test suite's leak check can tell which kernel a JVM belongs to.
 * Launcher scripts split these variables on spaces: a path with whitespace is left untagged.
 */
export function replEnv(env: NodeJS.ProcessEnv, connectionFile: string): NodeJS.ProcessEnv {
  if (/\s/.test(connectionFile)) return env;
  const tag = `-Dsparkgate.connection_file=${connectionFile}`;
  const add = (value: string | undefined): string => (value ? `${value} ${tag}` : tag);
  return { ...env, JAVA_OPTS: add(env['JAVA_OPTS']), SPARK_SUBMIT_OPTS: add(env['SPARK_SUBMIT_OPTS']) };
}
