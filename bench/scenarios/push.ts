import path from 'node:path';
import { withChildServer } from '../child';
import { createPush, setPushRunning, withFreshGateway } from '../gateway';
import { JsonClient, Poster } from '../httpClient';
import { runLoops, sleep } from '../loops';
import { MESSAGE_BYTES, numberedJsonValue, numberOf, storedValueOfSize } from '../payload';
import { PREFILL_CONNECTIONS, topUp } from '../prefill';
import { type OnReceipt, receiptCount, withReceiver } from '../receiver';
import { atLeast, atMost, type Row } from '../report';
import { alternate, alternatingRow, quantile, type Side, tracked } from '../rounds';
import type { RoundTiming } from '../settings';

const QUEUE = 'bench';
const PUSH = 'bench-push';
/** Deliveries in flight: the push's `concurrency`, and the baseline client's requests in flight. */
const CONCURRENCY = 32;
/**
 * Ready messages at the start of a push run, as a multiple of what the
 * latest baseline round sent in the same time: the push cannot outrun the
 * plain client by much, so it finds messages until the end of its run. Only
 * what the previous run took is added again, so the headroom is paid once.
 */
const HEADROOM = 1.5;
const RECEIVER_SERVER = path.join(__dirname, '..', 'receiverServer.js');
/**
 * Targets of (h), as multiples of the produce's own round trip: a delivery
 * needs that produce's commit, one more (its lease) and a POST, so about
 * two round trips; a slow fsync in either commit can stretch the tail.
 */
const P50_TARGET = 2.5;
const P99_TARGET = 3;
/** Most a message of the latency loop may take to arrive before the run fails. */
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * The headers a push delivery of QUEUE's messages carries (delivery.ts),
 * with values of the same length, so that the baseline sends the request a
 * delivery is and the receiver has the same headers to parse.
 */
const DELIVERY_HEADERS = {
  'content-type': 'application/json',
  'mqgate-message-id': '1234567',
  'mqgate-attempt': '1',
  'mqgate-source': `queues/${QUEUE}`,
  'mqgate-push-subscription': PUSH,
  'mqgate-partition': '0',
  'mqgate-offset': '1234567',
  'mqgate-message-timestamp': String(Date.now()),
  'mqgate-timestamp': String(Date.now()),
};

/** What the push side did around its measurements, for the notes. */
interface PushLog {
  runs: number;
  drainedRuns: number;
  toppedUp: number;
  topUpSeconds: number;
  /** Ready messages left at the end of the push run that left the fewest. */
  leastLeft: number;
}

/** Deliveries per second that reach the receiver at `receiverUrl` over the next `seconds`. */
async function receiptRate(receiverUrl: string, seconds: number): Promise<number> {
  const start = { count: await receiptCount(receiverUrl), at: performance.now() };
  await sleep(seconds * 1000);
  const count = await receiptCount(receiverUrl);
  return ((count - start.count) * 1000) / (performance.now() - start.at);
}

/** Tops QUEUE up to `wanted` ready messages (unmeasured), keeping count in `log`. */
async function topUpQueue(gatewayUrl: string, wanted: number, log: PushLog): Promise<void> {
  // New connections per top-up: the last ones sat idle through a baseline round, past the keep-alive timeout.
  const client = new JsonClient(gatewayUrl, PREFILL_CONNECTIONS);
  const start = performance.now();
  try {
    log.toppedUp += await topUp(client, QUEUE, wanted);
  } finally {
    client.close();
  }
  log.topUpSeconds += (performance.now() - start) / 1000;
}

/**
 * The push side: with the push paused, tops the queue up to the latest
 * baseline rate (`ceiling`) × the run time × HEADROOM; then resumes the push
 * and counts the deliveries that reach the receiver for the run's seconds;
 * then pauses it again, which lets the attempts in progress finish, so the
 * baseline that follows has the receiver to itself.
 */
function pushSide(gatewayUrl: string, receiverUrl: string, ceiling: () => number, log: PushLog): Side {
  return async (seconds) => {
    await topUpQueue(gatewayUrl, ceiling() * seconds * HEADROOM, log);
    await setPushRunning(gatewayUrl, PUSH, true);
    const rate = await receiptRate(receiverUrl, seconds);
    const status = await setPushRunning(gatewayUrl, PUSH, false);
    // A rate that includes retries measures the error path, not the one under test.
    if (status.failures > 0) {
      throw new Error(`push '${PUSH}': ${status.failures} failed attempts, the last ${JSON.stringify(status.lastError)}`);
    }
    log.runs += 1;
    // The backlog only shrinks while the push runs: left over at the pause, it never ran out in the run.
    if (status.backlog === 0) log.drainedRuns += 1;
    log.leastLeft = Math.min(log.leastLeft, status.backlog);
    return rate;
  };
}

