import type { PushView } from '../../queue/push/pushService';
import type { QueueView } from '../../queue/queueService';
import type { SubscriptionView } from '../../queue/subscriptionService';
import type { TopicView } from '../../queue/topicService';
import { withFreshGateway, withGateway } from '../gateway';
import { type JsonClient, withClient } from '../httpClient';
import { loadSide } from '../load';
import { forEachIndex, sleep } from '../loops';
import { MESSAGE_BYTES, produceBody, produceLoad } from '../payload';
import { PREFILL_BATCH, PREFILL_CONNECTIONS, prefill } from '../prefill';
import { type During, type ProbedPhase, withHealthProbe } from '../probe';
import { atLeast, atMost, type Row } from '../report';
import { type Alternation, alternate, alternatingRow, quantile, type Side } from '../rounds';
import type { BenchSettings } from '../settings';
import { withTempDir } from '../tempDir';
import { type ConsumeLog, type Consumers, consumeSide, drainedNote, emptyConsumeLog } from './consume';

export type ManyQueuesSettings = Pick<BenchSettings, 'rounds' | 'seconds' | 'warmupSeconds' | 'queues' | 'topics' | 'bigBacklog'>;

/** The queue of the produce–fetch–ack comparison, in both gateways. */
const QUEUE = 'bench';
/** The queue of BENCH_BIG_BACKLOG ready messages. */
const BIG = 'big';
/** The big queue's messages are small: 10,000,000 of 1 KB would be 14 GB of prefill; the count is what stats and sweeps meet. */
const BIG_MESSAGE_BYTES = 100;
/** The consumer group of every topic. */
const GROUP = 'g';
const queueName = (index: number): string => `q-${index}`;
const topicName = (index: number): string => `t-${index}`;
/** Create requests in flight while creating queues and topics. */
const CREATORS = 8;
/** The creation times compared: of the first and of the last tenth of the queues. */
const SHARE = 0.1;
/** As (d): creating one more queue must not cost more for the ones already there. */
const LINEAR = 1.25;
/** The least retention a topic may have: the messages of phase (e) are the sweeps' to delete within seconds. */
const TOPIC_RETENTION_MS = 1000;
const PROBE_PERIOD_MS = 10;
/** The target: a health check answers within 50 ms at p99, whatever else the gateway is doing. */
const PROBE_P99_MS = 50;
/** Queues asked for per page of the queue-list walk. */
const PAGE = 1000;
/** How many scrapes, dashboard refreshes and stats of the big queue. */
const REPEATS = 20;
/** The connections a browser opens to one host over HTTP/1.1: the dashboard's reads queue for them. */
const BROWSER_CONNECTIONS = 6;
/** What the dashboard reads (api/pages/ui/dashboard.js): its queues, topics, groups and subscriptions per topic, push subscriptions, dead letters per dead-letter queue. */
const DASHBOARD = { queues: 20, topics: 20, perTopic: 50, pushes: 100, deadLetters: 20 };
/** The gateway sweeps every second: three sweeps at least. */
const SWEEP_SECONDS = 3;
const PRODUCERS = 16;
const CONSUMERS: Consumers = { queue: QUEUE, loops: 8, batch: 10 };
/** A fetch+ack run starts with its queue topped up to that side's latest rate × run time × this. */
const HEADROOM = 1.5;
/** The target: the same workload at most 1.2 times slower beside 100,000 queues than alone. */
const SLOWDOWN = 1.2;

const count = (n: number): string => n.toLocaleString('en-US');
const secondsSince = (start: number): number => (performance.now() - start) / 1000;

/** Progress on stderr, as run.ts's: the steps before the measurements take minutes. */
function progress(text: string): void {
  process.stderr.write(`      ${text}\n`);
}

