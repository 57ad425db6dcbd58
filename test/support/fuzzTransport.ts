import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { ChunkFault, WireRequest } from './fuzzRequests';

/**
 * Sends fuzz requests: well-formed ones through node:http on a keep-alive
 * agent, everything else byte for byte over a raw socket (node:http refuses
 * to write broken requests). Waits the way a client would, and recognizes
 * when the gateway waits for bytes that will never come (a truncated body),
 * so the connection is cut then and not after a timeout.
 */

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Exchange {
  transport: 'http' | 'raw';
  responses: ParsedResponse[];
  /** The test cut the connection because the gateway was (rightly) waiting for the rest of the request. */
  cutByClient: boolean;
  /** No complete answer came within the deadline. */
  hung: boolean;
  /** What the client saw when the connection failed, if it did. */
  error: string | null;
  /** Bytes the gateway sent that are not a complete HTTP response. */
  garbage: number;
  /** The request got past node's HTTP parser to the app: its answers are the app's. */
  reachedApp: boolean;
}

/** What the test can see of the gateway's side of a connection, by the client's port. */
export interface ServerProbe {
  /** Requests the app has received so far (requests are sent one at a time, so a difference is this one's). */
  requests(): number;
  bytesRead(clientPort: number): number | null;
  exchange(clientPort: number): { req: IncomingMessage; res: ServerResponse } | null;
}

export interface TransportOptions {
  port: number;
  agent: http.Agent;
  probe: ServerProbe;
  /** Called while a request waits for its answer: the test moves the clock for long-polls. */
  onPending: (waitedMs: number) => void;
  deadlineMs: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const POLL_MS = 1;

/** Whether node:http would send the request unchanged. */
function httpSendable(request: WireRequest): boolean {
  if (request.framing.kind !== 'http' || !TOKEN.test(request.method) || !/^[\u0021-\u00ff]+$/.test(request.target)) return false;
  try {
    for (const [name, value] of request.headers) {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    }
    return true;
  } catch {
    return false;
  }
}

export async function send(request: WireRequest, options: TransportOptions): Promise<Exchange> {
  const before = options.probe.requests();
  const result = await (httpSendable(request) ? sendHttp(request, options, true) : sendRaw(request, options));
  return { ...result, reachedApp: options.probe.requests() > before };
}

function hasHeader(headers: Array<[string, string]>, name: string): boolean {
  return headers.some(([n]) => n.toLowerCase() === name);
}

/** Methods node:http sends a body-less request of with Transfer-Encoding: chunked unless told a length. */
const CHUNKED_BY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/**
 * Headers as node:http takes them to keep duplicates. Given as a list, it
 * adds no Host of its own, and sends a missing body as an empty chunked one:
 * a request without a body says Content-Length: 0, as curl and browsers do.
 */
function flatHeaders(request: WireRequest, port: number): string[] {
  const headers: Array<[string, string]> = hasHeader(request.headers, 'host') ? [] : [['Host', `127.0.0.1:${port}`]];
  headers.push(...request.headers);
  const length = request.body?.length ?? (CHUNKED_BY_DEFAULT.has(request.method) ? null : 0);
  if (length !== null && !hasHeader(headers, 'content-length')) headers.push(['Content-Length', String(length)]);
  return headers.flat();
}

function exchange(transport: 'http' | 'raw', fields: Partial<Exchange>): Exchange {
  return { transport, responses: [], cutByClient: false, hung: false, error: null, garbage: 0, reachedApp: false, ...fields };
}

/**
 * A stream (`…/stream`: SSE or NDJSON) never ends on its own: its head, and
 * what came with it, is its answer, and the client then hangs up.
 */
function isStream(headers: Record<string, string | string[] | undefined>): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && /^(text\/event-stream|application\/x-ndjson)/i.test(type);
}

