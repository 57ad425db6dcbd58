import autocannon from 'autocannon';
import { type Meter, unmetered } from './cpuMeter';
import type { Side } from './rounds';

/** One kind of request, sent over and over by autocannon. */
export interface LoadSpec {
  url: string;
  method: 'POST' | 'PUT';
  /**
   * JSON text, serialized once up front so the load generator spends its core
   * on sending; or, where every request must differ (distinct message keys),
   * what makes each request's body.
   */
  body: string | (() => string);
  connections: number;
  /** Sent with every request besides `content-type: application/json`, which they may replace: an API key, an SQS action. */
  headers?: Record<string, string>;
}

/**
 * autocannon's latency percentiles of one run, ms, from the start of a
 * request to the end of its response. Whole milliseconds: its histogram
 * records each time rounded down to one.
 */
export interface Latency {
  p50: number;
  p99: number;
}

function bodyOptions(body: LoadSpec['body']): Pick<autocannon.Options, 'body' | 'requests'> {
  if (typeof body === 'string') return { body };
  // autocannon rebuilds a request that has a setupRequest before each send.
  return { requests: [{ setupRequest: (request) => ({ ...request, body: body() }) }] };
}

async function blast(spec: LoadSpec, seconds: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    ...bodyOptions(spec.body),
    headers: { 'content-type': 'application/json', ...spec.headers },
    connections: spec.connections,
    duration: seconds,
  });
  // A rate that includes failures measures the error path, not the one under test.
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(
      `${spec.method} ${spec.url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`,
    );
  }
  return result;
}

/**
 * A side of an alternating comparison (rounds.ts): completed requests per
 * second, times `perRequest` (messages per request), of an autocannon run at
 * `spec.connections` concurrent keep-alive connections, each run under
 * `meter`; `latencies`, when given, gets each run's latency percentiles, in
 * run order (alternate's warm-up first). Each run opens its own connections,
 * so a server left idle between rounds is not a concern.
 */
export function loadSide(spec: LoadSpec, perRequest = 1, meter: Meter = unmetered, latencies?: Latency[]): Side {
  return async (seconds) => {
    const run = await meter.during(async () => {
      const result = await blast(spec, seconds);
      latencies?.push({ p50: result.latency.p50, p99: result.latency.p99 });
      return { handled: result.requests.total * perRequest, seconds: result.duration };
    });
    return run.handled / run.seconds;
  };
}
