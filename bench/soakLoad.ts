import { Pace, sleep } from './loops';
import { jsonValueOfSize, MESSAGE_BYTES, produceBody } from './payload';
import {
  integerField,
  messagesOf,
  problemCode,
  receiptsOf,
  resultCounts,
  SoakClient,
  type SoakResponse,
  stringField,
  UnexpectedStatus,
} from './soakClient';

/*
 * The mixed load of `npm run bench:soak`. Producers are paced (a steady rate
 * per loop, times SOAK_LOAD), consumers are not: they long-poll, so they take
 * what arrives and the backlog stays small — a soak should reach a steady
 * state, so that a growing RSS or fd count means a leak, not more data.
 */

/** The two work queues: single and batch producers and the consumers are spread over them. */
export const WORK_QUEUES = ['soak-q0', 'soak-q1'] as const;
/** Where messages go after MAX_DELIVERIES deliveries without an ack; drained by its own consumer. */
export const DEAD_LETTER_QUEUE = 'soak-dlq';
/** Nobody produces here: its fetches are long-polls that wait out their time. */
const IDLE_QUEUE = 'soak-idle';
/** A keyed, partitioned log with a short retention, so the retention sweep runs all along too. */
export const TOPIC = 'soak-events';
/** Nobody produces here: its partition reads are long-polls. */
const QUIET_TOPIC = 'soak-quiet';
const SIMPLE_GROUP = 'soak-simple';
const MEMBER_GROUP = 'soak-members';
export const GROUPS = [SIMPLE_GROUP, MEMBER_GROUP] as const;

const TOPIC_PARTITIONS = 4;
const TOPIC_RETENTION_MS = 60_000;
const MAX_DELIVERIES = 3;

const SINGLE_PRODUCERS = 4;
/** Requests per second per single-message producer, times SOAK_LOAD. */
const SINGLE_RATE = 50;
const BATCH_PRODUCERS = 2;
const BATCH_RATE = 5;
const BATCH_SIZE = 50;
const CONSUMERS = 4;
const FETCH_MAX = 25;
/** Every wait of the active loops is at most this, so they stop within it. */
const ACTIVE_WAIT_MS = 2000;
/** A lease not settled in this time expires and the message comes back. */
const LEASE_MS = 3000;
/** A consumer's "work" on a batch, between fetch and ack: lets batches build up, as real consumers do. */
const PROCESSING_MS = 20;
const NACK_SHARE = 0.05;
const EXPIRE_SHARE = 0.05;
const NACK_DELAY_MS = 500;
const TOPIC_PRODUCERS = 2;
const TOPIC_RATE = 10;
const TOPIC_BATCH = 20;
const TOPIC_MESSAGE_BYTES = 256;
const KEYS = 1000;
const GROUP_MEMBERS = 2;
const GROUP_FETCH_MAX = 100;
const GROUP_PROCESSING_MS = 50;
const IDLE_QUEUE_POLLS = 3;
const IDLE_TOPIC_POLLS = 1;
/** Long-polls that wait out their time; at the end they are still waiting when the gateway gets SIGTERM. */
const IDLE_WAIT_MS = 15_000;
const CHURN_RATE = 2;
const CHURN_MESSAGES = 10;
/** After an unexpected error a loop pauses, so a broken request cannot spin. */
const ERROR_PAUSE_MS = 250;
/** Unexpected errors whose message is kept for the report. */
const KEPT_ERRORS = 10;

