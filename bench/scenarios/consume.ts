import { createQueue, withGateway } from '../gateway';
import { JsonClient } from '../httpClient';
import type { LoadTiming } from '../load';
import { MESSAGE_BYTES, produceBody } from '../payload';
import { atLeast, type Measurement, type Row } from '../report';
import { withTempDir } from '../tempDir';

const QUEUE = 'bench';
const BATCH = 100;
const CONSUMERS = 8;
/** Prefill in the largest batches the default limits allow, so the prefill is over quickly. */
const PREFILL_BATCH = 1000;
const PREFILL_CONNECTIONS = 4;

interface FetchResponse {
  messages: Array<{ receipt: string }>;
}

interface AckResponse {
  results: Array<{ status: string }>;
}

/** Shared by the consumer loops: what they have acked so far, and when to stop. */
interface Progress {
  acked: number;
  stopped: boolean;
  drained: boolean;
}

async function prefill(client: JsonClient, count: number): Promise<void> {
  const body = produceBody(PREFILL_BATCH, MESSAGE_BYTES);
  let remaining = Math.ceil(count / PREFILL_BATCH);
  const producer = async (): Promise<void> => {
    while (remaining > 0) {
      remaining -= 1;
      await client.send('POST', `/v1/queues/${QUEUE}/messages`, body);
    }
  };
  await Promise.all(Array.from({ length: PREFILL_CONNECTIONS }, producer));
}

/** One consumer: fetch up to 100, ack every receipt, again, until told to stop or the queue is empty. */
async function consumer(client: JsonClient, progress: Progress): Promise<void> {
  const fetchBody = JSON.stringify({ max: BATCH, waitMs: 0 });
  while (!progress.stopped) {
    const { messages } = await client.send<FetchResponse>('POST', `/v1/queues/${QUEUE}/fetch`, fetchBody);
    if (messages.length === 0) {
      progress.drained = true;
      progress.stopped = true;
      return;
    }
    const receipts = messages.map((message) => message.receipt);
    const { results } = await client.send<AckResponse>('POST', `/v1/queues/${QUEUE}/ack`, JSON.stringify({ receipts }));
    // A message that was not acked would be delivered again and counted twice.
    const notAcked = results.filter((result) => result.status !== 'acked');
    if (notAcked.length > 0) throw new Error(`ack refused ${notAcked.length} receipts: ${JSON.stringify(notAcked[0])}`);
    progress.acked += receipts.length;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Acked messages per second over the measured window; a drained queue ends the window early. */
async function consumeRate(client: JsonClient, timing: LoadTiming): Promise<{ rate: number; drained: boolean }> {
  const progress: Progress = { acked: 0, stopped: false, drained: false };
  const loops = Promise.all(Array.from({ length: CONSUMERS }, () => consumer(client, progress)));
  // Stop the clock on any failure too, so the other loops end instead of running on unobserved.
  loops.catch(() => {
    progress.stopped = true;
  });
  await Promise.race([sleep(timing.warmupSeconds * 1000), loops]);
  if (progress.drained) throw new Error('the queue ran dry during the warm-up: prefill more messages');
  const start = { acked: progress.acked, at: performance.now() };
  await Promise.race([sleep(timing.seconds * 1000), loops]);
  progress.stopped = true;
  const end = { acked: progress.acked, at: performance.now() };
  await loops;
  return { rate: ((end.acked - start.acked) * 1000) / (end.at - start.at), drained: progress.drained };
}

/**
 * (c) Consumption over HTTP, several consumer loops each fetching up to 100
 * and acking them all, against the gateway's own batch produce rate (b):
 * taking messages out must keep up with putting them in.
 */
export async function consume(timing: LoadTiming, produceBatchRate: Measurement): Promise<Row> {
  // Enough for the whole run at up to 0.75x the rate (b) produced: well past
  // the 0.5x target, without a prefill longer than the measurement. A faster
  // consumer drains the queue, which ends the window early (a fixed count
  // instead of a fixed time) and is noted below.
  const prefillCount =
    Math.ceil((produceBatchRate.value * (timing.warmupSeconds + timing.seconds) * 0.75) / PREFILL_BATCH) * PREFILL_BATCH;
  const { rate, drained, prefillSeconds } = await withTempDir('consume', (dir) =>
    withGateway(dir, 'FULL', async (url) => {
      await createQueue(url, QUEUE);
      const client = new JsonClient(url, Math.max(CONSUMERS, PREFILL_CONNECTIONS));
      try {
        const prefillStart = performance.now();
        await prefill(client, prefillCount);
        const prefillSeconds = (performance.now() - prefillStart) / 1000;
        return { ...(await consumeRate(client, timing)), prefillSeconds };
      } finally {
        client.close();
      }
    }),
  );
  return {
    scenario: `(c) fetch+ack ${BATCH}, ${CONSUMERS} consumers`,
    result: { value: rate, unit: 'msg/s' },
    baseline: produceBatchRate,
    target: atLeast(0.5),
    notes: [
      `baseline: the gateway's rate in (b); prefilled ${prefillCount.toLocaleString('en-US')} x 1 KB over HTTP in ${prefillSeconds.toFixed(1)} s`,
      drained
        ? 'the queue ran dry before the time was up: measured until it did (a fixed count)'
        : 'the queue never ran dry',
    ],
  };
}