/**
 * The baseline: a plain node:http client, keep-alive, CONCURRENCY requests in
 * flight, POSTing what a delivery is (the stored 1 KB value, delivery
 * headers) to the same receiver; requests completed per second.
 */
function plainClientSide(receiverUrl: string): Side {
  const body = storedValueOfSize(MESSAGE_BYTES);
  return async (seconds) => {
    // New connections per run, as a resumed push starts with a connection pool of its own.
    const poster = new Poster(`${receiverUrl}/hook`, CONCURRENCY);
    try {
      const post = async (): Promise<number> => {
        await poster.post(DELIVERY_HEADERS, body);
        return 1;
      };
      const { rate } = await runLoops(CONCURRENCY, seconds, post);
      return rate;
    } finally {
      poster.close();
    }
  };
}

/**
 * (g) Push throughput: how fast the gateway drains a queue of 1 KB messages
 * to a receiver that answers 204 at once, CONCURRENCY deliveries in flight,
 * against a plain HTTP client sending the same requests to the same
 * receiver: how much of the HTTP ceiling of pushing the gateway keeps while
 * leasing, acking and counting every message. The receiver is a process of
 * its own, and the push and the client take turns sending to it.
 */
async function pushThroughput(timing: RoundTiming): Promise<Row> {
  const log: PushLog = { runs: 0, drainedRuns: 0, toppedUp: 0, topUpSeconds: 0, leastLeft: Infinity };
  const alternation = await withChildServer(RECEIVER_SERVER, [], (receiverUrl) =>
    withFreshGateway([QUEUE], async (gatewayUrl) => {
      await createPush(gatewayUrl, PUSH, QUEUE, `${receiverUrl}/hook`, CONCURRENCY);
      // Created running, on an empty queue: paused until the first push run has topped the queue up.
      await setPushRunning(gatewayUrl, PUSH, false);
      const baseline = tracked(plainClientSide(receiverUrl));
      return alternate(timing, baseline.side, pushSide(gatewayUrl, receiverUrl, baseline.latest, log));
    }),
  );
  const count = (n: number): string => n.toLocaleString('en-US');
  return alternatingRow(
    {
      scenario: `(g) push 1KB to a 204 receiver, concurrency ${CONCURRENCY}`,
      resultUnit: 'msg/s',
      baselineUnit: 'req/s',
      target: atLeast(0.5),
      notes: [
        `result: deliveries counted at the receiver (own process, node:http, answering 204 once the body is read) while the push runs; baseline: a plain node:http client (keep-alive, ${CONCURRENCY} requests in flight) POSTing the same 1 KB body and delivery headers to it, taking turns with the push`,
        `before each push run, with the push paused, the queue was topped up to the latest baseline round's rate x run time x ${HEADROOM} (${count(log.toppedUp)} x 1 KB in ${log.topUpSeconds.toFixed(1)} s in all)`,
        log.drainedRuns === 0
          ? `the queue never ran dry (at least ${count(log.leastLeft)} ready at the end of every push run)`
          : `the queue ran dry in ${log.drainedRuns} of ${log.runs} push runs (warm-up included): those delivered less than they could`,
      ],
    },
    timing,
    alternation,
  );
}

/** One message of the latency loop: milliseconds from just before its produce request was sent. */
interface Sample {
  /** Until the produce's 201 arrived. */
  produced: number;
  /** Until the receiver had read the delivery's body. */
  delivered: number;
}

/** Numbered messages the in-process receiver is waiting for, and the time each arrives. */
class Arrivals {
  private readonly waiting = new Map<number, (at: number) => void>();

  readonly onReceipt: OnReceipt = (body, at) => {
    const number = numberOf(body);
    this.waiting.get(number)?.(at);
    this.waiting.delete(number);
  };