/** What filling the gateway took, for the notes. */
interface Filled {
  /** ms the first and the last SHARE of the queues took to create. */
  firstShareMs: number;
  lastShareMs: number;
  queuesSeconds: number;
  topicsSeconds: number;
  /** Messages in the big queue (whole prefill batches), and the seconds they took. */
  bigBacklog: number;
  prefillSeconds: number;
}

/**
 * Creates the queues, CREATORS requests in flight, and times the first and
 * the last SHARE of them by when their answers arrived.
 */
async function createQueues(client: JsonClient, queues: number): Promise<Pick<Filled, 'firstShareMs' | 'lastShareMs' | 'queuesSeconds'>> {
  const finished: number[] = [];
  const start = performance.now();
  await forEachIndex(queues, CREATORS, async (index) => {
    await client.send('PUT', `/v1/queues/${queueName(index)}`, '{}');
    finished.push(performance.now() - start);
  });
  const share = Math.max(1, Math.floor(queues * SHARE));
  const last = finished[queues - 1];
  return { firstShareMs: finished[share - 1], lastShareMs: last - finished[queues - 1 - share], queuesSeconds: last / 1000 };
}

/** The queues, the topics with their groups, and the big queue's backlog; the two queues of the measurements first. */
async function fill(url: string, settings: ManyQueuesSettings): Promise<Filled> {
  return withClient(url, CREATORS, async (client) => {
    for (const queue of [QUEUE, BIG]) await client.send('PUT', `/v1/queues/${queue}`, '{}');
    const queues = await createQueues(client, settings.queues);
    progress(`created ${count(settings.queues)} queues in ${queues.queuesSeconds.toFixed(1)} s`);

    const topicsStart = performance.now();
    const topicSettings = JSON.stringify({ retentionMs: TOPIC_RETENTION_MS });
    await forEachIndex(settings.topics, CREATORS, async (index) => {
      await client.send('PUT', `/v1/topics/${topicName(index)}`, topicSettings);
      await client.send('PUT', `/v1/topics/${topicName(index)}/groups/${GROUP}`, '{}');
    });
    const topicsSeconds = secondsSince(topicsStart);
    progress(`created ${count(settings.topics)} topics with a group each in ${topicsSeconds.toFixed(1)} s`);

    const prefillStart = performance.now();
    await prefill(client, `/v1/queues/${BIG}/messages`, settings.bigBacklog, BIG_MESSAGE_BYTES);
    const prefillSeconds = secondsSince(prefillStart);
    const bigBacklog = Math.ceil(settings.bigBacklog / PREFILL_BATCH) * PREFILL_BATCH;
    progress(`produced ${count(bigBacklog)} x ${BIG_MESSAGE_BYTES} B into '${BIG}' in ${prefillSeconds.toFixed(1)} s`);
    return { ...queues, topicsSeconds, bigBacklog, prefillSeconds };
  });
}

