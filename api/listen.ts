import { IncomingMessage, type Server, STATUS_CODES, ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { GatewayError } from '../queue/errors';
import { PROBLEMS, problemBody } from './problem';

/** How long a connection refused by the parser is read from after the answer, before it is closed. */
const LINGER_MS = 2000;

/** A request and its response, kept per connection until a later request finds the response done. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** What node's HTTP parser refused, as the error a client sees. */
function fromParser(error: NodeJS.ErrnoException): GatewayError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new GatewayError('headers_too_large', 'The request headers are larger than the server accepts (16 KiB).');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GatewayError('request_timeout', 'The request did not arrive whole in time; nothing was done.');
    default:
      return new GatewayError('bad_request', 'The request is not valid HTTP; nothing was done.');
  }
}

/**
 * Writes a problem straight to the connection, which is then closed: node's
 * parser cannot go on after an error. The answer to a HEAD has no body.
 */
function endWithProblem(socket: Duplex, error: GatewayError, head: boolean): void {
  const body = problemBody(error, null);
  const { status } = PROBLEMS[error.code];
  // Lingering close: read on (and drop) what the client still sends, so closing with unread bytes does
  // not reset the connection before the client has read the answer; then close for good.
  socket.on('data', () => undefined);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/** A request line, anywhere a line starts. */
const REQUEST_LINE = /(?:^|\n)([A-Za-z]+) \S+ HTTP\/\d\.\d\r?\n/g;

/**
 * Whether the refused request is a HEAD (its answer then has no body): the
 * one whose body was being read, else the last request line before the point
 * the parser stopped at, else the one the refused bytes start with.
 */
function isHead(error: NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number }, reading: Exchange | undefined): boolean {
  if (reading !== undefined) return reading.req.method === 'HEAD';
  const packet = error.rawPacket?.toString('latin1') ?? '';
  const before = [...packet.slice(0, error.bytesParsed ?? 0).matchAll(REQUEST_LINE)].at(-1);
  return /^head$/i.test(before?.[1] ?? packet.slice(0, 4));
}

/**
 * Bytes node cannot parse. Requests on the same connection that arrived
 * whole are answered first (they were valid, and may already have been
 * carried out), and the problem after them. A request whose body was being
 * read when the bytes came never reached its handler (every operation reads
 * its whole body first), so nothing was done; it gets the problem.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, exchanges: Set<Exchange>): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = fromParser(error);
  const reading = [...exchanges].find((e) => !e.req.complete);
  // Its body broke after it was answered (a refusal need not wait for the body): nothing more to say.
  if (reading?.res.writableFinished === true) {
    socket.destroy();
    return;
  }
  const head = isHead(error, reading);
  const unanswered = [...exchanges].filter((e) => !e.res.writableFinished);
  const before = unanswered.filter((e) => e.req.complete);
  if (before.length === 0) {
    endWithProblem(socket, problem, head);
    return;
  }
  void Promise.all(before.map((e) => new Promise((resolve) => e.res.once('close', resolve)))).then(() => {
    if (before.every((e) => e.res.writableFinished) && socket.writable) endWithProblem(socket, problem, head);
    else socket.destroy();
  });
}

/**
 * Request and response classes whose objects are made with the app's
 * prototypes (app.request, app.response) from the start. Express gives every
 * request it handles those prototypes (Object.setPrototypeOf); done to an
 * object node has already made and used, that made each of node's own steps
 * on it slower: about 85 µs of CPU per request here (README, "The one-message
 * path"). On objects made with them, it changes nothing.
 */
function madeForExpress(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  // Node's own constructors, called on the new object with whatever node passes them.
  function Request(this: IncomingMessage, ...args: unknown[]): void {
    Reflect.apply(IncomingMessage, this, args);
  }
  Request.prototype = app.request;
  function Response(this: ServerResponse, ...args: unknown[]): void {
    Reflect.apply(ServerResponse, this, args);
  }
  Response.prototype = app.response;
  return { IncomingMessage: Request as unknown as typeof IncomingMessage, ServerResponse: Response as unknown as typeof ServerResponse };
}

/** How long a request may take to arrive (Config.requestTimeoutMs, headersTimeoutMs). */
export interface RequestTimeouts {
  /** Headers and body, from the first byte; a long-poll's wait starts after, so it is not counted. */
  requestMs: number;
  headersMs: number;
}

/** Node's defaults (5 minutes for a request) hold a stalled upload's connection and memory far too long. */
export const DEFAULT_TIMEOUTS: RequestTimeouts = { requestMs: 30_000, headersMs: 10_000 };

/**
 * The gateway's HTTP server: express for requests, and problem+json (never
 * node's bare answers) for what fails before express sees a request,
 * `408 request_timeout` for a request that stalls among them.
 */
export function listen(app: Express, port: number, host: string, timeouts: RequestTimeouts = DEFAULT_TIMEOUTS): Promise<Server> {
  const server = createServer(
    {
      // A request without Host is still one we can answer (node would answer it with a bare 400).
      requireHostHeader: false,
      requestTimeout: timeouts.requestMs,
      headersTimeout: timeouts.headersMs,
      // How often node looks for stalled requests (30 s by default): a tenth of the shorter timeout, so one is answered soon after it is due.
      connectionsCheckingInterval: Math.max(10, Math.ceil(Math.min(timeouts.requestMs, timeouts.headersMs) / 10)),
      ...madeForExpress(app),
    },
    app,
  );
  const exchanges = new WeakMap<Duplex, Set<Exchange>>();
  // Node reports every later chunk of a refused connection again: only the first is answered.
  const refused = new WeakSet<Duplex>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let open = exchanges.get(req.socket);
    if (open === undefined) {
      open = new Set();
      exchanges.set(req.socket, open);
    }
    // Pruned here rather than with a listener per response: a connection rarely has more than one.
    for (const done of open) if (done.res.writableFinished) open.delete(done);
    open.add({ req, res });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (refused.has(socket)) return;
    refused.add(socket);
    answerClientError(error, socket, exchanges.get(socket) ?? new Set());
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = problemBody(new GatewayError('expectation_failed', 'Only Expect: 100-continue is understood.'), req.url ?? null);
    res.writeHead(417, { 'Content-Type': 'application/problem+json', Connection: 'close' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
