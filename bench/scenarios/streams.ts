import { CpuMeter, ownClock, processClock } from '../cpuMeter';
import { openEventStream } from '../eventStream';
import { SQLITE } from '../backend';
import { createTopic, partitionEnds, withFreshGatewayOn } from '../gateway';
import { JsonClient } from '../httpClient';
import { paced, runLoops, sleep } from '../loops';
import { MESSAGE_BYTES, numberedJsonValue } from '../payload';
import { atLeast, atMost, type Row } from '../report';
import { type Alternation, alternate, alternatingRow, median, quantile, type Side } from '../rounds';
import type { RoundTiming } from '../settings';

const TOPIC = 'streams';
/** Reader i follows partition i. */
const READERS = 4;
/** Produce loops of the throughput rounds: (a)'s 64 connections, enough to keep the gateway's core busy. */
const PRODUCERS = 64;
/**
 * A polling reader's read: the default `max` (also what a stream reads from
 * the store at a time), and a long-poll of 5 s, as a client following a
 * log waits (the limit is 20 s). Under steady produces the wait never runs
 * out: a read answers as soon as a message is there.
 */
const POLL = { max: 100, waitMs: 5000 };
/**
 * Produces per second of the latency rounds, as a share of the polling
 * side's median throughput in the same run: a moderate load on whatever
 * the machine gives the gateway that day, which a fixed rate could turn
 * into a queue on a busy machine (it would then measure the queue).
 */
const LATENCY_SHARE = 0.25;
/** The latency rounds' rate is rounded down to a multiple of this, and is at least this. */
const RATE_STEP = 50;
/** Connections of the paced producer: room for each produce to take a while without waiting for a socket. */
const LATENCY_CONNECTIONS = 16;
/** Most the readers may take to receive the last message of a latency round before the run fails. */
const CATCH_UP_TIMEOUT_MS = 10_000;
/** The targets of the issue: stream delivery against polling with waitMs in the same run. */
const THROUGHPUT_TARGET = 1.5;
const P50_TARGET = 0.5;

/** The processes metered: the gateway, and the bench process (producers and readers). */
type Metered = 'gateway' | 'client';

/** A read's answer, as far as the bench relies on it. */
interface PartitionMessages {
  messages: DeliveredValue[];
  nextOffset: number;
}

/** A message as a read or a stream event carries it: its value is the `numberedJsonValue` of its produce's send time. */
interface DeliveredValue {
  value: unknown;
}

/** What a side's readers received in one run. */
class Deliveries {
  count = 0;
  /** Milliseconds from each message's produce being sent to its arrival at a reader, in arrival order. */
  readonly latencies: number[] = [];

  add({ value }: DeliveredValue, at: number): void {
    if (typeof value !== 'string') throw new Error(`a delivered message's value is ${JSON.stringify(value)}, not the produce's send time`);
    this.count += 1;
    this.latencies.push(at - Number.parseFloat(value));
  }

  /** Resolves once `count` messages have arrived; rejects after CATCH_UP_TIMEOUT_MS. */
  async reach(count: number): Promise<void> {
    const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
    while (this.count < count) {
      if (performance.now() > deadline) throw new Error(`readers received ${this.count} of ${count} messages within ${CATCH_UP_TIMEOUT_MS} ms`);
      await sleep(5);
    }
  }
}

/** A side's readers, following. */
interface Readers {
  /** Stops following; rejects with a reader's failure, if one failed. */
  stop(): Promise<void>;
}

/** Starts a side's readers: reader i follows partition i from `offsets[i]`, telling `deliveries` of each message as it arrives. */
type StartReaders = (url: string, offsets: number[], deliveries: Deliveries) => Promise<Readers>;

/** The result side: an SSE stream per partition, GET …/stream?offset=…, each on a connection of its own. */
const streamReaders: StartReaders = async (url, offsets, deliveries) => {
  const streams = await Promise.all(
    offsets.map((offset, partition) =>
      openEventStream(`${url}/v1/topics/${TOPIC}/partitions/${partition}/stream?offset=${offset}`, (data, at) =>
        deliveries.add(JSON.parse(data) as DeliveredValue, at),
      ),
    ),
  );
  return {
    stop: async () => {
      await Promise.all(streams.map((stream) => stream.close()));
    },
  };
};

