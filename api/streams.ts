import type { Request, Response } from 'express';
import type { Clock } from '../queue/clock';
import type { GatewayError } from '../queue/errors';
import type { Membership } from '../queue/groupService';
import type { DeliveredMessage } from '../queue/messages';
import { messageJson } from './messagesJson';
import { PROBLEMS, toGatewayError } from './problem';

/** How a stream is written: Server-Sent Events, or one JSON object a line. */
export type StreamFormat = 'sse' | 'ndjson';

/**
 * One event of a stream: a message and its position (where a client
 * resumes from), or a group stream's assignment (no position: the client
 * commits with it).
 */
export type StreamEvent = { id: string; message: DeliveredMessage } | { assignment: Membership };

export interface StreamOptions {
  clock: Clock;
  /** A heartbeat this often while the stream is open (Limits.streamHeartbeatMs). */
  heartbeatMs: number;
  /** Ends the stream: the client went away, the key was revoked, or the server shuts down. */
  signal: AbortSignal;
  /** Where a failure after the head was sent is reported, when it is the gateway's (the client sees the stream end). */
  onInternalError: (error: GatewayError) => void;
}

const CONTENT_TYPES: Record<StreamFormat, string> = {
  sse: 'text/event-stream; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

/** SSE: a comment, which EventSource ignores; NDJSON: an object without `id`, which a reader skips. */
const HEARTBEATS: Record<StreamFormat, string> = { sse: ': keep-alive\n\n', ndjson: '{}\n' };

/**
 * NDJSON when the client ranks it above SSE; SSE otherwise, whatever else
 * it accepts (no 406): an EventSource sends `text/event-stream`, and curl
 * and most clients accept any type or send no Accept at all.
 */
export function streamFormat(req: Request): StreamFormat {
  return req.accepts(['text/event-stream', 'application/x-ndjson']) === 'application/x-ndjson' ? 'ndjson' : 'sse';
}

/**
 * A message's JSON on one line. A stored JSON value is spliced in as its
 * bytes, which may hold line breaks between tokens (never inside a string,
 * where JSON escapes them): they become spaces, the same JSON.
 */
function oneLine(message: DeliveredMessage): Buffer {
  const json = messageJson(message);
  if (!json.includes(10) && !json.includes(13)) return json;
  for (let i = 0; i < json.length; i++) if (json[i] === 10 || json[i] === 13) json[i] = 32;
  return json;
}

function eventBytes(format: StreamFormat, event: StreamEvent): Buffer {
  if ('assignment' in event) {
    const assignment = JSON.stringify(event.assignment);
    return Buffer.from(format === 'sse' ? `event: assignment\ndata: ${assignment}\n\n` : `{"assignment":${assignment}}\n`);
  }
  const { id, message } = event;
  const json = oneLine(message);
  if (format === 'sse') return Buffer.concat([Buffer.from(`id: ${id}\nevent: message\ndata: `), json, Buffer.from('\n\n')]);
  return Buffer.concat([Buffer.from(`{"id":${JSON.stringify(id)},"message":`), json, Buffer.from('}\n')]);
}

/**
 * Writes `chunk` and resolves once the socket took it: at once while the
 * response's buffer is under its high-water mark, else on 'drain'. False
 * when the stream ended first.
 */
function written(res: Response, chunk: Buffer, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (drained: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onEnd);
      signal.removeEventListener('abort', onEnd);
      resolve(drained);
    };
    const onDrain = finish(true);
    const onEnd = finish(false);
    res.on('drain', onDrain);
    res.on('close', onEnd);
    signal.addEventListener('abort', onEnd, { once: true });
  });
}

/**
 * Answers with a stream of `events` until `signal` ends it. Flow control:
 * the next event is taken from `events` only once the socket took the last
 * one (its 'drain'), so a slow reader holds at most one event's bytes and
 * the response's high-water mark (16 KiB) here, beyond what the kernel's
 * socket buffers hold; the source waits meanwhile (a queue stream leases
 * nothing more, a partition or group stream reads nothing more). Heartbeats go out
 * every `heartbeatMs` of the clock, but not while the socket is full.
 */
export async function sendStream(res: Response, format: StreamFormat, events: AsyncIterable<StreamEvent>, options: StreamOptions): Promise<void> {
  const { clock, heartbeatMs, signal } = options;
  res.status(200);
  res.setHeader('Content-Type', CONTENT_TYPES[format]);
  res.setHeader('Cache-Control', 'no-cache');
  // nginx would buffer the response otherwise.
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  let cancelBeat = (): void => undefined;
  const beat = (): void => {
    if (signal.aborted) return;
    if (!res.writableNeedDrain) res.write(HEARTBEATS[format]);
    cancelBeat = clock.schedule(clock.now() + heartbeatMs, beat);
  };
  cancelBeat = clock.schedule(clock.now() + heartbeatMs, beat);
  try {
    for await (const event of events) {
      if (!(await written(res, eventBytes(format, event), signal))) break;
    }
  } catch (error) {
    // The head is sent: a failure can only end the stream; the client resumes from its last event's id.
    const gatewayError = toGatewayError(error);
    if (PROBLEMS[gatewayError.code].status >= 500) options.onInternalError(gatewayError);
  } finally {
    cancelBeat();
    res.end();
  }
}
