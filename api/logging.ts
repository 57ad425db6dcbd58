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

/** Log lines gathered before one write to standard error, rather than an asynchronous write (a trip through libuv's threads) per line. */
const LOG_BUFFER_BYTES = 4096;
/** The longest a line waits for others before it is written. */
const LOG_FLUSH_MS = 100;

/**
 * Lines joined into one string of LOG_BUFFER_BYTES or so before sonic-boom
 * (pino's destination) is given them. Given a line at a time, it measured in
 * bytes all it held at each line: 3% of a single produce's time.
 */
class LineBatch implements pino.DestinationStream {
  private lines: string[] = [];
  private length = 0;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {}

  write(line: string): void {
    this.lines.push(line);
    // UTF-16 units, not bytes: near enough to decide when to write.
    this.length += line.length;
    if (this.length >= LOG_BUFFER_BYTES) this.flush();
  }

  /** Hands the lines to sonic-boom, which writes them as soon as its write in flight ends. */
  flush(): void {
    if (this.lines.length === 0) return;
    this.out.write(this.lines.join(''));
    this.lines = [];
    this.length = 0;
  }

  flushSync(): void {
    this.flush();
    this.out.flushSync();
  }
}

/**
 * Standard error, written asynchronously, 4 KiB at a time or every 100 ms,
 * whichever comes first; flush it before the process exits (an exit that
 * does not, natural or by process.exit, flushes it too).
 */
export function stderr(): pino.DestinationStream & { flushSync(): void } {
  const destination = new LineBatch(pino.destination({ fd: 2, sync: false }));
  setInterval(() => destination.flush(), LOG_FLUSH_MS).unref();
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Standard error is closed: there is nowhere left to write the rest.
    }
  });
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
