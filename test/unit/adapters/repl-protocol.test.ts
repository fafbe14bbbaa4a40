import { describe, expect, it } from 'vitest';
import {
  bootLines,
  cellOutcome,
  codePointsToUtf16,
  completeRequestLine,
  executeRequestLine,
  parseReplMessage,
  stripAnsi,
  utf16ToCodePoints,
  type DoneMessage,
} from '../../../src/adapters/scala/repl-protocol.js';

const done = (fields: Partial<DoneMessage>): DoneMessage => ({ type: 'done', id: 'r1', status: 'ok', ...fields });

describe('requests', () => {
  it('put any code on one line (base64), with the id and cursor', () => {
    const code = 'class A {\n  val s = "X r9 x\\n"\n}\n€';
    const line = executeRequestLine('r7', code);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const [verb, id, b64] = line.trim().split(' ');
    expect([verb, id]).toEqual(['X', 'r7']);
    expect(Buffer.from(b64!, 'base64').toString('utf8')).toBe(code);
    expect(completeRequestLine('r8', 'ab', 2).trim().split(' ').slice(0, 3)).toEqual(['C', 'r8', '2']);
    expect(() => executeRequestLine('bad id', '1')).toThrow();
  });

  it('boot lines load the init script with :paste and start its loop with the key', () => {
    expect(bootLines('/x/init.scala', 'KEY12345')).toBe(':paste /x/init.scala\n__sparkgate.serve("KEY12345")\n');
    expect(() => bootLines('/x\n:quit', 'KEY12345')).toThrow();
  });
});

describe('replies', () => {
  it('parses known replies and rejects anything else', () => {
    expect(parseReplMessage(Buffer.from('{"type":"done","id":"r1","status":"ok","value":"42"}'))).toEqual(done({ value: '42' }));
    expect(parseReplMessage(Buffer.from('{"type":"done","id":"r1","status":"weird"}'))).toBeUndefined();
    expect(parseReplMessage(Buffer.from('not json'))).toBeUndefined();
    expect(parseReplMessage(Buffer.from('{"type":"ready","pid":"12","scala_version":"2.11.12"}'))).toMatchObject({ type: 'ready', pid: '12' });
  });
});

describe('cellOutcome', () => {
  it('ok: the value only; REPL text (warnings) as notes', () => {
    expect(cellOutcome(done({ value: '42' }), '')).toEqual({ status: 'ok', value: '42', notes: undefined });
    expect(cellOutcome(done({}), '\u001b[33mwarning:\u001b[0m deprecated\n')).toEqual({ status: 'ok', value: undefined, notes: 'warning: deprecated' });
  });

  it('compile error: CompileError, the first error message, the compiler text as traceback (ANSI stripped)', () => {
    const text = '<console>:11: error: type mismatch;\n found   : String("a")\n required: Int\n       val s: Int = "a"\n                    ^\n';
    const outcome = cellOutcome(done({ status: 'compile_error' }), `\u001b[31m${text}\u001b[0m`);
    expect(outcome).toEqual({
      status: 'error',
      ename: 'CompileError',
      evalue: 'type mismatch;',
      traceback: ['<console>:11: error: type mismatch;', ' found   : String("a")', ' required: Int', '       val s: Int = "a"', '                    ^'],
    });
    expect(cellOutcome(done({ status: 'compile_error' }), 'error: not found: value y\n')).toMatchObject({ evalue: 'not found: value y' });
    // Scala 2.13 (Spark 4's spark-shell): the error line is indented under the caret.
    expect(cellOutcome(done({ status: 'compile_error' }), '       ^\n       error: not found: value foo\n')).toMatchObject({ evalue: 'not found: value foo' });
  });

  it('runtime error: the class and message from the JVM, the REPL stack as traceback', () => {
    const outcome = cellOutcome(
      done({ status: 'runtime_error', ename: 'java.lang.RuntimeException', evalue: 'boom' }),
      'java.lang.RuntimeException: boom\n  ... 32 elided\n',
    );
    expect(outcome).toEqual({
      status: 'error',
      ename: 'java.lang.RuntimeException',
      evalue: 'boom',
      traceback: ['java.lang.RuntimeException: boom', '  ... 32 elided'],
    });
  });

  it('interrupted and incomplete have their own names', () => {
    expect(cellOutcome(done({ status: 'interrupted', ename: 'java.lang.ThreadDeath' }), 'java.lang.ThreadDeath\n')).toMatchObject({ ename: 'Interrupted' });
    expect(cellOutcome(done({ status: 'incomplete' }), '')).toMatchObject({ ename: 'CompileError', evalue: expect.stringContaining('incomplete') });
  });
});

describe('text helpers', () => {
  it('stripAnsi removes colour and OSC sequences only', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m \u001b]0;title\u0007ok')).toBe('red ok');
  });

  it('converts cursors between code points (Jupyter) and UTF-16 (JVM)', () => {
    const text = 'a😀b.c';
    expect(codePointsToUtf16(text, 3)).toBe(4);
    expect(utf16ToCodePoints(text, 4)).toBe(3);
    expect(codePointsToUtf16('abc', 2)).toBe(2);
    expect(utf16ToCodePoints('abc', 99)).toBe(3);
  });
});
