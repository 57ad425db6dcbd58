import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import pino, { type DestinationStream, type Logger } from 'pino';
import { principalOf } from './auth';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * pino's `time` field as pino.stdTimeFunctions.isoTime writes it, made once
 * per millisecond: under load many lines share one, and formatting the date
 * was a tenth of a line's cost.
 */
function isoTimeOncePerMs(): () => string {
  let at = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

/** JSON lines: `time` (ISO), `level` (its name), `msg`, and the fields of the event. */
export function createLogger(level: LogLevel, destination: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: isoTimeOncePerMs(),
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * Standard error, written by a thread of its own (pino's transport to a file
 * descriptor). pino flushes what is left when the process exits, by
 * process.exit or naturally, and waits for the thread to have written it:
 * a write from the event loop still in flight at process.exit was lost
 * (test/log-output.test.ts).
 */
export function stderr(): pino.DestinationStream & { flushSync(): void } {
  const destination = pino.transport({ target: 'pino/file', options: { destination: 2 } });
  // Standard error closed (its reader gone): the gateway goes on answering, without its log.
  destination.on('error', () => undefined);
  return destination;
}

/** A client's own request id is kept if it is a plain token; anything else is replaced, never echoed. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,200}$/;

/**
 * One line per request once its answer is sent (or its connection gone):
 * request id (`X-Request-Id`, the client's or a new one, echoed back),
 * operation, method, path, status, duration and the caller's key id. Never a
 * body, a query string (a raw produce's message key travels there, and a
 * stream's token: api/streamTokens.ts) or a key.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('X-Request-Id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.once('close', () => {
      const line: Record<string, unknown> = {
        requestId,
        operation: (res.locals.operationId as string | undefined) ?? null,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        keyId: (res.locals.principal === undefined ? null : principalOf(res).key?.id) ?? null,
      };
      if (!res.writableFinished) line.aborted = true;
      logger.info(line, 'request');
    });
    next();
  };
}