/** Walks the list at `path` (`queues` or `topics`), PAGE at a time, following nextCursor; calls `each` with every page's items. */
async function walkList<T>(client: JsonClient, path: 'queues' | 'topics', each: (items: T[]) => void): Promise<number> {
  let pages = 0;
  let cursor: string | null = null;
  do {
    const after: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page: Record<string, T[]> & { nextCursor: string | null } = await client.send('GET', `/v1/${path}?limit=${PAGE}${after}`);
    each(page[path]);
    pages += 1;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

/** GET /metrics; returns the length of the scrape. */
async function scrape(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`);
  return (await response.text()).length;
}

const pathOf = (...names: string[]): string => names.map(encodeURIComponent).join('/');

/**
 * One refresh of the dashboard (api/pages/ui/dashboard.js refresh()): the
 * four lists at once, then every topic's groups and queue subscriptions at
 * once, then a page of each dead-letter queue; the browser queues them for
 * its few connections to the gateway, as `client` does. Returns the
 * requests it made.
 */
async function refreshDashboard(client: JsonClient): Promise<number> {
  const [{ queues }, { topics }, { pushSubscriptions }] = await Promise.all([
    client.send<{ queues: QueueView[] }>('GET', `/v1/queues?sort=backlog&limit=${DASHBOARD.queues}`),
    client.send<{ topics: TopicView[] }>('GET', `/v1/topics?limit=${DASHBOARD.topics}`),
    client.send<{ pushSubscriptions: PushView[] }>('GET', `/v1/push-subscriptions?limit=${DASHBOARD.pushes}`),
    client.send('GET', '/v1/activity'),
  ]);
  const [, subscriptions] = await Promise.all([
    Promise.all(topics.map((topic) => client.send('GET', `/v1/topics/${pathOf(topic.name)}/groups?limit=${DASHBOARD.perTopic}`))),
    Promise.all(
      topics.map((topic) =>
        client.send<{ subscriptions: SubscriptionView[] }>('GET', `/v1/topics/${pathOf(topic.name)}/subscriptions?limit=${DASHBOARD.perTopic}`),
      ),
    ),
  ]);
  const deadLetterNames = new Set(
    [...queues, ...subscriptions.flatMap((each) => each.subscriptions), ...pushSubscriptions].flatMap((source) => source.deadLetterQueue ?? []),
  );
  // A dead-letter queue not among the queues shown is read on its own, then a page of its messages.
  const shown = new Set(queues.map((queue) => queue.name));
  const unshown = [...deadLetterNames].filter((name) => !shown.has(name));
  await Promise.all(unshown.map((name) => client.send('GET', `/v1/queues/${pathOf(name)}`)));
  await Promise.all(
    [...deadLetterNames].map((name) => client.send('GET', `/v1/queues/${pathOf(name)}/messages?max=${DASHBOARD.deadLetters}`)),
  );
  return 4 + 2 * topics.length + unshown.length + deadLetterNames.size;
}

/** `times` times `request`, one after the other; resolves with the last answer. */
async function repeat<T>(times: number, request: () => Promise<T>): Promise<T> {
  let answer = await request();
  for (let done = 1; done < times; done++) answer = await request();
  return answer;
}

/** The phases the probe reports by, one after the other against the gateway at `url`. */
async function probedPhases(url: string, settings: ManyQueuesSettings, filled: Filled, during: During): Promise<void> {
  const allQueues = settings.queues + 2;
  await during('while walking the queue list', () =>
    withClient(url, 1, async (client) => {
      let listed = 0;
      const pages = await walkList<QueueView>(client, 'queues', (queues) => {
        listed += queues.length;
      });
      // A walk that missed or repeated queues would not have read the list once.
      if (listed !== allQueues) throw new Error(`walked ${listed} queues, not the ${allQueues} there are`);
      return `GET /v1/queues?limit=${PAGE}, following nextCursor: ${count(listed)} queues in ${pages} page(s)`;
    }),
  );
  await during(`during ${REPEATS} scrapes`, async () => {
    const length = await repeat(REPEATS, () => scrape(url));
    return `${REPEATS} x GET /metrics, one after the other (${count(length)} characters each)`;
  });
  await during(`during ${REPEATS} dashboard refreshes`, () =>
    withClient(url, BROWSER_CONNECTIONS, async (client) => {
      const requests = await repeat(REPEATS, () => refreshDashboard(client));
      return `${REPEATS} x the dashboard's refresh, one after the other: ${count(requests)} requests each over ${BROWSER_CONNECTIONS} connections, as a browser's`;
    }),
  );
  await during(`during ${REPEATS} stats of the big queue`, () =>
    withClient(url, 1, async (client) => {
      const { stats } = await repeat(REPEATS, () => client.send<QueueView>('GET', `/v1/queues/${BIG}`));
      if (stats.ready !== filled.bigBacklog) throw new Error(`'${BIG}' has ${stats.ready} ready, not ${filled.bigBacklog}`);
      return `${REPEATS} x GET /v1/queues/${BIG}, one after the other (${count(stats.ready)} ready)`;
    }),
  );
  await during('while producing into each topic', () =>
    withClient(url, PREFILL_CONNECTIONS, async (client) => {
      const body = produceBody(1, MESSAGE_BYTES);
      await forEachIndex(settings.topics, PREFILL_CONNECTIONS, (index) => client.send('POST', `/v1/topics/${topicName(index)}/messages`, body));
      return `1 x 1 KB into each of the ${count(settings.topics)} topics (retention ${TOPIC_RETENTION_MS} ms), ${PREFILL_CONNECTIONS} requests in flight`;
    }),
  );
  await during(`during ${SWEEP_SECONDS} s of retention sweeps`, async () => {
    await sleep(SWEEP_SECONDS * 1000);
    return 'no request: the gateway sweeps every second, and again at once after a sweep that used its whole budget (1,000 messages)';
  });
}

/** Messages the topics still hold: the ones the sweeps have not deleted. */
async function retainedTopicMessages(client: JsonClient): Promise<number> {
  let held = 0;
  await walkList<TopicView>(client, 'topics', (topics) => {
    for (const topic of topics) held += topic.stats.partitions.reduce((sum, partition) => sum + partition.endOffset - partition.startOffset, 0);
  });
  return held;
}

/** A row of the probe: the p99 of `latencies` against the 50 ms. */
function probeRow(name: string, latencies: number[], notes: string[]): Row {
  if (latencies.length === 0) throw new Error(`no probe was sent ${name}: the phase was shorter than ${PROBE_PERIOD_MS} ms`);
  const ms = (q: number): string => quantile(latencies, q).toFixed(1);
  return {
    scenario: `(k) healthz p99 ${name}`,
    result: { value: quantile(latencies, 0.99), unit: 'ms' },
    baseline: { value: PROBE_P99_MS, unit: 'ms' },
    target: atMost(1),
    notes: [`p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms, max ${ms(1)} ms over ${count(latencies.length)} probes sent or due`, ...notes],
  };
}

function probeRows(phases: ProbedPhase[], retained: number, settings: ManyQueuesSettings): Row[] {
  const rows = phases.map((phase) => probeRow(phase.name, phase.latencies, [`${phase.note}; ${phase.seconds.toFixed(1)} s`]));
  const all = phases.flatMap((phase) => phase.latencies);
  const seconds = phases.reduce((sum, phase) => sum + phase.seconds, 0);
  const overall = probeRow('over all of those', all, [
    `baseline: the issue's target, p99 < ${PROBE_P99_MS} ms; the probe (a worker thread of the bench) sends GET /healthz on a keep-alive connection of its own every ${PROBE_PERIOD_MS} ms, or at once after an answer that took longer; the probes due while one waited count too, each with the rest of that wait`,
    `${seconds.toFixed(1)} s in all; afterwards the topics held ${count(retained)} of the ${count(settings.topics)} messages produced into them (the rest deleted by the sweeps)`,
  ]);
  return [...rows, overall];
}

