import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { type Meter, unmetered } from '../cpuMeter';
import { withFreshGateway } from '../gateway';
import { JsonClient } from '../httpClient';
import { runLoops } from '../loops';
import { PREFILL_CONNECTIONS, topUp } from '../prefill';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow, type Side, tracked } from '../rounds';
import type { RoundTiming } from '../settings';
import { batchProduceSide } from './produceBatch';

/** Consumer loops over one queue, each fetching up to `batch` messages and acking them all. */
export interface Consumers {
  queue: string;
  loops: number;
  batch: number;
}

/** The consumers of (c). */
export const CONSUMERS: Consumers = { queue: 'bench', loops: 8, batch: 100 };
/**
 * Where the baseline's produce rounds write: in the consumers' queue they
 * would decide how much the consumers find, not the prefill.
 */
const PRODUCE_QUEUE = 'bench-produce';
/**
 * Ready messages at the start of a consume run, as a multiple of what the
 * latest produce round stored in the same time: a consumer as fast as the
 * producer still finds messages until the end. Only what the previous run
 * took is added again, so a large headroom is paid for once.
 */
const HEADROOM = 1;
/**
 * (c-pg): ready messages at the start of a consume run, per second of the
 * run, as a multiple of the side's own latest rate; before its first run,
 * FIRST_RATE. A run that drains the queue still measures a rate (over a fixed
 * count), which sizes the next one.
 */
export const OWN_HEADROOM = 1.5;
export const FIRST_RATE = 20_000;
const SCENARIO = `fetch+ack ${CONSUMERS.batch}, ${CONSUMERS.loops} consumers`;

interface FetchResponse {
  messages: Array<{ receipt: string }>;
}

interface AckResponse {
  results: Array<{ status: string }>;
}

/** What a consume side did around its measurements, for the notes. */
export interface ConsumeLog {
  runs: number;
  drainedRuns: number;
  prefilled: number;
  prefillSeconds: number;
}

export const emptyConsumeLog = (): ConsumeLog => ({ runs: 0, drainedRuns: 0, prefilled: 0, prefillSeconds: 0 });

/** POST /v1/queues/{queue}/fetch with `fetchBody`: the receipts of the messages leased. */
export async function fetchReceipts(client: JsonClient, queue: string, fetchBody: string): Promise<string[]> {
  const { messages } = await client.send<FetchResponse>('POST', `/v1/queues/${queue}/fetch`, fetchBody);
  return messages.map((message) => message.receipt);
}

/** POST /v1/queues/{queue}/ack of `receipts`, every one of which must be acked. */
export async function ackAll(client: JsonClient, queue: string, receipts: string[]): Promise<void> {
  const { results } = await client.send<AckResponse>('POST', `/v1/queues/${queue}/ack`, JSON.stringify({ receipts }));
  // A message that was not acked would be delivered again and counted twice.
  const notAcked = results.filter((result) => result.status !== 'acked');
  if (notAcked.length > 0) throw new Error(`ack refused ${notAcked.length} receipts: ${JSON.stringify(notAcked[0])}`);
}

/** One step of a consumer: fetch up to a batch and ack every receipt; an empty fetch means the queue is drained. */
async function fetchAndAck(client: JsonClient, consumers: Consumers, fetchBody: string): Promise<number | 'exhausted'> {
  const receipts = await fetchReceipts(client, consumers.queue, fetchBody);
  if (receipts.length === 0) return 'exhausted';
  await ackAll(client, consumers.queue, receipts);
  return receipts.length;
}

/**
 * The consume side: tops the queue up (unmeasured) to `ceiling()` messages
 * per second times the run's seconds, then consumes for those seconds under `meter`.
 */
