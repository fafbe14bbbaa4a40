/**
 * Bounded JSON, pure (no I/O): a validating scanner that walks JSON bytes with an explicit stack
 * (no recursion, so no input can exhaust the call stack), counts nesting depth and can report
 * the byte spans of a top-level object's members without building any value.
 *
 * Why: V8's JSON.parse copes with any depth, but what consumes the parsed value afterwards
 * (JSON.stringify, schema checks, loggers) recurses, and a client-sent value nested ~10,000
 * levels deep threw RangeError out of a websocket handler and took the whole gateway down. So
 * the gateway never parses what it only forwards (the legacy websocket protocol is split into
 * its parts' bytes, like the v1 protocol), and what it must parse (headers, request bodies,
 * terminal frames) is depth- and size-checked by this scanner first.
 *
 * Grammar: RFC 8259. Bytes outside strings must be ASCII; UTF-8 validity is the caller's check
 * (`buffer.isUtf8`, native) where it matters.
 */
import { isUtf8 } from 'node:buffer';

export interface Span {
  start: number;
  end: number;
}

export type JsonScanResult = { ok: true; depth: number } | { ok: false; error: string };

export interface JsonScanOptions {
  /** Deepest nesting of arrays and objects allowed; the scan stops at the first level past it. */
  maxDepth: number;
  /** Called for each member of a top-level object: the key's span (quotes included) and the value's. */
  onTopMember?: (key: Span, value: Span) => void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const OBJECT = 1;
const ARRAY = 2;

/** What the scanner expects next. */
const enum Expect {
  Value,
  Key,
  AfterValue,
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]); // " \ / b f n r t

/** Index just past the string that starts (with its quote) at `i`, or -1 when it is malformed. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === undefined) return -1;
      if (e === 0x75) {
        // \uXXXX
        if (i + 5 >= n) return -1;
        for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k]!)) return -1;
        i += 6;
        continue;
      }
      if (!ESCAPES.has(e)) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/** Index just past the number that starts at `i`, or -1 when it is malformed. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++; // -
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i] ?? 0)) while (isDigit(b[i] ?? 0)) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i] ?? 0)) return -1;
    while (isDigit(b[i] ?? 0)) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i] ?? 0)) return -1;
    while (isDigit(b[i] ?? 0)) i++;
  }
  return i;
}

const LITERALS: readonly (readonly number[])[] = [
  [0x74, 0x72, 0x75, 0x65], // true
  [0x66, 0x61, 0x6c, 0x73, 0x65], // false
  [0x6e, 0x75, 0x6c, 0x6c], // null
];

function skipLiteral(b: Uint8Array, i: number): number {
  for (const word of LITERALS) {
    if (b[i] !== word[0]) continue;
    for (let k = 1; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
    return i + word.length;
  }
  return -1;
}

/** Validate one JSON text (RFC 8259), iteratively, within `maxDepth` levels of nesting. */
export function scanJson(bytes: Uint8Array, options: JsonScanOptions): JsonScanResult {
  const b = bytes;
  const n = b.length;
  const { maxDepth, onTopMember } = options;
  const stack: number[] = [];
  let deepest = 0;
  let i = 0;
  let expect = Expect.Value;
  // The top-level object member being scanned (its key span and where its value starts).
  let keyStart = -1;
  let keyEnd = -1;
  let valueStart = -1;
  const fail = (what: string): JsonScanResult => ({ ok: false, error: `${what} at byte ${i}` });

  for (;;) {
    while (i < n && isSpace(b[i]!)) i++;
    if (expect === Expect.AfterValue) {
      if (stack.length === 0) return i === n ? { ok: true, depth: deepest } : fail('unexpected data after the JSON value');
      const top = stack[stack.length - 1]!;
      const c = b[i];
      if (c === COMMA) {
        i++;
        expect = top === OBJECT ? Expect.Key : Expect.Value;
      } else if ((c === CLOSE_OBJECT && top === OBJECT) || (c === CLOSE_ARRAY && top === ARRAY)) {
        i++;
        stack.pop();
        if (stack.length === 1 && stack[0] === OBJECT && onTopMember) onTopMember({ start: keyStart, end: keyEnd }, { start: valueStart, end: i });
      } else {
        return fail(c === undefined ? 'unexpected end of JSON' : 'expected , or a closing bracket');
      }
      continue;
    }
    if (i >= n) return fail('unexpected end of JSON');
    const c = b[i]!;
    if (expect === Expect.Key) {
      if (c !== QUOTE) return fail('expected a string key');
      const end = skipString(b, i);
      if (end < 0) return fail('malformed string');
      if (stack.length === 1) {
        keyStart = i;
        keyEnd = end;
      }
      i = end;
      while (i < n && isSpace(b[i]!)) i++;
      if (b[i] !== COLON) return fail('expected :');
      i++;
      while (i < n && isSpace(b[i]!)) i++;
      if (stack.length === 1) valueStart = i;
      expect = Expect.Value;
      continue;
    }
    // Expect.Value
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length >= maxDepth) return fail(`JSON nested deeper than ${maxDepth} levels`);
      stack.push(c === OPEN_OBJECT ? OBJECT : ARRAY);
      if (stack.length > deepest) deepest = stack.length;
      i++;
      while (i < n && isSpace(b[i]!)) i++;
      if (b[i] === (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        i++;
        stack.pop();
        if (stack.length === 1 && stack[0] === OBJECT && onTopMember) onTopMember({ start: keyStart, end: keyEnd }, { start: valueStart, end: i });
        expect = Expect.AfterValue;
      } else {
        expect = c === OPEN_OBJECT ? Expect.Key : Expect.Value;
      }
      continue;
    }
    let end: number;
    if (c === QUOTE) end = skipString(b, i);
    else if (c === 0x2d || isDigit(c)) end = skipNumber(b, i);
    else end = skipLiteral(b, i);
    if (end < 0) return fail(c === QUOTE ? 'malformed string' : 'unexpected character');
    i = end;
    if (stack.length === 1 && stack[0] === OBJECT && onTopMember) onTopMember({ start: keyStart, end: keyEnd }, { start: valueStart, end: i });
    expect = Expect.AfterValue;
  }
}