/** Reads of the polling side, for the notes. */
interface PollLog {
  reads: number;
  messages: number;
}

/** Messages per polling read, warm-up included. */
function pollNote({ reads, messages }: PollLog): string {
  return `a polling read carried ${(messages / reads).toFixed(2)} messages on average (${reads.toLocaleString('en-US')} reads)`;
}

/**
 * The baseline side: a loop per partition of long-poll reads,
 * GET …/messages?offset=…&max=…&waitMs=…, each sent as soon as the last
 * answered, from its nextOffset; the four on a keep-alive connection each.
 * Stopping aborts the reads waiting.
 */
function pollReaders(log: PollLog): StartReaders {
  return async (url, offsets, deliveries) => {
    const client = new JsonClient(url, READERS);
    const stopping = new AbortController();
    const follow = async (partition: number, from: number): Promise<void> => {
      for (let offset = from; !stopping.signal.aborted; ) {
        const path = `/v1/topics/${TOPIC}/partitions/${partition}/messages?offset=${offset}&max=${POLL.max}&waitMs=${POLL.waitMs}`;
        let read: PartitionMessages;
        try {
          read = await client.send<PartitionMessages>('GET', path, '', stopping.signal);
        } catch (error) {
          if (stopping.signal.aborted) return;
          throw error;
        }
        const at = performance.now();
        for (const message of read.messages) deliveries.add(message, at);
        log.reads += 1;
        log.messages += read.messages.length;
        offset = read.nextOffset;
      }
    };
    const following = Promise.all(offsets.map((offset, partition) => follow(partition, offset)));
    // Seen by stop(); until then a failed reader must not count as an unhandled rejection.
    following.catch(() => undefined);
    return {
      stop: async () => {
        stopping.abort();
        try {
          await following;
        } finally {
          client.close();
        }
      },
    };
  };
}

/**
 * One produce of one 1 KB message, its value the time it was sent (as a
 * legacy caller sends, a request per message); resolves with the
 * milliseconds until its 201.
 */
async function produce(client: JsonClient): Promise<number> {
  const sentAt = performance.now();
  const body = JSON.stringify({ messages: [{ value: numberedJsonValue(sentAt, MESSAGE_BYTES) }] });
  await client.send('POST', `/v1/topics/${TOPIC}/messages`, body);
  return performance.now() - sentAt;
}

/**
 * Runs `work` with a side's readers following every partition from its end
 * and a producer client of `connections` (both fresh: the last run's sat
 * idle through the other side's), stopping both afterwards.
 */
async function withReaders<T>(
  url: string,
  readers: StartReaders,
  connections: number,
  work: (deliveries: Deliveries, producer: JsonClient) => Promise<T>,
): Promise<T> {
  const deliveries = new Deliveries();
  const following = await readers(url, await partitionEnds(url, TOPIC), deliveries);
  const producer = new JsonClient(url, connections);
  try {
    return await work(deliveries, producer);
  } finally {
    producer.close();
    await following.stop();
  }
}

/** What a side of the throughput rounds saw besides its rate, for the notes. */
interface LoadLog {
  /** Most messages produced but not yet received when a run's producers had all been answered. */
  lag: number;
  /** The p50 produce-to-arrival time of each run, ms. */
  p50s: number[];
}

/**
 * A side of the throughput rounds: PRODUCERS loops of single produces as
 * fast as the gateway answers them, the readers following; messages the
 * readers received per second, each run under `meter`.
 */
function throughputSide(url: string, readers: StartReaders, meter: CpuMeter<Metered>, log: LoadLog): Side {
  return (seconds) =>
    withReaders(url, readers, PRODUCERS, async (deliveries, producer) => {
      let produced = 0;
      const run = await meter.during(async () => {
        const start = performance.now();
        await runLoops(PRODUCERS, seconds, async () => {
          await produce(producer);
          produced += 1;
          return 1;
        });
        return { handled: deliveries.count, seconds: (performance.now() - start) / 1000 };
      });
      log.lag = Math.max(log.lag, produced - run.handled);
      log.p50s.push(quantile(deliveries.latencies, 0.5));
      return run.handled / run.seconds;
    });
}

