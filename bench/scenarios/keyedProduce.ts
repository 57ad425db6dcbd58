import { createTopic, partitionEnds, withFreshGateway } from '../gateway';
import { type LoadSpec, loadSide } from '../load';
import { jsonValueOfSize, MESSAGE_BYTES } from '../payload';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow } from '../rounds';
import type { RoundTiming } from '../settings';

const TOPIC = 'keyed';
const QUEUE = 'bench';
const PARTITIONS = 12;
const BATCH = 100;
const CONNECTIONS = 16;

/**
 * Produce bodies of BATCH × 1 KB messages, each with a key no message had
 * before (`key-<n>`), so the keys spread over the partitions as a real key
 * space does. Both sides draw from the one counter: the same bodies, keys
 * included, go to the topic and to the queue (which keeps keys too), so the
 * only difference left is where the messages go. Built by string
 * concatenation, as cheap as it gets, for the bench process's core.
 */
function keyedBodies(): () => string {
  const value = JSON.stringify(jsonValueOfSize(MESSAGE_BYTES));
  let counter = 0;
  return () => {
    const messages = Array.from({ length: BATCH }, () => `{"key":"key-${counter++}","value":${value}}`);
    return `{"messages":[${messages.join(',')}]}`;
  };
}

/**
 * (f) Keyed produce into a 12-partition topic (murmur2 per key, appends to 12
 * partitions per batch) against the same batches into a queue of the same
 * gateway process: what partitioning by key costs on top of a plain produce.
 */
export async function keyedProduce(timing: RoundTiming): Promise<Row> {
  const nextBody = keyedBodies();
  const spec = (url: string, messagesPath: string): LoadSpec => ({
    url: `${url}${messagesPath}`,
    method: 'POST',
    body: nextBody,
    connections: CONNECTIONS,
  });
  let ends: number[] = [];
  const alternation = await withFreshGateway([QUEUE], async (url) => {
    await createTopic(url, TOPIC, PARTITIONS);
    const run = await alternate(
      timing,
      loadSide(spec(url, `/v1/queues/${QUEUE}/messages`), BATCH),
      loadSide(spec(url, `/v1/topics/${TOPIC}/messages`), BATCH),
    );
    ends = await partitionEnds(url, TOPIC);
    return run;
  });
  const count = (n: number): string => n.toLocaleString('en-US');
  return alternatingRow(
    {
      scenario: `(f) keyed produce ${BATCH}x1KB, ${PARTITIONS} partitions, ${CONNECTIONS} conns`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.8),
      notes: [
        `baseline: the same batches (distinct keys included) into a queue of the same gateway process, taking turns with the topic`,
        // Shows the keys did spread: an empty or overfull partition would mean the partitioner was not exercised.
        `messages per partition at the end: ${count(Math.min(...ends))} to ${count(Math.max(...ends))} (${count(ends.reduce((a, b) => a + b, 0))} in all)`,
      ],
    },
    timing,
    alternation,
  );
}
