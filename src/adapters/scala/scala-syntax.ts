/**
 * `is_complete_request` for Scala, pure: a small lexer that tracks brackets, string and character
 * literals (plain, triple-quoted, interpolated with `${...}`), and nested block comments.
 * Unclosed -> incomplete (indent by depth); a closer without its opener -> invalid; a line that
 * ends with a token that cannot end a statement (`=`, `=>`, `.`, `,`, `extends`, ...) ->
 * incomplete, as the REPL would ask for more.
 * Spec: https://jupyter-client.readthedocs.io/en/latest/messaging.html#code-completeness
 */

export type CompletenessStatus = 'complete' | 'incomplete' | 'invalid' | 'unknown';

export interface Completeness {
  status: CompletenessStatus;
  indent?: string;
}

const CLOSER: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const CONTINUATION_WORDS = new Set(['extends', 'with', 'match', 'else', 'yield', 'do', 'new', 'if', 'while', 'for', 'try', 'catch', 'finally']);
const CONTINUATION_OPERATORS = ['=>', '<-', '=', '.', ',', '+', '-', '*', '/', '&&', '||', '::'];

type Frame =
  | { kind: 'bracket'; open: string }
  // An interpolated string's `${` is a bracket that returns to the string when closed.
  | { kind: 'interp-brace' }
  | { kind: 'string'; triple: boolean; interpolated: boolean };

export function isComplete(code: string): Completeness {
  const stack: Frame[] = [];
  let commentDepth = 0;
  let i = 0;
  const n = code.length;
  let lastToken = '';
  const at = (k: number): string => code[k] ?? '';

  while (i < n) {
    const top = stack[stack.length - 1];
    const c = at(i);
    if (commentDepth > 0) {
      if (c === '/' && at(i + 1) === '*') {
        commentDepth++;
        i += 2;
      } else if (c === '*' && at(i + 1) === '/') {
        commentDepth--;
        i += 2;
      } else i++;
      continue;
    }
    if (top?.kind === 'string') {
      if (top.triple) {
        if (code.startsWith('"""', i)) {
          // Scala closes a triple-quoted string at the LAST of a run of quotes.
          let j = i + 3;
          while (at(j) === '"') j++;
          stack.pop();
          lastToken = 'literal';
          i = j;
          continue;
        }
      } else {
        if (c === '\\') {
          i += 2;
          continue;
        }
        if (c === '\n') return { status: 'invalid' }; // a plain string literal cannot span lines
        if (c === '"') {
          stack.pop();
          lastToken = 'literal';
          i++;
          continue;
        }
      }
      if (top.interpolated && c === '$') {
        if (at(i + 1) === '{') {
          stack.push({ kind: 'interp-brace' });
          i += 2;
          continue;
        }
        i += 2; // `$$` or `$name`
        continue;
      }
      i++;
      continue;
    }
    // Code.
    if (c === '/' && at(i + 1) === '/') {
      while (i < n && at(i) !== '\n') i++;
      continue;
    }
    if (c === '/' && at(i + 1) === '*') {
      commentDepth = 1;
      i += 2;
      continue;
    }
    if (c === '"') {
      const interpolated = /[A-Za-z0-9_]/.test(at(i - 1));
      if (code.startsWith('"""', i)) {
        stack.push({ kind: 'string', triple: true, interpolated });
        i += 3;
      } else {
        stack.push({ kind: 'string', triple: false, interpolated });
        i++;
      }
      lastToken = 'literal-open';
      continue;
    }
    if (c === "'") {
      // A character literal ('a', '\n', '\u0041') or a symbol ('name): both end on this line.
      const m = /^'(?:\\u[0-9A-Fa-f]{4}|\\.|[^'\\\n])'/.exec(code.slice(i, i + 8));
      if (m) {
        i += m[0].length;
        lastToken = 'literal';
        continue;
      }
      i++;
      continue;
    }
    if (c in CLOSER) {
      stack.push({ kind: 'bracket', open: c });
      lastToken = c;
      i++;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') {
      if (c === '}' && top?.kind === 'interp-brace') {
        stack.pop();
        i++;
        continue;
      }
      if (top?.kind !== 'bracket' || CLOSER[top.open] !== c) return { status: 'invalid' };
      stack.pop();
      lastToken = c;
      i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    // A word or an operator run.
    const word = /^[A-Za-z_][A-Za-z0-9_]*|^[!#%&*+\-/:<=>?@\\^|~.,;]+|^./.exec(code.slice(i, i + 64))![0];
    lastToken = word;
    i += word.length;
  }

  if (commentDepth > 0) return { status: 'incomplete', indent: '' };
  const openBrackets = stack.filter((f) => f.kind !== 'string').length;
  if (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.kind === 'string' && !top.triple) return { status: 'invalid' };
    return { status: 'incomplete', indent: '  '.repeat(openBrackets) };
  }
  if (CONTINUATION_WORDS.has(lastToken) || CONTINUATION_OPERATORS.includes(lastToken)) {
    return { status: 'incomplete', indent: '  ' };
  }
  return { status: 'complete' };
}
