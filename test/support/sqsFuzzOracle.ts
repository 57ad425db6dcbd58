import http from 'node:http';
import { SQS_ERRORS } from '../../api/sqs/errors';
import { type AttributeValue, md5OfAttributes, md5OfBody } from '../../api/sqs/md5';
import type { ManualClock } from './manualClock';
import type { WireRequest } from './sqsFuzzRequests';

/**
 * Sends one SQS fuzz request over node:http and judges its answer by the
 * project's rule: bad input of any kind is a 4xx with a stable code, in
 * SQS's own error shape — never a 5xx, a hang or a crash.
 */

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  port: number;
  agent: http.Agent;
  clock: ManualClock;
  deadlineMs: number;
}

/** Moves the manual clock while a request waits, so a long-poll (queue attribute or WaitTimeSeconds) ends as it would in time. */
const CLOCK_STEP_MS = 1000;
const PENDING_MS = 20;

export function sendSqs(request: WireRequest, options: SendOptions): Promise<Answer | { failure: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let settled = false;
    const finish = (result: Answer | { failure: string }): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(result);
    };
    const req = http.request({
      host: '127.0.0.1',
      port: options.port,
      method: 'POST',
      path: '/',
      agent: options.agent,
      headers: { ...request.headers, 'content-length': String(request.body.length) },
    });
    const watch = setInterval(() => {
      const waited = Date.now() - started;
      if (waited > PENDING_MS) options.clock.advance(CLOCK_STEP_MS);
      if (waited > options.deadlineMs) {
        req.destroy();
        finish({ failure: 'hung: no answer within the deadline' });
      }
    }, 5);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => finish({ failure: `response error ${error.message}` }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ failure: `connection error ${error.code ?? error.message}` }));
    req.end(request.body);
  });
}

const STATUSES = new Set([200, 400, 403, 404, 413, 415]);
const SQS_TYPE = /^application\/x-amz-json-1\.0(;|$)/;
const PROBLEM_TYPE = /^application\/problem\+json(;|$)/;

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What is wrong with an answer, as a short signature (violations are counted by it), or null when it is right. */
export function violationOf(answer: Answer): string | null {
  const { status, headers } = answer;
  if (!STATUSES.has(status)) return `status ${status}`;
  const contentType = headers['content-type'] ?? '';
  const body = parseJson(answer.body);
  if (status === 200) {
    if (!SQS_TYPE.test(contentType)) return `200 with content-type ${contentType}`;
    return isRecord(body) ? null : '200 whose body is not a JSON object';
  }
  // The body-reading layer refuses before the SQS face runs: problem+json, as /v1 answers.
  if ((status === 413 || status === 415) && PROBLEM_TYPE.test(contentType)) {
    return isRecord(body) && typeof body.code === 'string' && body.status === status ? null : `${status} problem+json without code/status`;
  }
  if (!SQS_TYPE.test(contentType)) return `${status} with content-type ${contentType}`;
  if (!isRecord(body) || typeof body.__type !== 'string' || typeof body.message !== 'string') return `${status} without {__type, message}`;
  const queryError = headers['x-amzn-query-error'];
  const match = typeof queryError === 'string' ? /^([A-Za-z.]+);Sender$/.exec(queryError) : null;
  if (match === null) return `${status} ${body.__type} with x-amzn-query-error ${String(queryError)}`;
  // The three names of one error agree with the table in api/sqs/errors.ts.
  const known = Object.values(SQS_ERRORS).find((shape) => shape.queryCode === match[1]);
  if (known === undefined || known.type !== body.__type || known.status !== status) return `${status} ${body.__type} disagrees with ${match[1]}`;
  return null;
}

/** The stable code of an answer, for the per-action tally: the query code, the problem code, or 'ok'. */
export function codeOf(answer: Answer): string {
  if (answer.status === 200) return 'ok';
  const queryError = answer.headers['x-amzn-query-error'];
  if (typeof queryError === 'string') return queryError.split(';')[0];
  const body = parseJson(answer.body);
  return isRecord(body) && typeof body.code === 'string' ? body.code : String(answer.status);
}

/** The MD5s one accepted send must carry: of its body, and of its attributes when it had any (the SDK checks both). */
function md5Violation(sent: unknown, answered: unknown): string | null {
  if (!isRecord(sent) || !isRecord(answered)) return 'a send or its answer is not an object';
  if (typeof sent.MessageBody !== 'string' || answered.MD5OfMessageBody !== md5OfBody(sent.MessageBody)) return 'MD5OfMessageBody does not match the body';
  const attributes = isRecord(sent.MessageAttributes) ? (sent.MessageAttributes as Record<string, AttributeValue>) : {};
  const expected = Object.keys(attributes).length === 0 ? undefined : md5OfAttributes(attributes);
  return answered.MD5OfMessageAttributes === expected ? null : 'MD5OfMessageAttributes does not match the attributes sent';
}

/**
 * What is wrong with an accepted SendMessage(Batch): an answer that does not
 * account for what was sent (an attribute dropped on the way is lost data
 * the status cannot show).
 */
export function sendViolationOf(action: string, request: Buffer, answer: Answer): string | null {
  if (answer.status !== 200 || (action !== 'SendMessage' && action !== 'SendMessageBatch')) return null;
  const sent = parseJson(request);
  const answered = parseJson(answer.body);
  if (!isRecord(sent) || !isRecord(answered)) return null;
  if (action === 'SendMessage') return md5Violation(sent, answered);
  const entries = Array.isArray(sent.Entries) ? (sent.Entries as unknown[]).filter(isRecord) : [];
  const successful = Array.isArray(answered.Successful) ? (answered.Successful as unknown[]).filter(isRecord) : [];
  for (const result of successful) {
    const violation = md5Violation(entries.find((entry) => entry.Id === result.Id), result);
    if (violation !== null) return `entry ${violation}`;
  }
  return null;
}
