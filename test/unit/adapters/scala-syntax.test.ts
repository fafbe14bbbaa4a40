import { describe, expect, it } from 'vitest';
import { isComplete } from '../../../src/adapters/scala/scala-syntax.js';

describe('isComplete (Scala)', () => {
  it.each([
    ['val x = 1', 'complete'],
    ['', 'complete'],
    ['class A {\n  def f = 1\n}', 'complete'],
    ['println("a { ( [")', 'complete'],
    ['val c = \'{\'', 'complete'],
    ["val s = 'sym", 'complete'],
    ['val s = s"${x + "}"} and $y"', 'complete'],
    ['val t = """a\n{ " ""\n"""', 'complete'],
    ['/* a /* nested */ comment */ 1', 'complete'],
    ['1 // trailing {', 'complete'],
    ['xs.map(_ + 1)', 'complete'],
  ])('%j is %s', (code, status) => {
    expect(isComplete(code).status).toBe(status);
  });

  it.each([
    ['class A {', '  '],
    ['class A {\n  def f = {', '    '],
    ['foo(1,\n  bar(', '    '],
    ['val t = """abc', ''],
    ['val s = s"${x', '  '],
    ['/* open comment', ''],
    ['val y =', '  '],
    ['xs.map { x =>', '  '],
    ['class A extends', '  '],
    ['list.', '  '],
  ])('%j is incomplete (indent %j)', (code, indent) => {
    expect(isComplete(code)).toEqual({ status: 'incomplete', indent });
  });

  it.each([['foo(1))'], ['}'], ['foo(1]'], ['val s = "abc'], ['val s = "a\nb"']])('%j is invalid', (code) => {
    expect(isComplete(code).status).toBe('invalid');
  });
});