  /** The `performance.now()` at which message `number` arrives; rejects after DELIVERY_TIMEOUT_MS. */
  expect(number: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(number);
        reject(new Error(`message ${number} was not delivered within ${DELIVERY_TIMEOUT_MS} ms`));
      }, DELIVERY_TIMEOUT_MS);
      this.waiting.set(number, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }
}

/**
 * Produces one numbered 1 KB message at a time, each once the previous one
 * was both acknowledged (201) and delivered, for `seconds`; numbers go on
 * from `first`.
 */
async function sampleFor(client: JsonClient, arrivals: Arrivals, first: number, seconds: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const end = performance.now() + seconds * 1000;
  for (let number = first; performance.now() < end; number++) {
    const body = JSON.stringify({ messages: [{ value: numberedJsonValue(number, MESSAGE_BYTES) }] });
    const arrived = arrivals.expect(number);
    const sent = performance.now();
    const produce = client.send('POST', `/v1/queues/${QUEUE}/messages`, body).then(() => performance.now());
    const [producedAt, deliveredAt] = await Promise.all([produce, arrived]);
    samples.push({ produced: producedAt - sent, delivered: deliveredAt - sent });
  }
  return samples;
}

/** The latency loop against the gateway at `gatewayUrl`: unmeasured for `warmupSeconds`, then measured for `seconds`. */
async function latencyLoop(
  gatewayUrl: string,
  arrivals: Arrivals,
  warmupSeconds: number,
  seconds: number,
): Promise<{ warmups: number; samples: Sample[] }> {
  // One connection, used back to back: it never sits idle long enough to meet the keep-alive timeout.
  const client = new JsonClient(gatewayUrl, 1);
  try {
    const warmups = (await sampleFor(client, arrivals, 0, warmupSeconds)).length;
    return { warmups, samples: await sampleFor(client, arrivals, warmups, seconds) };
  } finally {
    client.close();
  }
}

/** A row of (h): one quantile of the delivery times against the same quantile of the produce times. */
function latencyRow(samples: Sample[], label: string, q: number, target: number, notes: string[]): Row {
  return {
    scenario: `(h) push latency ${label}, 1x1KB one at a time`,
    result: { value: quantile(samples.map((sample) => sample.delivered), q), unit: 'ms' },
    baseline: { value: quantile(samples.map((sample) => sample.produced), q), unit: 'ms' },
    target: atMost(target),
    notes,
  };
}

/**
 * (h) Delivery latency: one 1 KB message at a time, produced and pushed to a
 * receiver answering 204, timed from just before the produce request is sent
 * until the receiver has the message, against that produce request's own
 * round trip to its 201 in the same loop. The 201 says the message is
 * stored, the earliest a delivery could start; on top of that a delivery
 * needs the push's wake-up, its lease (one more commit) and the POST. The
 * receiver runs in the bench process, so that both times come from one
 * clock; the loop leaves that process idle while it waits.
 */
async function pushLatency(timing: RoundTiming): Promise<Row[]> {
  const arrivals = new Arrivals();
  // Twice a round: p99 needs a few thousand samples.
  const seconds = 2 * timing.seconds;
  const { warmups, samples } = await withReceiver(arrivals.onReceipt, (receiverUrl) =>
    withFreshGateway([QUEUE], async (gatewayUrl) => {
      await createPush(gatewayUrl, PUSH, QUEUE, `${receiverUrl}/hook`, CONCURRENCY);
      return latencyLoop(gatewayUrl, arrivals, timing.warmupSeconds, seconds);
    }),
  );
  const notes = [
    `result: from just before POST /v1/queues/${QUEUE}/messages is sent until the receiver (in the bench process, answering 204 once the body is read) has the delivery; baseline: that produce's own round trip to its 201, the earliest a delivery could start`,
    `${samples.length.toLocaleString('en-US')} messages in ${seconds} s (${(samples.length / seconds).toFixed(0)} msg/s), each sent once the previous one was delivered, after ${warmups} unmeasured ones; push concurrency ${CONCURRENCY}, synchronous=FULL`,
  ];
  return [latencyRow(samples, 'p50', 0.5, P50_TARGET, notes), latencyRow(samples, 'p99', 0.99, P99_TARGET, [])];
}

/** (g) and (h): push delivery's throughput, then its latency, each with a gateway of its own. */
export async function push(timing: RoundTiming): Promise<Row[]> {
  return [await pushThroughput(timing), ...(await pushLatency(timing))];
}