/** A fetch+ack side whose queue is topped up before each run to its own latest rate × run time × HEADROOM. */
function fetchAckSide(url: string, log: ConsumeLog): Side {
  let latest = 0;
  const side = consumeSide(url, CONSUMERS, () => latest * HEADROOM, log);
  return async (seconds) => {
    latest = await side(seconds);
    return latest;
  };
}

/**
 * The same single-queue workload against a fresh gateway with nothing else
 * in it (baseline) and against the filled one at `manyUrl`, in alternating
 * rounds: first single-message produce, then fetch + ack of what it left.
 */
async function compareWorkload(settings: ManyQueuesSettings, manyUrl: string, beside: string): Promise<Row[]> {
  const logs = { none: emptyConsumeLog(), many: emptyConsumeLog() };
  const { produced, consumed } = await withFreshGateway([QUEUE], async (noneUrl) => {
    const spec = produceLoad(QUEUE, 1, PRODUCERS);
    const producedRounds = await alternate(settings, loadSide(spec(noneUrl)), loadSide(spec(manyUrl)));
    const consumedRounds = await alternate(settings, fetchAckSide(noneUrl, logs.none), fetchAckSide(manyUrl, logs.many));
    return { produced: producedRounds, consumed: consumedRounds };
  });
  const row = (scenario: string, alternation: Alternation, notes: string[]): Row =>
    alternatingRow(
      { scenario, resultUnit: 'msg/s', baselineUnit: 'msg/s', target: atLeast(1 / SLOWDOWN), notes: [`result: ${beside}; baseline: a fresh gateway with that one queue`, ...notes] },
      settings,
      alternation,
    );
  return [
    row(`(k) produce 1x1KB, ${PRODUCERS} conns, ${count(settings.queues)} other queues vs none`, produced, []),
    row(`(k) fetch ${CONSUMERS.batch} + ack, ${CONSUMERS.loops} consumers, ${count(settings.queues)} other queues vs none`, consumed, [
      `the produce rounds left the queues their first messages; before each later run a queue was topped up to its side's latest rate x run time x ${HEADROOM}`,
      `alone: ${drainedNote(logs.none)}; beside the others: ${drainedNote(logs.many)}`,
    ]),
  ];
}

