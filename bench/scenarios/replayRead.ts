import path from 'node:path';
import type { Backend } from '../backend';
import { backendRow, compareBackends } from '../backendComparison';
import { withChildServer } from '../child';
import { type Meter, unmetered } from '../cpuMeter';
import { createTopic, partitionEnds, withFreshGateway } from '../gateway';
import { JsonClient } from '../httpClient';
import { runLoops } from '../loops';
import { PREFILL_CONNECTIONS, prefill } from '../prefill';
import { rawRunSide } from '../rawServer';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow, type Side } from '../rounds';
import type { RoundTiming } from '../settings';
import { withTempDir } from '../tempDir';

const TOPIC = 'replay';
/** One partition: a topic of one partition puts every keyless message there. */
const PARTITION = 0;
const READ_BATCH = 1000;
const READERS = 4;
/**
 * Messages in the partition. Readers wrap around to offset 0 at the end, so
 * any size would do; 200,000 × 1 KB is far more than SQLite's own page cache
 * (2 MB by default), so both sides read through the OS page cache, and it is
 * a multiple of READERS × READ_BATCH, so every read returns a full batch.
 */
const PREFILL = 200_000;
/** Room for READ_BATCH values of 1 KB: the default of 1 MiB would cut the batches short. */
const MAX_BYTES = 2_000_000;
const RAW_SQLITE_READ = path.join(__dirname, '..', 'rawSqliteRead.js');
const SCENARIO = `replay read ${READ_BATCH}x1KB, ${READERS} readers`;

interface PartitionMessages {
  messages: Array<{ offset: number }>;
  nextOffset: number;
  endOffset: number;
}

/**
 * The gateway side: READERS loops each reading READ_BATCH messages by offset
 * and going on from the response's nextOffset, back to 0 at the end of the
 * partition; messages returned per second, each run under `meter`. Each
 * reader starts in a region of its own, and keeps its place from one run to
 * the next.
 */
function httpReadSide(url: string, meter: Meter = unmetered): Side {
  const offsets = Array.from({ length: READERS }, (_, reader) => (reader * PREFILL) / READERS);
  return async (seconds) => {
    // New connections per run: the last run's sat idle through a baseline round, past the keep-alive timeout.
    const client = new JsonClient(url, READERS);
    try {
      const readBatch = async (reader: number): Promise<number> => {
        const offset = offsets[reader];
        const read = await client.send<PartitionMessages>(
          'GET',
          `/v1/topics/${TOPIC}/partitions/${PARTITION}/messages?offset=${offset}&max=${READ_BATCH}&maxBytes=${MAX_BYTES}`,
        );
        // A short or misplaced batch would measure something other than 1,000 messages by offset.
        const expected = Math.min(READ_BATCH, read.endOffset - offset);
        if (read.messages.length !== expected || read.messages[0]?.offset !== offset) {
          throw new Error(
            `read at offset ${offset}: ${read.messages.length} messages from offset ${read.messages[0]?.offset}, expected ${expected}`,
          );
        }
        offsets[reader] = read.nextOffset >= read.endOffset ? 0 : read.nextOffset;
        return read.messages.length;
      };
      const { rate } = await meter.during(() => runLoops(READERS, seconds, readBatch));
      return rate;
    } finally {
      client.close();
    }
  };
}

/** Fills the topic's partition (unmeasured); returns the seconds it took. */
async function fill(url: string): Promise<number> {
  const start = performance.now();
  await createTopic(url, TOPIC, 1);
  const client = new JsonClient(url, PREFILL_CONNECTIONS);
  try {
    await prefill(client, `/v1/topics/${TOPIC}/messages`, PREFILL);
  } finally {
    client.close();
  }
  const [end] = await partitionEnds(url, TOPIC);
  if (end !== PREFILL) throw new Error(`prefilled partition ${PARTITION} of '${TOPIC}' ends at ${end}, not ${PREFILL}`);
  return (performance.now() - start) / 1000;
}

/** What a replay reads, with how it was filled. */
function partitionNote(filled: string): string {
  const count = PREFILL.toLocaleString('en-US');
  return `one partition of ${count} x 1 KB (${filled}); reader i starts at offset i x ${(PREFILL / READERS).toLocaleString('en-US')}`;
}

/**
 * (e) Replay: reads of a topic partition by offset in batches of 1,000 × 1 KB
 * over HTTP, against raw better-sqlite3 running the gateway's read query on a
 * copy of the same database file: what HTTP, message conversion and JSON
 * cost on top of the storage engine when a consumer replays a log.
 */
export async function replayRead(timing: RoundTiming): Promise<Row> {
  let fillSeconds = 0;
  const alternation = await withTempDir('raw-read', (copyDir) =>
    withFreshGateway([], async (url, databaseFile) => {
      fillSeconds = await fill(url);
      const args = [databaseFile, path.join(copyDir, 'copy.db'), TOPIC, String(PARTITION), String(READ_BATCH)];
      return withChildServer(RAW_SQLITE_READ, args, (rawUrl) =>
        alternate(timing, rawRunSide(rawUrl), httpReadSide(url)),
      );
    }),
  );
  return alternatingRow(
    {
      scenario: `(e) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'rows/s',
      target: atLeast(0.5),
      notes: [
        `baseline: raw better-sqlite3, one reader, the gateway's read query (LIMIT ${READ_BATCH}) over successive offsets on a copy of the gateway's database file, summing value lengths, own process`,
        `${partitionNote(`produced over HTTP in ${fillSeconds.toFixed(1)} s`)}; both sides wrap around to offset 0 at the end`,
      ],
    },
    timing,
    alternation,
  );
}

/** (e-pg) The replay reads of (e) on a gateway storing in PostgreSQL against the same on one storing in SQLite, each filled as (e) fills it. */
export async function replayReadPostgres(timing: RoundTiming, postgres: Backend): Promise<Row> {
  const fillSeconds = { SQLite: 0, PostgreSQL: 0 };
  const comparison = await compareBackends(timing, postgres, [], async ({ backend, url, meter }) => {
    fillSeconds[backend] = await fill(url);
    return httpReadSide(url, meter);
  });
  const filled = `produced over HTTP in ${fillSeconds.PostgreSQL.toFixed(1)} s on PostgreSQL, ${fillSeconds.SQLite.toFixed(1)} s on SQLite`;
  return backendRow(
    {
      scenario: `(e-pg) ${SCENARIO}`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.5),
      notes: [`${partitionNote(filled)}; readers wrap around to offset 0 at the end`],
    },
    timing,
    comparison,
  );
}