/** What a side of the latency rounds measured, run by run (its warm-up first). */
interface LatencyLog {
  /** Each run's produce-to-arrival times, ms. */
  runs: number[][];
  /** Each run's p50 of the produces' own round trips to their 201, ms. */
  produceP50s: number[];
}

/**
 * A side of the latency rounds: `rate` produces a second for the run's time,
 * then until the readers have every message; the p50 of the
 * produce-to-arrival times.
 */
function latencySide(url: string, readers: StartReaders, rate: number, meter: CpuMeter<Metered>, log: LatencyLog): Side {
  return (seconds) =>
    withReaders(url, readers, LATENCY_CONNECTIONS, async (deliveries, producer) => {
      const roundTrips: number[] = [];
      await meter.during(async () => {
        const start = performance.now();
        await deliveries.reach(await paced(rate, seconds, async () => roundTrips.push(await produce(producer))));
        return { handled: deliveries.count, seconds: (performance.now() - start) / 1000 };
      });
      log.runs.push(deliveries.latencies);
      log.produceP50s.push(quantile(roundTrips, 0.5));
      return quantile(deliveries.latencies, 0.5);
    });
}

/** The q-quantiles of the measured runs of a latency alternation (the first run of each side is its warm-up), paired by round. */
function quantileRounds(logs: { baseline: LatencyLog; result: LatencyLog }, q: number): Alternation {
  const baselines = logs.baseline.runs.slice(1).map((times) => quantile(times, q));
  const results = logs.result.runs.slice(1).map((times) => quantile(times, q));
  return { baselines, results, ratios: results.map((result, round) => result / baselines[round]) };
}

interface Meters {
  result: CpuMeter<Metered>;
  baseline: CpuMeter<Metered>;
}

function metersOf(pid: number): Meters {
  const meter = (): CpuMeter<Metered> => new CpuMeter({ gateway: processClock(pid), client: ownClock });
  return { result: meter(), baseline: meter() };
}

/** The cpu column: the gateway's CPU per delivered message on each side, over all its runs. */
function cpuColumn(meters: Meters): NonNullable<Row['cpu']> {
  return {
    result: { gateway: meters.result.use('gateway').perMessage, server: null },
    baseline: { gateway: meters.baseline.use('gateway').perMessage, server: null },
  };
}

/** How busy each process was while a side's runs were measured, in cores (1 = a whole core). */
function coresNote(meters: Meters): string {
  const cores = (meter: CpuMeter<Metered>): string =>
    `gateway ${meter.use('gateway').cores.toFixed(2)}, bench process ${meter.use('client').cores.toFixed(2)}`;
  return `cores busy while measured, warm-up included: result ${cores(meters.result)}; baseline ${cores(meters.baseline)}`;
}

/** The readers of each side, for the notes. */
const READERS_NOTE =
  `result: ${READERS} SSE readers, reader i on GET /v1/topics/${TOPIC}/partitions/i/stream?offset=<end>, one long response each; ` +
  `baseline: ${READERS} polling readers, reader i looping GET /v1/topics/${TOPIC}/partitions/i/messages?offset=<next>&max=${POLL.max}&waitMs=${POLL.waitMs}, ` +
  'each next read sent as soon as the last answered; both in the bench process, starting each run at the end of every partition';
/** The produces, for the notes. */
const PRODUCE_NOTE = `single produces of one 1 KB message (POST /v1/topics/${TOPIC}/messages, keyless: round-robin over the ${READERS} partitions), its value the time it was sent`;

/**
 * (p) Stream delivery against polling, on one gateway (its own process,
 * SQLite FULL) and a topic of READERS partitions, reader i following
 * partition i. First throughput: producers as fast as the gateway answers,
 * messages received per second by the four readers, the producers' produces
 * and the readers' deliveries sharing the gateway's one core. Then latency
 * at a moderate fixed rate: from a produce's send to its message's arrival
 * at a reader, p50 (p99 in the notes). Each in alternating rounds of
 * polling (the baseline) and streams (the result).
 */
