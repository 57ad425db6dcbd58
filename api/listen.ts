import { type IncomingMessage, type Server, STATUS_CODES, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { GatewayError } from '../queue/errors';
import { PROBLEMS, problemBody } from './problem';

/** How long a connection refused by the parser is read from after the answer, before it is closed. */
const LINGER_MS = 2000;

/** A request the server is working on, per connection. */
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

/** Whether the bytes the parser refused are (the start of) a HEAD request, as far as they show. */
function isHead(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, current: Exchange | undefined): boolean {
  return current?.req.method === 'HEAD' || /^head /i.test(error.rawPacket?.subarray(0, 5).toString('latin1') ?? '');
}

/**
 * Bytes node cannot parse. If they follow a whole request on the same
 * connection, that request is answered first (it was valid, and may already
 * have been carried out) and the problem after it. If they are inside the
 * body of the request being read, that request never reached its handler
 * (every operation reads its whole body first), so nothing was done.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, current: Exchange | undefined): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = fromParser(error);
  const head = isHead(error, current);
  if (current === undefined || current.res.writableFinished || !current.req.complete) {
    endWithProblem(socket, problem, head);
    return;
  }
  current.res.once('close', () => {
    if (current.res.writableFinished && socket.writable) endWithProblem(socket, problem, head);
    else socket.destroy();
  });
}

/**
 * The gateway's HTTP server: express for requests, and problem+json (never
 * node's bare answers) for what fails before express sees a request.
 */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  // A request without Host is still one we can answer (node would answer it with a bare 400).
  const server = createServer({ requireHostHeader: false }, app);
  const exchanges = new WeakMap<Duplex, Exchange>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    exchanges.set(req.socket, { req, res });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, exchanges.get(socket)));
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