/** What the load counts, in report order, with what each means. */
export const OPERATIONS = {
  queueProduceSingle: `queue produce requests, 1 x ${MESSAGE_BYTES} B`,
  queueProduceBatch: `queue produce requests, ${BATCH_SIZE} x ${MESSAGE_BYTES} B`,
  queueMessagesProduced: 'queue messages produced',
  queueFetches: `queue fetches (max ${FETCH_MAX}, long-poll ${ACTIVE_WAIT_MS} ms, lease ${LEASE_MS} ms)`,
  queueMessagesFetched: 'queue messages fetched',
  acked: 'queue messages acked',
  nacked: `queue messages nacked (ready again after ${NACK_DELAY_MS} ms)`,
  leftToExpire: 'queue leases left to expire',
  settleRefused: 'ack/nack refused: lease had expired',
  deadLettersDrained: `dead letters fetched + acked (after ${MAX_DELIVERIES} deliveries)`,
  topicProduces: `topic produce requests, ${TOPIC_BATCH} keyed x ${TOPIC_MESSAGE_BYTES} B`,
  topicMessagesProduced: `topic messages produced (${TOPIC_PARTITIONS} partitions, retention ${TOPIC_RETENTION_MS / 1000} s)`,
  groupFetches: `consumer-group fetches (long-poll ${ACTIVE_WAIT_MS} ms)`,
  groupMessagesFetched: 'consumer-group messages fetched',
  groupCommits: 'consumer-group commits',
  groupJoins: 'consumer-group joins (each a rebalance)',
  staleCommits: 'consumer-group commits refused: stale generation',
  idleLongPolls: `idle long-polls waited out (${IDLE_WAIT_MS / 1000} s each)`,
  churnCycles: `queue churn: create, produce ${CHURN_MESSAGES}, fetch + ack, delete`,
  requests: 'HTTP requests answered',
  errors: 'unexpected errors',
} as const;

export type Operation = keyof typeof OPERATIONS;
export type Counts = Record<Operation, number>;

function zeroCounts(): Counts {
  const counts = {} as Counts;
  for (const name of Object.keys(OPERATIONS) as Operation[]) counts[name] = 0;
  return counts;
}

type Step = () => Promise<void>;

interface Workload {
  name: string;
  loops: number;
  /** Long-polls that are left waiting at the end, to see the gateway answer them on SIGTERM. */
  idle: boolean;
  /** The step of loop `index`, with the loop's own state. */
  loop: (client: SoakClient, index: number) => Step;
}

/** How the idle long-polls that were waiting at SIGTERM ended. */
export interface ShutdownPolls {
  answered: number;
  failed: number;
  failures: string[];
}

export interface LoadErrors {
  byWorkload: Record<string, number>;
  /** The first few messages. */
  first: string[];
}

/**
 * The mixed load against one gateway: `start` creates the queues, topics and
 * groups and starts every loop; `stopActive` ends all but the idle
 * long-polls, which `finishIdle` awaits once the gateway has been told to
 * shut down.
 */
export class SoakLoad {
  private readonly counts = zeroCounts();
  private readonly clients: SoakClient[] = [];
  private readonly active: Array<Promise<void>> = [];
  private readonly idle: Array<Promise<void>> = [];
  private stopped = false;
  private shuttingDown = false;
  private readonly errorLog: LoadErrors = { byWorkload: {}, first: [] };
  private readonly shutdownPolls: ShutdownPolls = { answered: 0, failed: 0, failures: [] };
  private churned = 0;

  constructor(
    private readonly url: string,
    /** Multiplies every paced rate (SOAK_LOAD). */
    private readonly load: number,
  ) {}

  /** The counters so far, requests included. */
  snapshot(): Counts {
    return { ...this.counts, requests: this.clients.reduce((sum, client) => sum + client.answered, 0) };
  }

  errors(): LoadErrors {
    return { byWorkload: { ...this.errorLog.byWorkload }, first: [...this.errorLog.first] };
  }

  async start(): Promise<void> {
    const setup = this.client(1);
    const put = (path: string, settings: object): Promise<unknown> => setup.expect([201], 'PUT', path, JSON.stringify(settings));
    await put(`/v1/queues/${DEAD_LETTER_QUEUE}`, {});
    for (const queue of WORK_QUEUES) {
      await put(`/v1/queues/${queue}`, { maxDeliveries: MAX_DELIVERIES, deadLetterQueue: DEAD_LETTER_QUEUE });
    }
    await put(`/v1/queues/${IDLE_QUEUE}`, {});
    await put(`/v1/topics/${TOPIC}`, { partitions: TOPIC_PARTITIONS, retentionMs: TOPIC_RETENTION_MS });
    await put(`/v1/topics/${QUIET_TOPIC}`, { partitions: 1 });
    for (const group of GROUPS) await put(`/v1/topics/${TOPIC}/groups/${group}`, { resetPolicy: 'earliest' });

    for (const workload of this.workloads()) {
      const client = this.client(workload.loops);
      for (let index = 0; index < workload.loops; index += 1) {
        const running = this.run(workload, workload.loop(client, index));
        (workload.idle ? this.idle : this.active).push(running);
      }
    }
  }