/**
 * (k) 100,000 queues: a gateway (own process, synchronous=FULL) is filled
 * with BENCH_QUEUES queues, timed to show whether creating one costs more
 * the more there are; BENCH_TOPICS topics with a consumer group each; and a
 * queue of BENCH_BIG_BACKLOG ready messages. Then a health probe measures
 * how long the gateway keeps a request waiting while it lists, scrapes,
 * serves the dashboard, counts the big queue and sweeps; and the same
 * produce and fetch + ack of one queue are compared against a gateway with
 * nothing else in it.
 */
export async function manyQueues(settings: ManyQueuesSettings): Promise<Row[]> {
  return withTempDir('many-queues', (dir) =>
    withGateway(dir, 'FULL', async (url) => {
      const filled = await fill(url, settings);
      const phases = await withHealthProbe({ url, periodMs: PROBE_PERIOD_MS }, (during) =>
        probedPhases(url, settings, filled, (name, run) => {
          progress(`healthz probe ${name}`);
          return during(name, run);
        }),
      );
      const retained = await withClient(url, 1, retainedTopicMessages);
      progress('probed; comparing produce and fetch + ack with a gateway of one queue');
      const beside = `queue '${QUEUE}' beside ${count(settings.queues + 1)} other queues (one of ${count(filled.bigBacklog)} ready) and ${count(settings.topics)} topics with a group each`;
      const creation: Row = {
        scenario: `(k) create ${count(settings.queues)} queues, ${CREATORS} conns: last ${SHARE * 100}% vs first ${SHARE * 100}%`,
        result: { value: filled.lastShareMs, unit: 'ms' },
        baseline: { value: filled.firstShareMs, unit: 'ms' },
        target: atMost(LINEAR),
        notes: [
          `PUT /v1/queues/{name} with {}, ${CREATORS} in flight: all in ${filled.queuesSeconds.toFixed(1)} s (${count(Math.round(settings.queues / filled.queuesSeconds))} queues/s); each share timed by when its answers arrived`,
          `then ${count(settings.topics)} topics (retention ${TOPIC_RETENTION_MS} ms) each with a consumer group in ${filled.topicsSeconds.toFixed(1)} s; then ${count(filled.bigBacklog)} x ${BIG_MESSAGE_BYTES} B into '${BIG}' in ${filled.prefillSeconds.toFixed(1)} s (${count(Math.round(filled.bigBacklog / filled.prefillSeconds))} msg/s)`,
        ],
      };
      return [creation, ...probeRows(phases, retained, settings), ...(await compareWorkload(settings, url, beside))];
    }),
  );
}
