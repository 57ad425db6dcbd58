import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { type ApiKey, generateKey } from '../../api/keys';
import { listen } from '../../api/listen';
import { parseScope } from '../../api/scopes';
import type { Spec } from '../../api/spec';
import type { Limits } from '../../queue/limits';
import { DatabaseWatch } from './fuzzDatabase';
import { LiveState } from './fuzzLive';
import { Oracle } from './fuzzOracle';
import type { ServerProbe, TransportOptions } from './fuzzTransport';
import { disposeTestGateway, type TestGateway, testGateway } from './testGateway';

/**
 * Limits smaller than the defaults, so that bodies past them stay cheap to
 * send: the limit checks are the same code whatever the numbers.
 */
export const FUZZ_LIMITS: Limits = {
  maxMessageBytes: 16 * 1024,
  maxBatchMessages: 50,
  maxBatchBytes: 128 * 1024,
  maxWaitMs: 20_000,
  maxReplyWaitMs: 20_000,
  maxBodyBytesInFlight: 256 * 1024 * 1024,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
  clockSkewMs: 0,
  streamHeartbeatMs: 15_000,
};

/** The fixtures' names; generators use them anywhere a name goes, so every kind of name meets every other. */
export const FIXTURE_NAMES = ['orders', 'orders-dlq', 'jobs', 'push-source', 'payments', 'ledger', 'workers', 'fraud-check', 'billing-hook'];

/** Longest a fuzz request may go unanswered (a long-poll included, the clock is moved for it). */
const DEADLINE_MS = 5000;
/** A pause answers once attempts in progress end: to a dead target, within milliseconds. */
const PAUSE_PATIENCE_MS = 1000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A key of the gateway under test: the token a client sends, and the record the gateway keeps. */
function apiKey(name: string, scopes: string[]): { token: string; record: ApiKey } {
  const { key, id, hash } = generateKey();
  return { token: key, record: { id, name, hash, scopes: scopes.map(parseScope), limits: {} } };
}