  /** Ends every loop but the idle long-polls; resolves once their last requests are answered. */
  async stopActive(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.active);
  }

  /**
   * Call right before the gateway gets SIGTERM: the idle long-polls still
   * waiting should then be answered by its shutdown. Resolves once they all
   * have ended, with how.
   */
  async finishIdle(): Promise<ShutdownPolls> {
    this.stopped = true;
    this.shuttingDown = true;
    await Promise.all(this.idle);
    for (const client of this.clients) client.close();
    return { ...this.shutdownPolls, failures: [...this.shutdownPolls.failures] };
  }

  private client(connections: number): SoakClient {
    const client = new SoakClient(this.url, connections);
    this.clients.push(client);
    return client;
  }

  private async run(workload: Workload, step: Step): Promise<void> {
    while (!this.stopped) {
      try {
        await step();
        if (this.shuttingDown && workload.idle) this.shutdownPolls.answered += 1;
      } catch (error) {
        const message = `${workload.name}: ${error instanceof Error ? error.message : String(error)}`;
        if (this.shuttingDown && workload.idle) {
          this.shutdownPolls.failed += 1;
          if (this.shutdownPolls.failures.length < KEPT_ERRORS) this.shutdownPolls.failures.push(message);
          return;
        }
        this.counts.errors += 1;
        this.errorLog.byWorkload[workload.name] = (this.errorLog.byWorkload[workload.name] ?? 0) + 1;
        if (this.errorLog.first.length < KEPT_ERRORS) this.errorLog.first.push(message);
        await sleep(ERROR_PAUSE_MS);
      }
    }
  }

  private workloads(): Workload[] {
    return [
      { name: 'produce single', loops: SINGLE_PRODUCERS, idle: false, loop: (client, index) => this.produceSingle(client, index) },
      { name: 'produce batch', loops: BATCH_PRODUCERS, idle: false, loop: (client, index) => this.produceBatch(client, index) },
      { name: 'fetch + ack', loops: CONSUMERS, idle: false, loop: (client, index) => this.consume(client, index) },
      { name: 'dead letters', loops: 1, idle: false, loop: (client) => this.drainDeadLetters(client) },
      { name: 'topic produce', loops: TOPIC_PRODUCERS, idle: false, loop: (client) => this.produceTopic(client) },
      { name: 'simple consumer', loops: 1, idle: false, loop: (client) => this.simpleConsumer(client) },
      { name: 'group member', loops: GROUP_MEMBERS, idle: false, loop: (client) => this.groupMember(client) },
      { name: 'queue churn', loops: 1, idle: false, loop: (client) => this.churn(client) },
      { name: 'idle queue long-poll', loops: IDLE_QUEUE_POLLS, idle: true, loop: (client) => this.idleQueuePoll(client) },
      { name: 'idle topic long-poll', loops: IDLE_TOPIC_POLLS, idle: true, loop: (client) => this.idleTopicPoll(client) },
    ];
  }

  private produceSingle(client: SoakClient, index: number): Step {
    const pace = new Pace(SINGLE_RATE * this.load);
    const path = `/v1/queues/${WORK_QUEUES[index % WORK_QUEUES.length]}/messages`;
    const body = produceBody(1, MESSAGE_BYTES);
    return async () => {
      await pace.wait();
      await client.expect([201], 'POST', path, body);
      this.counts.queueProduceSingle += 1;
      this.counts.queueMessagesProduced += 1;
    };
  }

  private produceBatch(client: SoakClient, index: number): Step {
    const pace = new Pace(BATCH_RATE * this.load);
    const path = `/v1/queues/${WORK_QUEUES[index % WORK_QUEUES.length]}/messages`;
    const body = produceBody(BATCH_SIZE, MESSAGE_BYTES);
    return async () => {
      await pace.wait();
      await client.expect([201], 'POST', path, body);
      this.counts.queueProduceBatch += 1;
      this.counts.queueMessagesProduced += BATCH_SIZE;
    };
  }

  /** Counts an ack or nack answer: `done` is the status of a settled receipt; only an expired lease may refuse one. */
  private settled(counts: Map<string, number>, done: 'acked' | 'nacked'): void {
    for (const [status, count] of counts) {
      if (status === done) this.counts[done] += count;
      else if (status === 'expired') this.counts.settleRefused += count;
      else throw new Error(`a receipt of a live lease came back ${status}`);
    }
  }

  /** Fetch under a short lease, "work", then ack most, nack some and leave some to expire. */
  private consume(client: SoakClient, index: number): Step {
    const queue = WORK_QUEUES[index % WORK_QUEUES.length];
    const fetchBody = JSON.stringify({ max: FETCH_MAX, waitMs: ACTIVE_WAIT_MS, visibilityTimeoutMs: LEASE_MS });
    return async () => {
      const receipts = receiptsOf(await client.expect([200], 'POST', `/v1/queues/${queue}/fetch`, fetchBody));
      this.counts.queueFetches += 1;
      if (receipts.length === 0) return;
      this.counts.queueMessagesFetched += receipts.length;
      await sleep(PROCESSING_MS);
      const acks: string[] = [];
      const nacks: string[] = [];
      for (const receipt of receipts) {
        const draw = Math.random();
        if (draw < NACK_SHARE) nacks.push(receipt);
        else if (draw < NACK_SHARE + EXPIRE_SHARE) this.counts.leftToExpire += 1;
        else acks.push(receipt);
      }
      if (acks.length > 0) {
        const answer = await client.expect([200], 'POST', `/v1/queues/${queue}/ack`, JSON.stringify({ receipts: acks }));
        this.settled(resultCounts(answer), 'acked');
      }
      if (nacks.length > 0) {
        const body = JSON.stringify({ receipts: nacks, delayMs: NACK_DELAY_MS });
        this.settled(resultCounts(await client.expect([200], 'POST', `/v1/queues/${queue}/nack`, body)), 'nacked');
      }
    };
  }

  private drainDeadLetters(client: SoakClient): Step {
    const fetchBody = JSON.stringify({ max: 100, waitMs: ACTIVE_WAIT_MS });
    return async () => {
      const receipts = receiptsOf(await client.expect([200], 'POST', `/v1/queues/${DEAD_LETTER_QUEUE}/fetch`, fetchBody));
      if (receipts.length === 0) return;
      const answer = await client.expect([200], 'POST', `/v1/queues/${DEAD_LETTER_QUEUE}/ack`, JSON.stringify({ receipts }));
      const acked = resultCounts(answer).get('acked') ?? 0;
      if (acked !== receipts.length) throw new Error(`dead letters: ${receipts.length - acked} of ${receipts.length} acks refused`);
      this.counts.deadLettersDrained += acked;
    };
  }

  private produceTopic(client: SoakClient): Step {
    const pace = new Pace(TOPIC_RATE * this.load);
    const value = jsonValueOfSize(TOPIC_MESSAGE_BYTES);
    return async () => {
      await pace.wait();
      const messages = Array.from({ length: TOPIC_BATCH }, () => ({ key: `customer-${Math.floor(Math.random() * KEYS)}`, value }));
      await client.expect([201], 'POST', `/v1/topics/${TOPIC}/messages`, JSON.stringify({ messages }));
      this.counts.topicProduces += 1;
      this.counts.topicMessagesProduced += TOPIC_BATCH;
    };
  }

  /** A consumer of every partition without membership: fetch from the group's position, commit what it delivered. */
  private simpleConsumer(client: SoakClient): Step {
    const fetchBody = JSON.stringify({ max: GROUP_FETCH_MAX * 2, waitMs: ACTIVE_WAIT_MS });
    return async () => {
      const fetched = messagesOf(await client.expect([200], 'POST', `/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}/fetch`, fetchBody));
      this.counts.groupFetches += 1;
      if (fetched.length === 0) return;
      this.counts.groupMessagesFetched += fetched.length;
      await sleep(GROUP_PROCESSING_MS);
      await client.expect([200], 'POST', `/v1/topics/${TOPIC}/groups/${SIMPLE_GROUP}/commit`, '{}');
      this.counts.groupCommits += 1;
    };
  }

  /**
   * A member of a group: joins (a rebalance), fetches its partitions and
   * commits with its generation. A commit that a rebalance made stale is
   * part of the protocol, not an error; an unknown member joins again.
   */
  private groupMember(client: SoakClient): Step {
    const base = `/v1/topics/${TOPIC}/groups/${MEMBER_GROUP}`;
    let memberId: string | null = null;
    const refused = (path: string, answer: SoakResponse): boolean => {
      if (answer.status !== 409) return false;
      const code = problemCode(answer);
      if (code === 'unknown_member') memberId = null;
      else if (code === 'stale_generation') this.counts.staleCommits += 1;
      else throw new UnexpectedStatus('POST', path, answer);
      return true;
    };
    return async () => {
      if (memberId === null) {
        memberId = stringField(await client.expect([201], 'POST', `${base}/members`), 'memberId');
        this.counts.groupJoins += 1;
        return;
      }
      const fetchBody = JSON.stringify({ memberId, max: GROUP_FETCH_MAX, waitMs: ACTIVE_WAIT_MS });
      const answer = await client.expect([200, 409], 'POST', `${base}/fetch`, fetchBody);
      if (refused(`${base}/fetch`, answer)) return;
      this.counts.groupFetches += 1;
      const generation = integerField(answer, 'generation');
      const fetched = messagesOf(answer);
      if (fetched.length === 0) return;
      this.counts.groupMessagesFetched += fetched.length;
      await sleep(GROUP_PROCESSING_MS);
      const commit = await client.expect([200, 409], 'POST', `${base}/commit`, JSON.stringify({ memberId, generation }));
      if (!refused(`${base}/commit`, commit)) this.counts.groupCommits += 1;
    };
  }

  /** Create a queue, use it briefly (leaving some messages and leases behind) and delete it. */
  private churn(client: SoakClient): Step {
    const pace = new Pace(CHURN_RATE * this.load);
    const produce = produceBody(CHURN_MESSAGES, TOPIC_MESSAGE_BYTES);
    const fetchBody = JSON.stringify({ max: CHURN_MESSAGES / 2 });
    return async () => {
      await pace.wait();
      this.churned += 1;
      const path = `/v1/queues/soak-churn-${this.churned}`;
      await client.expect([201], 'PUT', path, '{}');
      await client.expect([201], 'POST', `${path}/messages`, produce);
      const receipts = receiptsOf(await client.expect([200], 'POST', `${path}/fetch`, fetchBody));
      if (receipts.length > 1) {
        // Ack all but one: the queue goes with a lease still held and messages still ready.
        await client.expect([200], 'POST', `${path}/ack`, JSON.stringify({ receipts: receipts.slice(1) }));
      }
      await client.expect([204], 'DELETE', path);
      this.counts.churnCycles += 1;
    };
  }

  private idleQueuePoll(client: SoakClient): Step {
    const fetchBody = JSON.stringify({ max: 10, waitMs: IDLE_WAIT_MS });
    return async () => {
      await client.expect([200], 'POST', `/v1/queues/${IDLE_QUEUE}/fetch`, fetchBody);
      this.counts.idleLongPolls += 1;
    };
  }

  private idleTopicPoll(client: SoakClient): Step {
    const path = `/v1/topics/${QUIET_TOPIC}/partitions/0/messages?offset=latest&waitMs=${IDLE_WAIT_MS}`;
    return async () => {
      await client.expect([200], 'GET', path);
      this.counts.idleLongPolls += 1;
    };
  }
}
