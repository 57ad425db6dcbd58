import { setTimeout as delay } from 'node:timers/promises';
import { type ChildGateway, startChildGateway } from './childGateway';
import { checkAnswered, checkStore } from './crashLoadChecks';
import type { PendingProduce } from './crashLoadLedger';
import { Ledger } from './crashLoadLedger';
import { OutageClient, readPostgresStore } from './crashLoadPostgres';
import { rngFor } from './crashLoadRandom';
import { type WorkerContext, leaseMessages, sendProduce, settleLeases } from './crashLoadWorkers';

/**
 * The load of test/postgres-failover.test.ts: producers and consumers of one
 * queue spread over gateway processes that share one PostgreSQL database,
 * recorded in the crash harness's ledger (crashLoadLedger.ts) so that its
 * checks apply: every produce answered 2xx is stored until an ack of it
 * answered `acked`, nothing acked is delivered again, no lease is handed out
 * twice. A produce without an answer (its gateway died) or answered
 * `503 storage_unavailable` while the database fails over is sent again with
 * its Idempotency-Key, as a client should.
 */

export const QUEUE = 'work';
/** The ledger's checks read a topic too; this load has none. */
const NO_TOPIC = 'no-topic';
/** Messages per produce. */
const BATCH = { min: 1, max: 5 };
/** Messages a consumer fetches at once. */
const FETCH_MAX = 10;
/** A fetch waits this long for messages when there are none. */
const FETCH_WAIT_MS = 200;
/** The pause before sending again a request that got no answer or a 503: a client's backoff, shorter than Retry-After. */
const RETRY_MS = 100;
/** A produce still without a 2xx answer this long after it was first sent is a finding. */
const PRODUCE_GIVE_UP_MS = 30_000;

/** A gateway process over the database, its client, and what it logged. */
export interface LoadedGateway {
  index: number;
  process: ChildGateway;
  client: OutageClient;
  /** Lines of its log that tell of a fault: an internal error, a request answered 500. */
  faults(): string[];
}

/** Starts `count` gateway processes over the store at `url`, on one data dir (unused with a store: flags want one). */
export async function startGateways(count: number, dataDir: string, url: string): Promise<LoadedGateway[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const process = await startChildGateway(dataDir, ['--store', url]);
      let log = '';
      process.process.stderr?.on('data', (chunk: string) => (log += chunk));
      const faults = (): string[] =>
        log
          .split('\n')
          .filter((line) => line.includes('"code":"internal_error"') || (line.includes('"msg":"request"') && line.includes('"status":500')));
      return { index, process, client: new OutageClient(process.url), faults };
    }),
  );
}

/** One delivery: which gateway gave it, and when the fetch was sent and answered (ms since the epoch). */
export interface Delivery {
  value: string;
  gateway: number;
  deliveryCount: number;
  sentAt: number;
  answeredAt: number;
}

/** What a load did, beyond the ledger: the deliveries by gateway, and the sending again. */
export class LoadRecord {
  readonly ledger = new Ledger([]);
  readonly deliveries: Delivery[] = [];
  /** Produces sent again after no answer or a 503. */
  produceRetries = 0;
  /** Values of produces sent at all: the budget of the load. */
  produceBudget: number;

  constructor(maxMessages: number) {
    this.produceBudget = maxMessages;
  }
}

/** What decides where a worker's next request goes, and when it stops. */
export interface Worker {
  /** The gateway for the next request: a producer whose gateway died goes to another. */
  gateway: () => LoadedGateway;
  /** True once no new produce or fetch should start. */
  stopping: () => boolean;
}

/** A context for the crash harness's helpers, all in its round 0 (they draw nothing from `rng`). */
function context(record: LoadRecord, gateway: LoadedGateway, worker: number, stopping: () => boolean): WorkerContext {
  return { client: gateway.client, ledger: record.ledger, rng: rngFor(worker), round: 0, worker, stopping };
}

/**
 * Produces batches of unique values, each with its own Idempotency-Key, until
 * `stopping` or the budget is spent. A batch without a 2xx answer is sent
 * again, same key, until it has one: through `worker.gateway()`, which may
 * be another gateway by then.
 */
export async function produceLoop(record: LoadRecord, worker: Worker, id: number, seed: number): Promise<void> {
  const rng = rngFor(seed, id);
  for (let batch = 0; !worker.stopping(); batch += 1) {
    const count = Math.min(rng.int(BATCH.min, BATCH.max), record.produceBudget);
    if (count === 0) return;
    record.produceBudget -= count;
    const values = Array.from({ length: count }, (_, i) => `p${id}-${batch}-${i}`);
    for (const value of values) record.ledger.queue.attempted.add(value);
    const request: PendingProduce = {
      path: `/v1/queues/${QUEUE}/messages`,
      idempotencyKey: `p${id}-${batch}`,
      body: { messages: values.map((value) => ({ value, valueEncoding: 'text' })) },
      values,
    };
    await produceUntilAnswered(record, worker, id, request);
  }
}

