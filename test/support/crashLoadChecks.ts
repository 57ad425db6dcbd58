import type { GatewayClient } from './crashLoadHttp';
import { problemCode } from './crashLoadHttp';
import type { GroupLedger, Ledger } from './crashLoadLedger';
import type { StoreSnapshot } from './crashLoadStore';
import { TOPIC, type WorkerContext, leaseMessages, settleLeases } from './crashLoadWorkers';

/** (4) The files are consistent as the crash left them. */
function checkIntegrity(ledger: Ledger, store: StoreSnapshot, when: string): void {
  if (store.integrity !== 'ok') ledger.violation(`${when}: integrity_check says ${store.integrity}`);
  if (store.foreignKeyViolations > 0) ledger.violation(`${when}: ${store.foreignKeyViolations} rows fail foreign_key_check`);
}

/**
 * (1) and (2) for the queues: every 2xx-produced message is still stored, or
 * an ack of it returned `acked` (or got no answer, and so may have taken
 * effect); a message whose ack returned `acked` is not stored; and nothing is
 * stored that was never produced.
 */
function checkQueues(ledger: Ledger, store: StoreSnapshot, when: string): void {
  const { queue } = ledger;
  const stored = new Set<string>();
  for (const [id, value] of store.queues) {
    stored.add(value);
    if (!queue.attempted.has(value)) ledger.violation(`${when}: a queue holds '${value}', which was never produced`);
    ledger.queueId(value, id, when);
    const acked = queue.acked.get(value);
    if (acked !== undefined) {
      ledger.violation(`${when}: '${value}' is still stored, but its ack (delivery ${acked.deliveryCount}) returned acked`);
    }
  }
  for (const value of queue.produced) {
    if (!stored.has(value) && !queue.acked.has(value) && !queue.ackInDoubt.has(value)) {
      ledger.violation(`${when}: '${value}' was produced (2xx) and never acked, but is gone`);
    }
  }
}

/**
 * (1) for the topic: every 2xx-produced message is at the partition and
 * offset its produce answered; no slot holds a value it did not hold before;
 * and no value is stored twice, although produces cut off by the kill were
 * sent again (with their Idempotency-Key).
 */
function checkTopic(ledger: Ledger, store: StoreSnapshot, when: string): void {
  const copies = new Map<string, number>();
  for (const [slot, value] of store.topic) {
    const [partition, offset] = slot.split(':').map(Number);
    if (!ledger.topic.attempted.has(value)) ledger.violation(`${when}: topic holds '${value}', which was never produced`);
    ledger.topicSlot(partition, offset, value, when);
    copies.set(value, (copies.get(value) ?? 0) + 1);
  }
  for (const [value, count] of copies) if (count > 1) ledger.violation(`${when}: '${value}' is stored ${count} times in the topic`);
  for (const [value, { partition, offset }] of ledger.topic.produced) {
    const found = store.topic.get(`${partition}:${offset}`);
    if (found !== value) {
      ledger.violation(`${when}: '${value}' was produced (2xx) at ${partition}:${offset}, which holds ${found ?? 'nothing'}`);
    }
  }
}

/** Every check of the files a crash (or the final shutdown) left. */
export function checkStore(ledger: Ledger, store: StoreSnapshot, when: string): void {
  checkIntegrity(ledger, store, when);
  checkQueues(ledger, store, when);
  checkTopic(ledger, store, when);
}

interface Described {
  generation: number;
  partitions: Array<{ partition: number; committed: number | null }>;
}

/** (3) After a restart, each committed offset is at least the highest one answered before the crash. */
function checkDescribed(ledger: Ledger, group: GroupLedger, described: Described, when: string): void {
  if (described.generation < group.maxGeneration) {
    ledger.violation(`${when}: group ${group.name} is in generation ${described.generation}, below ${group.maxGeneration} answered before`);
  }
  group.maxGeneration = Math.max(group.maxGeneration, described.generation);
  for (const { partition, committed } of described.partitions) {
    const floor = group.floor.get(partition);
    if (floor !== undefined && (committed === null || committed < floor)) {
      ledger.violation(
        `${when}: group ${group.name} partition ${partition} committed ${String(committed)}, below ${floor} committed before`,
      );
    }
    if (committed !== null) group.floor.set(partition, Math.max(floor ?? 0, committed));
  }
}

export async function checkGroups(client: GatewayClient, ledger: Ledger, when: string): Promise<void> {
  for (const group of ledger.groups) {
    const outcome = await client.send('GET', `/v1/topics/${TOPIC}/groups/${group.name}`);
    if (!outcome.answered || outcome.status !== 200) {
      const why = outcome.answered ? `${outcome.status} ${problemCode(outcome.body)}` : outcome.error;
      ledger.violation(`${when}: describe of group ${group.name} failed: ${why}`);
      continue;
    }
    checkDescribed(ledger, group, outcome.body as Described, when);
  }
}

interface QueueView {
  stats: { ready: number; inFlight: number; delayed: number };
}

async function queueBacklog(client: GatewayClient, queue: string): Promise<number | null> {
  const outcome = await client.send('GET', `/v1/queues/${queue}`);
  if (!outcome.answered || outcome.status !== 200) return null;
  const { stats } = outcome.body as QueueView;
  return stats.ready + stats.inFlight + stats.delayed;
}

const DRAIN_WAIT_MS = 5000;
/** Leases cut off by the last kill run out within 1.5 s: three long-polls in a row with nothing is a stuck message. */
const DRAIN_IDLE_FETCHES = 3;

/** Leases a batch for a minute and acks it; returns how many messages came. */
async function drainOnce(ctx: WorkerContext, queue: string): Promise<number | null> {
  const leases = await leaseMessages(ctx, queue, { max: 1000, waitMs: DRAIN_WAIT_MS, visibilityTimeoutMs: 60_000 });
  if (leases === null) {
    ctx.ledger.violation(`drain: a fetch from ${queue} got no answer, or a wrong one`);
    return null;
  }
  if (leases.leased.length > 0) await settleLeases(ctx, leases, 'ack');
  return leases.leased.length;
}

/**
 * At the end: fetch and ack everything left, leases cut off by the last crash
 * included (the long-poll returns when they run out), until the queue is
 * empty. Every message that was ever promised then has an ack that returned
 * `acked`, or one that got no answer and took effect.
 */
export async function drainQueue(ctx: WorkerContext, queue: string, maxFetches: number): Promise<void> {
  let idle = 0;
  for (let i = 0; i < maxFetches && idle < DRAIN_IDLE_FETCHES; i += 1) {
    const backlog = await queueBacklog(ctx.client, queue);
    if (backlog === 0) return;
    const drained = await drainOnce(ctx, queue);
    if (drained === null) return;
    idle = drained === 0 ? idle + 1 : 0;
  }
  ctx.ledger.violation(`drain: ${queue} still has ${String(await queueBacklog(ctx.client, queue))} messages no fetch returns`);
}
