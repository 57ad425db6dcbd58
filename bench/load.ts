import autocannon from 'autocannon';

/** One kind of request, sent over and over by autocannon. */
export interface LoadSpec {
  url: string;
  method: 'POST' | 'PUT';
  /** JSON text, serialized once up front so the load generator spends its core on sending. */
  body: string;
  connections: number;
}

export interface LoadTiming {
  seconds: number;
  warmupSeconds: number;
}

async function blast(spec: LoadSpec, seconds: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    body: spec.body,
    headers: { 'content-type': 'application/json' },
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
 * Completed requests per second at `connections` concurrent keep-alive
 * connections, after an unmeasured warm-up (JIT, SQLite page cache, sockets).
 */
export async function requestsPerSecond(spec: LoadSpec, timing: LoadTiming): Promise<number> {
  await blast(spec, timing.warmupSeconds);
  const result = await blast(spec, timing.seconds);
  return result.requests.total / result.duration;
}
