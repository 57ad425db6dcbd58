/**
 * What became of one request: answered (status and parsed body), or lost —
 * the connection died before a whole answer arrived, so the request may or
 * may not have taken effect.
 */
export type Outcome = { answered: true; status: number; body: unknown } | { answered: false; error: string };

/** Problem bodies carry a stable code; anything else has none. */
export function problemCode(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('code' in body)) return null;
  const { code } = body as { code: unknown };
  return typeof code === 'string' ? code : null;
}

/**
 * A client of one gateway process (one round). It counts requests in flight,
 * so the kill can be timed to land while some are, and it tells a request
 * lost to the kill from one that failed while the gateway was still up (a
 * bug: the gateway must answer every request it accepted).
 */
export class GatewayClient {
  private inFlightNow = 0;
  private killed = false;
  private busyWaiters: Array<() => void> = [];
  /** Requests that failed before the kill, with why. */
  readonly failuresBeforeKill: string[] = [];

  constructor(readonly url: string) {}

  get inFlight(): number {
    return this.inFlightNow;
  }

  /** Called just before SIGKILL: from now on a failed request is expected. */
  markKilled(): void {
    this.killed = true;
  }

  /** Resolves at once if a request is in flight, else when the next one starts. */
  whenBusy(): Promise<void> {
    if (this.inFlightNow > 0) return Promise.resolve();
    return new Promise((resolve) => this.busyWaiters.push(resolve));
  }

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Outcome> {
    this.started();
    try {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // The body is part of the answer: a status line without its body is no answer at all.
      const text = await res.text();
      return { answered: true, status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
    } catch (error) {
      const why = `${method} ${path}: ${describeError(error)}`;
      if (!this.killed) this.failuresBeforeKill.push(why);
      return { answered: false, error: why };
    } finally {
      this.inFlightNow -= 1;
    }
  }

  private started(): void {
    this.inFlightNow += 1;
    const waiters = this.busyWaiters;
    this.busyWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** fetch wraps socket errors in `fetch failed`; the cause says what happened. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