export function consumeSide(url: string, consumers: Consumers, ceiling: () => number, log: ConsumeLog, meter: Meter = unmetered): Side {
  const fetchBody = JSON.stringify({ max: consumers.batch, waitMs: 0 });
  return async (seconds) => {
    // New connections per run: the last run's sat idle through a produce round, past the keep-alive timeout.
    const client = new JsonClient(url, Math.max(consumers.loops, PREFILL_CONNECTIONS));
    try {
      const prefillStart = performance.now();
      log.prefilled += await topUp(client, consumers.queue, ceiling() * seconds);
      log.prefillSeconds += (performance.now() - prefillStart) / 1000;
      // Acked messages per second; a drained queue ends the run early.
      const { rate, exhausted } = await meter.during(() => runLoops(consumers.loops, seconds, () => fetchAndAck(client, consumers, fetchBody)));
      log.runs += 1;
      if (exhausted) log.drainedRuns += 1;
      return rate;
    } finally {
      client.close();
    }
  };
}

/** The note on how often a consume side found its queue empty. */
export function drainedNote(log: ConsumeLog): string {
  return log.drainedRuns === 0
    ? 'the queue never ran dry'
    : `the queue ran dry in ${log.drainedRuns} of ${log.runs} consume runs (warm-up included): those measured until it did (a fixed count)`;
}

/**
 * (c) Consumption over HTTP, several consumer loops each fetching up to 100
 * and acking them all, against the gateway's own batch produce rate as in
 * (b): taking messages out must keep up with putting them in. Produce and
 * consume rounds take turns against one gateway process, so both see the
 * same machine load and the same database.
 */
export async function consume(timing: RoundTiming): Promise<Row> {
  const log = emptyConsumeLog();
  const alternation = await withFreshGateway([CONSUMERS.queue, PRODUCE_QUEUE], (url) => {
    const produce = tracked(batchProduceSide(url, PRODUCE_QUEUE));
    return alternate(timing, produce.side, consumeSide(url, CONSUMERS, () => produce.latest() * HEADROOM, log));
  });
  return alternatingRow(
    {
      scenario: `(c) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.5),
      notes: [
        `baseline: the gateway's batch produce as in (b), into another queue of the same gateway process, taking turns with the consumers`,
        `before each consume run the queue was topped up to the latest produce round's rate x run time (${log.prefilled.toLocaleString('en-US')} x 1 KB in ${log.prefillSeconds.toFixed(1)} s in all)`,
        drainedNote(log),
      ],
    },
    timing,
    alternation,
  );
}

/**
 * (c-pg) The consumers of (c) on a gateway storing in PostgreSQL against the
 * same on one storing in SQLite. Each side tops its queue up before each run
 * from its own latest rate (OWN_HEADROOM).
 */
export async function consumePostgres(timing: RoundTiming, postgres: Backend): Promise<Row> {
  const logs = { SQLite: emptyConsumeLog(), PostgreSQL: emptyConsumeLog() };
  const comparison = await compareBackends(timing, postgres, [CONSUMERS.queue], async ({ backend, url, meter }) => {
    const ceiling = (): number => (own.latest() === 0 ? FIRST_RATE : own.latest() * OWN_HEADROOM);
    const own = tracked(consumeSide(url, CONSUMERS, ceiling, logs[backend], meter));
    return own.side;
  });
  const prefilled = (log: ConsumeLog): string => `${log.prefilled.toLocaleString('en-US')} x 1 KB in ${log.prefillSeconds.toFixed(1)} s`;
  return backendRow(
    {
      scenario: `(c-pg) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.4),
      notes: [
        `before each consume run its queue was topped up to ${OWN_HEADROOM} x the side's latest rate x run time` +
          ` (${FIRST_RATE.toLocaleString('en-US')} msg/s before the first): PostgreSQL ${prefilled(logs.PostgreSQL)}, SQLite ${prefilled(logs.SQLite)}, over HTTP`,
        `PostgreSQL: ${drainedNote(logs.PostgreSQL)}; SQLite: ${drainedNote(logs.SQLite)}`,
      ],
    },
    timing,
    comparison,
  );
}