async function produceUntilAnswered(record: LoadRecord, worker: Worker, id: number, request: PendingProduce): Promise<void> {
  const { pending } = record.ledger.queue;
  const giveUpAt = Date.now() + PRODUCE_GIVE_UP_MS;
  for (let attempt = 0; ; attempt += 1) {
    await sendProduce(context(record, worker.gateway(), id, worker.stopping), 'queue', request, attempt > 0);
    const unanswered = pending.indexOf(request);
    if (unanswered === -1) return;
    pending.splice(unanswered, 1);
    if (Date.now() > giveUpAt) {
      record.ledger.violation(`produce ${request.idempotencyKey} had no 2xx answer in ${PRODUCE_GIVE_UP_MS} ms of sending it again`);
      return;
    }
    record.produceRetries += 1;
    await delay(RETRY_MS);
  }
}

export interface ConsumerOptions {
  visibilityTimeoutMs: number;
  /** How long a consumer holds what it fetched before acking it: its work. */
  holdMs: number;
  /** When true, a consumer drops what it holds and stops (its client went down with its gateway). */
  gone: () => boolean;
}

/** Fetches from QUEUE through one gateway and acks what came, until `stopping` (or `gone`); each delivery recorded. */
export async function consumeLoop(record: LoadRecord, gateway: LoadedGateway, id: number, stopping: () => boolean, options: ConsumerOptions): Promise<void> {
  const ctx = context(record, gateway, id, stopping);
  while (!stopping() && !options.gone()) {
    const sentAt = Date.now();
    const leases = await leaseMessages(ctx, QUEUE, { max: FETCH_MAX, waitMs: FETCH_WAIT_MS, visibilityTimeoutMs: options.visibilityTimeoutMs });
    const answeredAt = Date.now();
    if (leases === null) {
      await delay(RETRY_MS);
      continue;
    }
    for (const { value, message } of leases.leased) {
      record.deliveries.push({ value, gateway: gateway.index, deliveryCount: message.deliveryCount, sentAt, answeredAt });
    }
    if (leases.leased.length === 0) continue;
    if (options.holdMs > 0) await delay(options.holdMs);
    if (options.gone()) return;
    await settleLeases(ctx, leases, 'ack');
  }
}

/** Consumes through `gateway` until every message of QUEUE is acked, as a last consumer would: leases that ran out come back to it. */
export async function drain(record: LoadRecord, gateway: LoadedGateway, visibilityTimeoutMs: number, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  let backlogEmpty = false;
  const stopping = (): boolean => Date.now() > deadline || backlogEmpty;
  const watch = (async () => {
    while (!stopping()) {
      const outcome = await gateway.client.send('GET', `/v1/queues/${QUEUE}`);
      if (outcome.answered && outcome.status === 200) {
        const { stats } = outcome.body as { stats: { ready: number; inFlight: number; delayed: number } };
        backlogEmpty = stats.ready + stats.inFlight + stats.delayed === 0;
      }
      if (!backlogEmpty) await delay(FETCH_WAIT_MS);
    }
  })();
  await consumeLoop(record, gateway, 1000, stopping, { visibilityTimeoutMs, holdMs: 0, gone: () => false });
  await watch;
  if (!backlogEmpty) record.ledger.violation(`the queue still had messages ${withinMs} ms into the drain`);
}

/** What the checks found and counted, for the test's assertions and its summary line. */
export interface LoadOutcome {
  violations: string[];
  /** Values answered 2xx that were never delivered and are not stored: acknowledged, then lost. */
  lost: number;
  produced: number;
  deliveries: number;
  redeliveries: number;
  produceRetries: number;
  faults: string[];
}

/**
 * The ledger's checks of the database as the load left it (read at
 * `databaseUrl`: it must be drained), then: nothing stored is left, nothing
 * answered 2xx was lost, no gateway logged a fault, no request failed on a
 * gateway that was up.
 */
export async function checkLoad(record: LoadRecord, gateways: LoadedGateway[], databaseUrl: string): Promise<LoadOutcome> {
  const { ledger } = record;
  const store = await readPostgresStore(databaseUrl, [QUEUE], NO_TOPIC);
  checkStore(ledger, store, 'after the drain');
  if (store.queues.size > 0) ledger.violation(`after the drain the queue still holds ${store.queues.size} messages`);
  for (const gateway of gateways) checkAnswered(ledger, gateway.client, `gateway ${gateway.index}`);
  const storedValues = new Set(store.queues.values());
  const lost = [...ledger.queue.produced].filter((value) => !ledger.queue.maxDelivery.has(value) && !storedValues.has(value)).length;
  return {
    violations: ledger.violations,
    lost,
    produced: ledger.queue.produced.size,
    deliveries: record.deliveries.length,
    redeliveries: record.deliveries.filter((delivery) => delivery.deliveryCount > 1).length,
    produceRetries: record.produceRetries,
    faults: gateways.flatMap((gateway) => gateway.faults().map((line) => `gateway ${gateway.index}: ${line}`)),
  };
}
