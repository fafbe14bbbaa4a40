/**
 * A deliberately lax HTTP/1.1 client over a raw TCP socket, so the fuzz tier can send what no
 * well-behaved client library would (control characters in the URL, broken headers, bodies that
 * do not match their length, a request cut off mid-way) and still read what the gateway answers.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parse(raw: Buffer): RawResponse | undefined {
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '');
    if (!match) return undefined;
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue; // 100 Continue: the real answer follows
    let body = rest;
    if (headers['content-length'] !== undefined) body = rest.subarray(0, Number(headers['content-length']));
    else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(rest);
    return { status, headers, body: body.toString('utf8') };
  }
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const eol = data.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(data.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export interface RawRequestOptions {
  /** Close the socket after writing this many bytes of the request (an abrupt disconnect). */
  cutAfter?: number;
  timeoutMs?: number;
}

/** Send `request` as is; resolves with the parsed answer, or undefined when none came. */
export function rawRequest(port: number, request: Buffer, options: RawRequestOptions = {}): Promise<RawResponse | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(done, options.timeoutMs ?? 10_000);
    socket.on('connect', () => {
      if (options.cutAfter !== undefined) {
        socket.write(request.subarray(0, options.cutAfter), () => done());
      } else {
        socket.write(request);
      }
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // A complete answer with a Content-Length needs no wait for the server to hang up.
      const res = parse(Buffer.concat(chunks));
      if (res && res.headers['content-length'] !== undefined && Buffer.byteLength(res.body) >= Number(res.headers['content-length'])) done();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
  });
}

export function buildRequest(parts: { method: string; path: string; headers: [string, string][]; body?: Buffer }): Buffer {
  const lines = [`${parts.method} ${parts.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of parts.headers) lines.push(`${k}: ${v}`);
  if (parts.body !== undefined) lines.push(`Content-Length: ${parts.body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), parts.body ?? Buffer.alloc(0)]);
}