function sendHttp(request: WireRequest, options: TransportOptions, mayRetry: boolean): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    let settled = false;
    const finish = (result: Exchange): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(result);
    };
    const req = http.request({ host: '127.0.0.1', port: options.port, method: request.method, path: request.target, agent: options.agent, headers: flatHeaders(request, options.port) });
    const watch = setInterval(() => {
      const waited = Date.now() - started;
      options.onPending(waited);
      if (waited > options.deadlineMs) {
        req.destroy();
        finish(exchange('http', { hung: true }));
      }
    }, POLL_MS);
    req.on('response', (res) => {
      if (isStream(res.headers)) {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
        finish(exchange('http', { responses: [{ status: res.statusCode ?? 0, headers, body: Buffer.alloc(0) }] }));
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
        finish(exchange('http', { responses: [{ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) }] }));
      });
      res.on('error', (error) => finish(exchange('http', { error: error.message })));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      // A kept-alive socket the server closed just as it was reused: what any client retries once.
      if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') {
        settled = true;
        clearInterval(watch);
        resolve(sendHttp(request, options, false));
        return;
      }
      finish(exchange('http', { error: error.code ?? error.message }));
    });
    req.end(request.body ?? undefined);
  });
}

function headLines(request: WireRequest, port: number, version: string, omitHost: boolean, lowercase: boolean): Buffer {
  const method = lowercase ? request.method.toLowerCase() : request.method;
  const lines = [`${method} ${request.target} HTTP/${version}`];
  if (!omitHost) lines.push(`Host: 127.0.0.1:${port}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}

function chunkedBody(body: Buffer, pieces: number, fault: ChunkFault): Buffer {
  const size = Math.max(1, Math.ceil(body.length / pieces));
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const chunk = body.subarray(at, at + size);
    const first = at === 0;
    const declared: Record<ChunkFault, string> = {
      none: chunk.length.toString(16),
      badSize: first ? 'zz' : chunk.length.toString(16),
      shortChunk: first ? (chunk.length + 5).toString(16) : chunk.length.toString(16),
      longChunk: first ? Math.max(0, chunk.length - 1).toString(16) : chunk.length.toString(16),
      noTerminator: chunk.length.toString(16),
      badExtension: `${chunk.length.toString(16)};\u0001=\u0002`,
      hugeSize: first ? 'ffffffffffffffffffff' : chunk.length.toString(16),
      missingCrlf: chunk.length.toString(16),
      negativeSize: first ? `-${chunk.length.toString(16)}` : chunk.length.toString(16),
    };
    parts.push(Buffer.from(`${declared[fault]}\r\n`, 'latin1'), chunk, Buffer.from(fault === 'missingCrlf' && first ? '' : '\r\n'));
  }
  if (fault !== 'noTerminator') parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

interface RawPlan {
  bytes: Buffer;
  /** How to cut the connection once the gateway waits for more. */
  cut: 'end' | 'destroy';
}

/** The bytes of a request as its framing says, with the header section written out by hand. */
function rawPlan(request: WireRequest, port: number): RawPlan {
  const body = request.body ?? Buffer.alloc(0);
  const framing = request.framing;
  const head = (extra: string[], version = '1.1', omitHost = false, lowercase = false): Buffer =>
    Buffer.concat([headLines(request, port, version, omitHost, lowercase), Buffer.from(extra.map((line) => `${line}\r\n`).join('')), Buffer.from('\r\n')]);
  const length = `Content-Length: ${body.length}`;
  switch (framing.kind) {
    case 'http':
      return { bytes: Buffer.concat([head([length, 'Connection: close']), body]), cut: 'end' };
    case 'raw':
      return { bytes: Buffer.concat([head([length, 'Connection: close'], framing.version, framing.omitHost, framing.lowercaseMethod), body]), cut: 'end' };
    case 'truncated':
      return { bytes: Buffer.concat([head([`Content-Length: ${body.length + framing.missing}`]), body]), cut: framing.close };
    case 'shortLength':
      // No Connection: close: the gateway reads what is past the declared length as the next request.
      return { bytes: Buffer.concat([head([`Content-Length: ${Math.max(0, body.length - framing.by)}`]), body]), cut: 'end' };
    case 'chunked':
      return { bytes: Buffer.concat([head(['Transfer-Encoding: chunked', 'Connection: close']), chunkedBody(body, framing.pieces, framing.fault)]), cut: 'end' };
    case 'lengthAndChunked':
      return { bytes: Buffer.concat([head([length, 'Transfer-Encoding: chunked', 'Connection: close']), chunkedBody(body, 1, 'none')]), cut: 'end' };
    case 'randomBytes':
      return { bytes: Buffer.from(framing.bytes), cut: 'end' };
    case 'garbledHeaders':
      return { bytes: Buffer.concat([headLines(request, port, '1.1', false, false), Buffer.from(framing.bytes), Buffer.from('\r\n\r\n')]), cut: 'end' };
  }
}

/** Whether the gateway has all bytes sent so far and is waiting for more: for a request line, headers or body. */
function waitingForBytes(probe: ServerProbe, clientPort: number, written: number): boolean {
  const read = probe.bytesRead(clientPort);
  if (read === null || read < written) return false;
  const seen = probe.exchange(clientPort);
  // No request yet, or the last one answered: what is left is an incomplete request line or header section.
  if (seen === null || seen.res.writableFinished) return true;
  const { req, res } = seen;
  return !res.headersSent && !req.complete && req.readableFlowing === true;
}

function sendRaw(request: WireRequest, options: TransportOptions): Promise<Exchange> {
  const plan = rawPlan(request, options.port);
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let cut = false;
    let stalledSince: number | null = null;
    let settled = false;
    const socket = net.connect(options.port, '127.0.0.1');
    const finish = (fields: Partial<Exchange>): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      socket.destroy();
      const data = Buffer.concat(chunks);
      // The method on the wire: a mutation may have sent bytes that are no request line at all.
      const { responses, consumed } = parseResponses(data, /^HEAD /i.test(plan.bytes.subarray(0, 5).toString('latin1')) ? 'HEAD' : 'GET');
      resolve(exchange('raw', { responses, cutByClient: cut, garbage: data.length - consumed, ...fields }));
    };
    const watch = setInterval(() => {
      const waited = Date.now() - started;
      options.onPending(waited);
      if (waited > options.deadlineMs) finish({ hung: true });
      if (cut || socket.localPort === undefined) return;
      // Two polls in a row: the gateway has really stopped, not just not yet started.
      if (!waitingForBytes(options.probe, socket.localPort, plan.bytes.length)) stalledSince = null;
      else if (stalledSince === null) stalledSince = Date.now();
      else if (Date.now() - stalledSince >= 2) {
        cut = true;
        if (plan.cut === 'destroy') finish({});
        else socket.end();
      }
    }, POLL_MS);
    socket.on('connect', () => socket.write(plan.bytes));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parseResponses(Buffer.concat(chunks), 'GET').responses.some((r) => isStream(r.headers))) finish({});
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    socket.on('close', () => finish({}));
  });
}

function parseHead(text: string): { status: number; headers: Record<string, string> } | null {
  const [statusLine, ...lines] = text.split('\r\n');
  const match = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  if (match === null) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(match[1]), headers };
}

function dechunk(data: Buffer, from: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    at = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n', at);
      return trailerEnd < 0 ? null : { body: Buffer.concat(parts), end: trailerEnd + 2 };
    }
    if (at + size + 2 > data.length) return null;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}

/** The complete HTTP responses in what a connection received, and how many bytes they took. */
export function parseResponses(data: Buffer, method: string): { responses: ParsedResponse[]; consumed: number } {
  const responses: ParsedResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const head = parseHead(data.subarray(at, headEnd).toString('latin1'));
    if (head === null) break;
    const bodyStart = headEnd + 4;
    if (head.status < 200) {
      at = bodyStart;
      continue;
    }
    if (isStream(head.headers)) {
      responses.push({ ...head, body: data.subarray(bodyStart) });
      at = data.length;
      break;
    }
    let body: Buffer;
    let end: number;
    const length = head.headers['content-length'];
    if (method.toUpperCase() === 'HEAD' || head.status === 204 || head.status === 304) {
      body = Buffer.alloc(0);
      end = bodyStart;
    } else if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) {
      const decoded = dechunk(data, bodyStart);
      if (decoded === null) break;
      ({ body, end } = decoded);
    } else if (length !== undefined) {
      end = bodyStart + Number(length);
      if (end > data.length) break;
      body = data.subarray(bodyStart, end);
    } else {
      body = data.subarray(bodyStart);
      end = data.length;
    }
    responses.push({ ...head, body });
    at = end;
  }
  return { responses, consumed: at };
}
