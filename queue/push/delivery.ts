import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { PushRecord, StoredMessage } from '../../persistence/store';
import type { Clock } from '../clock';
import { parseRetryAfter } from './backoff';
import { sourcePath } from './source';

export type AttemptResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** The answer's status; null for a timeout or a connection error. */
      status: number | null;
      error: string;
      /** Retrying cannot help (a 3xx or 4xx other than 408 and 429). */
      permanent: boolean;
      /** The receiver's Retry-After, in ms. */
      retryAfterMs: number | null;
    };

/** Most response bytes read to keep a connection reusable; past this the connection is dropped. */
const MAX_DRAINED_BYTES = 64 * 1024;

/** Message headers that describe the body or the connection: the delivery sets its own. */
const RESERVED = new Set([
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Whether a message header may go out as an HTTP header: one HTTP can carry, that describes neither the body nor the connection. */
export function isSendable(name: string, value: string): boolean {
  if (RESERVED.has(name.toLowerCase())) return false;
  try {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

/** `sha256=` + hex HMAC-SHA256 of `timestamp + "." + body`: what a receiver recomputes to verify a delivery. */
function signature(secret: string, timestamp: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * The request headers of one attempt: the message's own headers (those HTTP
 * can carry), the subscription's extra headers, then the delivery headers,
 * which nothing overrides.
 */
export function deliveryHeaders(push: PushRecord, message: StoredMessage, attempt: number, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...message.headers, ...push.headers })) {
    if (isSendable(name, value)) headers[name] = value;
  }
  const timestamp = String(now);
  Object.assign(headers, {
    'Content-Type': message.contentType,
    'Mqgate-Message-Id': message.publicId,
    'Mqgate-Attempt': String(attempt),
    'Mqgate-Source': sourcePath(push.source),
    'Mqgate-Push-Subscription': push.name,
    'Mqgate-Partition': String(message.partition),
    'Mqgate-Offset': String(message.offset),
    'Mqgate-Message-Timestamp': String(message.timestamp),
    'Mqgate-Timestamp': timestamp,
  });
  if (message.key !== null) headers['Mqgate-Key'] = encodeURIComponent(message.key);
  if (push.secret !== null) headers['Mqgate-Signature'] = signature(push.secret, timestamp, message.value);
  return headers;
}

function classify(status: number, retryAfter: string | undefined, now: number): AttemptResult {
  if (status >= 200 && status < 300) return { ok: true, status };
  const retriable = status >= 500 || status === 408 || status === 429;
  const error = `HTTP ${status}${http.STATUS_CODES[status] === undefined ? '' : ` ${http.STATUS_CODES[status]}`}`;
  return { ok: false, status, error, permanent: !retriable, retryAfterMs: parseRetryAfter(retryAfter, now) };
}

/** Connection pools of one push subscription: at most `concurrency` sockets per target host. */
export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

export function createAgents(concurrency: number): Agents {
  const options = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

export interface Attempt {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  agents: Agents;
  clock: Clock;
}

/**
 * One HTTP attempt. It never rejects: a timeout (on the clock, from the start
 * to the end of the response), a refused connection or an odd answer are
 * results like any other. Redirects are not followed. Only a bounded part of
 * the response body is read.
 */
export function attempt(a: Attempt): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      resolve(result);
    };
    const failure = (error: string): AttemptResult => ({ ok: false, status: null, error, permanent: false, retryAfterMs: null });
    const secure = a.url.protocol === 'https:';
    // Options rather than the URL: node would convert the URL into these on every request.
    const request = (secure ? https : http).request({
      protocol: a.url.protocol,
      hostname: a.url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: a.url.port,
      path: `${a.url.pathname}${a.url.search}`,
      method: a.method,
      headers: { ...a.headers, 'Content-Length': String(a.body.length) },
      agent: secure ? a.agents.https : a.agents.http,
    });
    const cancelTimer = a.clock.schedule(a.clock.now() + a.timeoutMs, () => {
      finish(failure(`timed out after ${a.timeoutMs} ms`));
      request.destroy();
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish(failure(error.code ?? error.message)));
    request.on('response', (response) => {
      let drained = 0;
      response.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > MAX_DRAINED_BYTES) response.destroy();
      });
      const done = (): void => finish(classify(response.statusCode ?? 0, response.headers['retry-after'], a.clock.now()));
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    request.end(a.body);
  });
}