/** An http URL on 127.0.0.1 where nothing listens: pushes to it fail at once, never leaving the machine. */
async function deadTarget(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/hook`;
}

/**
 * The gateway under fuzz: the app of testGateway() (manual clock, the run's
 * backend) on a real socket, a view of its database from a connection of
 * its own, what the test knows of its resources, and the fixtures.
 */
export class FuzzTarget {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** How often the clock was moved to end a long-poll. */
  clockMoves = 0;
  private readonly sockets = new Map<number, Socket>();
  private readonly exchanges = new Map<number, { req: IncomingMessage; res: ServerResponse }>();
  /** Responses the gateway has not finished (or abandoned) yet. */
  private readonly open = new Set<ServerResponse>();
  private requestsSeen = 0;

  private constructor(
    readonly live: LiveState,
    readonly gateway: TestGateway,
    readonly server: Server,
    readonly port: number,
    readonly db: DatabaseWatch,
    readonly oracle: Oracle,
    readonly deadTarget: string,
  ) {
    server.on('connection', (socket: Socket) => {
      const clientPort = socket.remotePort;
      if (clientPort === undefined) return;
      this.sockets.set(clientPort, socket);
      socket.once('close', () => {
        this.sockets.delete(clientPort);
        this.exchanges.delete(clientPort);
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.requestsSeen += 1;
      const clientPort = req.socket.remotePort;
      if (clientPort !== undefined) this.exchanges.set(clientPort, { req, res });
      this.open.add(res);
      res.once('close', () => this.open.delete(res));
    });
  }

  /**
   * With API keys, so that authentication and scopes are fuzzed too: one key
   * may do anything, one only produce to queues/orders* and consume from
   * topics/payments.
   */
  static async start(spec: Spec): Promise<FuzzTarget> {
    const target = await deadTarget();
    const admin = apiKey('fuzz-admin', ['*:*']);
    const narrow = apiKey('fuzz-narrow', ['produce:queues/orders*', 'consume:topics/payments']);
    const live = new LiveState(FIXTURE_NAMES, { admin: admin.token, narrow: narrow.token });
    const gateway = testGateway({ limits: FUZZ_LIMITS, targets: { allowedHosts: [new URL(target).host] }, keys: [admin.record, narrow.record] });
    // The gateway's own server: HTTP the parser refuses is answered as the gateway answers it.
    const server = await listen(gateway.app, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    return new FuzzTarget(live, gateway, server, port, await DatabaseWatch.open(gateway), new Oracle(spec), target);
  }

  get probe(): ServerProbe {
    return {
      requests: () => this.requestsSeen,
      bytesRead: (clientPort) => this.sockets.get(clientPort)?.bytesRead ?? null,
      exchange: (clientPort) => this.exchanges.get(clientPort) ?? null,
    };
  }

  transportOptions(): TransportOptions {
    return {
      port: this.port,
      agent: this.agent,
      probe: this.probe,
      deadlineMs: DEADLINE_MS,
      onPending: (waited) => this.endLongPolls(waited),
    };
  }

  /** A request that waits on the manual clock (a long-poll, a request–reply call) waits forever: move the clock past any wait. */
  private endLongPolls(waited: number): void {
    if (waited < 3 || this.gateway.wakeups.waiting + this.gateway.replies.waiting === 0) return;
    this.gateway.clock.advance(Math.max(FUZZ_LIMITS.maxWaitMs, FUZZ_LIMITS.maxReplyWaitMs) + 1);
    this.clockMoves += 1;
  }

  /** Waits until the gateway has finished every request it got: only then is what it stored final. */
  async quiet(): Promise<boolean> {
    // A stream's work goes on a moment after its connection closed: a queue stream gives back the leases it took.
    for (let i = 0; i < 2000 && this.open.size + this.gateway.metrics.openStreams > 0; i++) {
      this.endLongPolls(10);
      await delay(1);
    }
    return this.open.size + this.gateway.metrics.openStreams === 0;
  }

  /** Null when /healthz answers 200 {status: ok}, else what it did. */
  async health(): Promise<string | null> {
    try {
      const { status, body } = await this.call('GET', '/healthz', undefined, false);
      return status === 200 && (body as { status?: unknown } | null)?.status === 'ok' ? null : `/healthz answered ${status} ${JSON.stringify(body)}`;
    } catch (error) {
      return `/healthz failed: ${String(error)}`;
    }
  }

  /**
   * A request of the test itself (fixtures, pausing pushes): JSON in and out,
   * learned from like a fuzz request. Anything but a 2xx throws, when `strict`.
   */
  async call(method: string, path: string, body?: unknown, strict = true, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const headers: Record<string, string> = { Authorization: this.live.adminAuthorization };
    if (payload !== undefined) Object.assign(headers, { 'Content-Type': contentType, 'Content-Length': String(payload.length) });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.setTimeout(DEADLINE_MS, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      parsed = answer.text;
    }
    if (strict && (answer.status < 200 || answer.status >= 300)) throw new Error(`fixture request ${method} ${path} answered ${answer.status} ${answer.text}`);
    const route = this.oracle.match(method, path);
    if (route !== null && answer.status < 300) this.live.learn(route.op.operation.operationId, route.params, answer.status, parsed);
    return { status: answer.status, body: parsed };
  }

  /**
   * Push subscriptions deliver in the background, which would change the
   * database between a request and its check. Every one a request started is
   * paused at once (pausing waits for its attempts to end), then the database
   * is let settle. Returns what went wrong: a pause must answer at once, and
   * one that waits on the clock is only ended by moving the clock.
   */
  async pauseRunningPushes(): Promise<string[]> {
    const problems: string[] = [];
    const running = await this.db.runningPushes();
    if (running.length === 0) return problems;
    for (const name of running) {
      const path = `/v1/push-subscriptions/${encodeURIComponent(name)}/pause`;
      const pausing = this.call('POST', path, undefined, false);
      if ((await Promise.race([pausing.then(() => true), delay(PAUSE_PATIENCE_MS).then(() => false)])) === false) {
        problems.push(`POST ${path} had no answer after ${PAUSE_PATIENCE_MS} ms; it answered only once the clock was moved past the retry backoff`);
        await this.whileMovingClock(pausing);
      }
      const { status, body } = await pausing;
      if (status !== 200) problems.push(`POST ${path} answered ${status} ${JSON.stringify(body)}`);
    }
    await this.settle();
    return problems;
  }

  /** Waits for `work`, moving the manual clock by an hour at a time: whatever waits on it (a retry, a long-poll) ends. */
  private async whileMovingClock<T>(work: Promise<T>): Promise<T> {
    let done = false;
    void work.finally(() => {
      done = true;
    });
    for (let i = 0; i < 1000 && !done; i++) {
      this.gateway.clock.advance(60 * 60 * 1000);
      this.clockMoves += 1;
      await delay(5);
    }
    return work;
  }

  /**
   * Waits until the database has not changed for a few polls. Changed, not
   * committed: on PostgreSQL other test files' commits move the version too.
   */
  private async settle(): Promise<void> {
    let seen = await this.db.fingerprint();
    for (let stable = 0, i = 0; stable < 3 && i < 500; i++) {
      await delay(2);
      const now = await this.db.fingerprint();
      stable = DatabaseWatch.changed(seen, now).length === 0 ? stable + 1 : 0;
      seen = now;
    }
  }

  /** Deletes everything (dead-letter references first), then makes the fixtures again. */
  async rebuildFixtures(): Promise<void> {
    await this.wipe();
    this.live.resetResources();
    const put = (path: string, body: unknown = {}) => this.call('PUT', path, body);
    const post = (path: string, body?: unknown) => this.call('POST', path, body);
    await put('/v1/queues/orders-dlq');
    await put('/v1/queues/orders', { deadLetterQueue: 'orders-dlq', maxDeliveries: 2 });
    await put('/v1/queues/jobs', { visibilityTimeoutMs: 60_000 });
    await put('/v1/queues/push-source');
    await put('/v1/topics/payments', { partitions: 3 });
    await put('/v1/topics/payments/groups/ledger', { resetPolicy: 'earliest' });
    await put('/v1/topics/payments/subscriptions/fraud-check', { startAt: 'earliest', deadLetterQueue: 'orders-dlq', maxDeliveries: 3 });
    await post('/v1/queues/orders/messages', {
      messages: [{ value: { order: 4711 }, key: 'c-7', headers: { source: 'shop' } }, { value: 'hello', valueEncoding: 'text' }, { value: 'aGk=', valueEncoding: 'base64' }],
    });
    await this.call('POST', '/v1/queues/orders/messages', '<?xml version="1.0"?><soap:Envelope/>', true, 'text/xml; charset=utf-8');
    await post('/v1/queues/jobs/messages', { messages: [{ value: 1 }, { value: 2, delayMs: 60_000 }] });
    await post('/v1/topics/payments/messages', {
      messages: [{ key: 'c-7', value: { amount: 12 } }, { key: 'c-7', value: { amount: 30 } }, { key: 'c-9', value: 5 }, { partition: 2, value: 1 }, { value: null }],
    });
    await post('/v1/queues/orders/fetch', { max: 2 });
    await post('/v1/topics/payments/subscriptions/fraud-check/fetch', { max: 2 });
    await post('/v1/topics/payments/groups/workers/members');
    await post('/v1/topics/payments/groups/ledger/fetch', { max: 5 });
    await post('/v1/topics/payments/groups/ledger/commit', {});
    await put('/v1/push-subscriptions/billing-hook', { source: { queue: 'push-source' }, url: this.deadTarget, deadLetterQueue: 'orders-dlq' });
    const problems = await this.pauseRunningPushes();
    if (problems.length > 0) throw new Error(`pausing the fixture push subscription: ${problems.join('; ')}`);
  }

  private async wipe(): Promise<void> {
    const names = (body: unknown, key: string): Array<{ name: string; deadLetterQueue?: unknown }> =>
      ((body as Record<string, unknown> | null)?.[key] as Array<{ name: string; deadLetterQueue?: unknown }> | undefined) ?? [];
    const path = (kind: string, name: string) => `/v1/${kind}/${encodeURIComponent(name)}`;
    for (const push of names((await this.call('GET', '/v1/push-subscriptions')).body, 'pushSubscriptions')) await this.call('DELETE', path('push-subscriptions', push.name));
    for (const topic of names((await this.call('GET', '/v1/topics')).body, 'topics')) await this.call('DELETE', path('topics', topic.name));
    const queues = names((await this.call('GET', '/v1/queues')).body, 'queues');
    for (const queue of queues) if (queue.deadLetterQueue !== null) await this.call('PUT', path('queues', queue.name), {});
    for (const queue of queues) await this.call('DELETE', path('queues', queue.name));
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.db.close();
    // A push runner stuck waiting on the clock would hold the shutdown.
    await this.whileMovingClock(disposeTestGateway(this.gateway));
  }
}
