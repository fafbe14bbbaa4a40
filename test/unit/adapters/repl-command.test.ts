import { describe, expect, it } from 'vitest';
import { resolveReplCommand, splitArgs } from '../../../src/adapters/scala/repl-command.js';

const executables = (...files: string[]) => (f: string) => files.includes(f);

describe('resolveReplCommand', () => {
  it('scala: found on PATH, arguments kept', () => {
    const plan = resolveReplCommand({
      engine: 'scala',
      command: ['scala', '-Xnojline'],
      env: { PATH: '/opt/bin:/usr/bin' },
      isExecutable: executables('/usr/bin/scala'),
    });
    expect(plan).toEqual({ ok: true, argv: ['/usr/bin/scala', '-Xnojline'] });
  });

  it('spark-shell: $SPARK_HOME/bin first, then the rendered conf, then the REPL arguments last', () => {
    const plan = resolveReplCommand({
      engine: 'spark-shell',
      command: ['spark-shell', '-Xnojline'],
      env: {
        PATH: '/usr/bin',
        SPARK_HOME: '/opt/spark',
        SPARKGATE_SPARK_SUBMIT_ARGS: '--properties-file /run/spark-1.properties --driver-java-options "-Da=1 -Db=2"',
        SPARKGATE_SPARK_PROPERTIES_FILE: '/run/spark-1.properties',
        SPARKGATE_SPARK_CONF_FILE: '/run/spark-1.json',
      },
      isExecutable: executables('/opt/spark/bin/spark-shell', '/usr/bin/spark-shell'),
      readFile: () => JSON.stringify({ 'spark.app.name': 'sparkgate-spark-scala-1234abcd' }),
    });
    expect(plan).toEqual({
      ok: true,
      argv: [
        '/opt/spark/bin/spark-shell',
        '--properties-file',
        '/run/spark-1.properties',
        '--driver-java-options',
        '-Da=1 -Db=2',
        '--name',
        'sparkgate-spark-scala-1234abcd',
        '-Xnojline',
      ],
    });
  });

  it('spark-shell: the properties file is added when the submit args lack it; PATH is the fallback', () => {
    const plan = resolveReplCommand({
      engine: 'spark-shell',
      command: ['spark-shell'],
      env: { PATH: '/usr/local/bin', SPARKGATE_SPARK_PROPERTIES_FILE: '/run/p.properties' },
      isExecutable: executables('/usr/local/bin/spark-shell'),
    });
    expect(plan).toEqual({ ok: true, argv: ['/usr/local/bin/spark-shell', '--properties-file', '/run/p.properties'] });
  });

  it('no spark-shell anywhere: SparkNotInstalledError that says where it looked and how to fix it', () => {
    const plan = resolveReplCommand({ engine: 'spark-shell', command: ['spark-shell'], env: { PATH: '/usr/bin', SPARK_HOME: '/opt/none' }, isExecutable: () => false });
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.ename).toBe('SparkNotInstalledError');
    expect(plan.message).toContain('SPARK_HOME=/opt/none has no bin/spark-shell');
    expect(plan.message).toContain('set SPARK_HOME');
    const noHome = resolveReplCommand({ engine: 'spark-shell', command: ['spark-shell'], env: {}, isExecutable: () => false });
    expect(!noHome.ok && noHome.message).toContain('SPARK_HOME is not set');
  });
});

describe('splitArgs', () => {
  it('splits like a shell for words and quotes', () => {
    expect(splitArgs(`  --a 1 --b "x y" 'z "w"' c\\ d ""  `)).toEqual(['--a', '1', '--b', 'x y', 'z "w"', 'c d', '']);
    expect(splitArgs('')).toEqual([]);
  });
});

describe('replEnv', () => {
  it('tags the JVM with the connection file for both launchers, keeping existing options', async () => {
    const { replEnv } = await import('../../../src/adapters/scala/repl-command.js');
    const env = replEnv({ JAVA_OPTS: '-Xmx1g', PATH: '/bin' }, '/run/sg/kernel-1.json');
    expect(env['JAVA_OPTS']).toBe('-Xmx1g -Dsparkgate.connection_file=/run/sg/kernel-1.json');
    expect(env['SPARK_SUBMIT_OPTS']).toBe('-Dsparkgate.connection_file=/run/sg/kernel-1.json');
    expect(env['PATH']).toBe('/bin');
    expect(replEnv({ JAVA_OPTS: '-Xmx1g' }, '/tmp/with space/k.json')['JAVA_OPTS']).toBe('-Xmx1g');
  });
});