export interface JsonLimits {
  maxDepth: number;
  /** Largest input accepted, in bytes. */
  maxBytes: number;
}

export type BoundedParse<T = unknown> = { ok: true; value: T } | { ok: false; error: string };

/**
 * JSON.parse, but only after the input is known to be valid UTF-8, within `maxBytes` and no
 * deeper than `maxDepth`, so whatever recursive code later walks the value stays bounded.
 */
export function parseJsonBounded(input: Uint8Array | string, limits: JsonLimits): BoundedParse {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > limits.maxBytes) return { ok: false, error: `JSON larger than ${limits.maxBytes} bytes` };
  if (typeof input !== 'string' && !isUtf8(bytes)) return { ok: false, error: 'JSON is not valid UTF-8' };
  const scan = scanJson(bytes, { maxDepth: limits.maxDepth });
  if (!scan.ok) return scan;
  const text = typeof input === 'string' ? input : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  return { ok: true, value: JSON.parse(text) as unknown };
}

/** Longest key decoded by splitJsonObject: longer keys cannot be one a caller asks for. */
const MAX_SPLIT_KEY_BYTES = 256;

export type SplitResult = { ok: true; members: Map<string, Buffer> } | { ok: false; error: string };

/**
 * The members of a top-level JSON object as the raw bytes of their values (views into `bytes`,
 * not copies), after validating the whole text as JSON. Values are never parsed. A repeated key
 * keeps its last value, as JSON.parse does. `maxDepth` bounds nesting (a bound on work, not on
 * the call stack: the scan is iterative).
 */
export function splitJsonObject(bytes: Buffer, maxDepth: number): SplitResult {
  const members = new Map<string, Buffer>();
  let first = 0;
  while (first < bytes.length && isSpace(bytes[first]!)) first++;
  if (bytes[first] !== OPEN_OBJECT) return { ok: false, error: 'message must be a JSON object' };
  const scan = scanJson(bytes, {
    maxDepth,
    onTopMember: (key, value) => {
      if (key.end - key.start > MAX_SPLIT_KEY_BYTES) return;
      const name = JSON.parse(bytes.toString('utf8', key.start, key.end)) as string;
      members.set(name, bytes.subarray(value.start, value.end));
    },
  });
  return scan.ok ? { ok: true, members } : scan;
}