export async function streams(timing: RoundTiming): Promise<Row[]> {
  const pollLogs: { throughput: PollLog; latency: PollLog } = {
    throughput: { reads: 0, messages: 0 },
    latency: { reads: 0, messages: 0 },
  };
  const loadLogs: { result: LoadLog; baseline: LoadLog } = { result: { lag: 0, p50s: [] }, baseline: { lag: 0, p50s: [] } };
  const latencyLogs: { result: LatencyLog; baseline: LatencyLog } = {
    result: { runs: [], produceP50s: [] },
    baseline: { runs: [], produceP50s: [] },
  };
  const measured = await withFreshGatewayOn(SQLITE, [], async ({ url, pid }) => {
    await createTopic(url, TOPIC, READERS);
    const throughputMeters = metersOf(pid);
    const throughput = await alternate(
      timing,
      throughputSide(url, pollReaders(pollLogs.throughput), throughputMeters.baseline, loadLogs.baseline),
      throughputSide(url, streamReaders, throughputMeters.result, loadLogs.result),
    );
    const rate = Math.max(RATE_STEP, Math.floor((median(throughput.baselines) * LATENCY_SHARE) / RATE_STEP) * RATE_STEP);
    const latencyMeters = metersOf(pid);
    const latency = await alternate(
      timing,
      latencySide(url, pollReaders(pollLogs.latency), rate, latencyMeters.baseline, latencyLogs.baseline),
      latencySide(url, streamReaders, rate, latencyMeters.result, latencyLogs.result),
    );
    return { throughput, throughputMeters, rate, latency, latencyMeters };
  });
  const p99 = quantileRounds(latencyLogs, 0.99);
  const ms = (value: number): string => `${value.toFixed(2)} ms`;
  const throughputRow: Row = {
    ...alternatingRow(
      {
        scenario: `(p) stream 1KB to ${READERS} SSE readers vs polling, 1x1KB produces at most, ${PRODUCERS} conns`,
        resultUnit: 'msg/s',
        baselineUnit: 'msg/s',
        target: atLeast(THROUGHPUT_TARGET),
        notes: [
          `messages received per second by the ${READERS} readers while ${PRODUCERS} loops (bench process, keep-alive) send ${PRODUCE_NOTE}, each as soon as the last was answered`,
          READERS_NOTE,
          `the produces and the deliveries share the gateway's event loop, one core at most: ${coresNote(measured.throughputMeters)}`,
          `readers ended a run at most ${loadLogs.result.lag.toLocaleString('en-US')} (result) and ${loadLogs.baseline.lag.toLocaleString('en-US')} (baseline) messages behind the produces answered;` +
            ` p50 produce-to-arrival under this load, median of the runs: result ${ms(median(loadLogs.result.p50s))}, baseline ${ms(median(loadLogs.baseline.p50s))}`,
          pollNote(pollLogs.throughput),
        ],
      },
      timing,
      measured.throughput,
    ),
    cpu: cpuColumn(measured.throughputMeters),
  };
  const latencyRow: Row = {
    ...alternatingRow(
      {
        scenario: `(p) stream latency p50 to ${READERS} SSE readers vs polling, 1x1KB at ${measured.rate.toLocaleString('en-US')} msg/s`,
        resultUnit: 'ms',
        baselineUnit: 'ms',
        target: atMost(P50_TARGET),
        notes: [
          `from just before a produce is sent (the time is its value) until its message has arrived at a reader (the chunk holding its SSE event, or the read's whole answer);` +
            ` ${PRODUCE_NOTE}: ${measured.rate.toLocaleString('en-US')} a second (${LATENCY_SHARE} x the polling side's median throughput above, rounded down to ${RATE_STEP}), paced, each sent without waiting for the last (up to ${LATENCY_CONNECTIONS} connections);` +
            ' every message of a run counted: a run ends once all have arrived',
          `p99, median of the per-round p99s: result ${ms(median(p99.results))}, baseline ${ms(median(p99.baselines))};` +
            ` ratios per round: ${p99.ratios.map((ratio) => ratio.toFixed(2)).join(' ')}`,
          `the produces' own round trip to their 201 (the commit and fsync a reader waits for on either side), p50, median of the runs: result ${ms(median(latencyLogs.result.produceP50s))}, baseline ${ms(median(latencyLogs.baseline.produceP50s))}`,
          `cpu column: the gateway's CPU per message received at this rate; ${coresNote(measured.latencyMeters)}`,
          pollNote(pollLogs.latency),
        ],
      },
      timing,
      measured.latency,
    ),
    cpu: cpuColumn(measured.latencyMeters),
  };
  return [throughputRow, latencyRow];
}
