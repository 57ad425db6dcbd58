import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import LegacySQS from 'aws-sdk/clients/sqs';
import { withChildServer } from '../child';
import { CpuMeter, ownClock, processClock } from '../cpuMeter';
import { keepAliveAgent } from '../httpClient';
import { LoopDelay } from '../loopDelay';
import { withGateway } from '../gateway';
import { type LoopRun, runLoops } from '../loops';
import { atMost, type Row, type Target } from '../report';
import { type Alternation, alternate, alternatingRow, median, type Side } from '../rounds';
import type { RoundTiming } from '../settings';
import { withTempDir } from '../tempDir';

// aws-sdk v2 prints a maintenance-mode notice on a timer once it is loaded, unless this is set by then:
// five lines among the bench's progress lines.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';

export const EMULATOR = path.join(__dirname, '..', 'sqsEmulator.js');
/** What the send rounds leave would take local-aws-sqs past its cap: the receive rounds read another queue. */
const SEND_QUEUE = 'bench-send';
const RECEIVE_QUEUE = 'bench';
/** SQS's largest batch. */
export const BATCH = 10;
export const CLIENTS = 16;
export const BODY = 'x'.repeat(1024);
/**
 * Messages waiting when each receive round starts (put back, unmeasured,
 * before every round): a work queue with a backlog, as a consumer meets it.
 * Below local-aws-sqs's cap of 120,000 visible messages, past which it
 * refuses every ReceiveMessage with OverLimit.
 */
const BACKLOG = 50_000;
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** What a consumer calls of one queue. */
interface ConsumeCalls {
  /** ReceiveMessage of up to BATCH, no wait: the receipt handles of what came. */
  receive(): Promise<string[]>;
  deleteBatch(receipts: string[]): Promise<void>;
  close(): void;
}

/**
 * The calls the bench makes of one queue, through one SDK: the requests and
 * answers of that SDK's protocol are what the server's CPU is measured on.
 */
interface QueueCalls extends ConsumeCalls {
  /** SendMessageBatch of BATCH × 1 KB: how many were sent. */
  sendBatch(): Promise<number>;
  /** GetQueueAttributes' ApproximateNumberOfMessages. */
  waiting(): Promise<number>;
}

/** A message's whole life, sent one at a time, then received and deleted in batches: what (a″) meters (scenarios/peer.ts). */
export interface LifecycleCalls extends ConsumeCalls {
  /** SendMessage of one 1 KB message. */
  send(): Promise<void>;
}

const ENTRIES = Array.from({ length: BATCH }, (_, i) => ({ Id: `m${i}`, MessageBody: BODY }));

/** A batch with failed entries fails the run: a side would be measured on less work than it was given. */
function allSucceeded(call: string, failed: readonly unknown[]): void {
  if (failed.length > 0) throw new Error(`${call} failed ${failed.length}: ${JSON.stringify(failed[0])}`);
}

function receiptOf({ ReceiptHandle }: { ReceiptHandle?: string }): string {
  if (ReceiptHandle === undefined) throw new Error('ReceiveMessage answered a message without a ReceiptHandle');
  return ReceiptHandle;
}

const deleteEntries = (receipts: string[]): Array<{ Id: string; ReceiptHandle: string }> =>
  receipts.map((ReceiptHandle, i) => ({ Id: `d${i}`, ReceiptHandle }));

/** Queue `queue` at `url` through @aws-sdk/client-sqs (v3): the JSON 1.0 protocol. */
export async function jsonQueue(url: string, queue: string): Promise<QueueCalls & LifecycleCalls> {
  const sqs = new SQSClient({
    endpoint: url,
    region: REGION,
    credentials: CREDENTIALS,
    // Every side gets its batch at once: no retries hiding a slow answer.
    maxAttempts: 1,
    requestHandler: { httpAgent: keepAliveAgent(CLIENTS) },
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue }));
  if (QueueUrl === undefined) throw new Error(`${url}: CreateQueue answered no QueueUrl`);
  return {
    send: async () => {
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: BODY }));
    },
    sendBatch: async () => {
      const { Successful = [], Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: ENTRIES }));
      allSucceeded('SendMessageBatch', Failed);
      return Successful.length;
    },
    receive: async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 0 }));
      return Messages.map(receiptOf);
    },
    deleteBatch: async (receipts) => {
      const { Failed = [] } = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: deleteEntries(receipts) }));
      allSucceeded('DeleteMessageBatch', Failed);
    },
    waiting: async () => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes.ApproximateNumberOfMessages ?? 0);
    },
    close: () => sqs.destroy(),
  };
}

/**
 * Queue `queue` at `url` through aws-sdk v2 (2.1450.0, of the last releases
 * that speak it): the query protocol, form-encoded requests and XML answers,
 * each call sent to the queue's URL.
 */
async function queryQueue(url: string, queue: string): Promise<QueueCalls> {
  // Keep-alive sockets, one per client, as the v3 client keeps them: a connection per request would cost the server more than its protocol.
  const agent = keepAliveAgent(CLIENTS);
  const sqs = new LegacySQS({ endpoint: url, region: REGION, ...CREDENTIALS, maxRetries: 0, httpOptions: { agent } });
  const created = await sqs.createQueue({ QueueName: queue }).promise();
  // mqgate answers XML only to a form-encoded request: this side measures the query protocol, not JSON.
  const answered = created.$response.httpResponse.headers['content-type'];
  if (answered === undefined || !answered.startsWith('text/xml')) {
    throw new Error(`${url}: aws-sdk v2's CreateQueue was answered ${answered}, not XML`);
  }
  const { QueueUrl } = created;
  if (QueueUrl === undefined) throw new Error(`${url}: CreateQueue answered no QueueUrl`);
  return {
    sendBatch: async () => {
      const { Successful, Failed } = await sqs.sendMessageBatch({ QueueUrl, Entries: ENTRIES }).promise();
      allSucceeded('SendMessageBatch', Failed);
      return Successful.length;
    },
    receive: async () => {
      const { Messages = [] } = await sqs.receiveMessage({ QueueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 0 }).promise();
      return Messages.map(receiptOf);
    },
    deleteBatch: async (receipts) => {
      const { Failed } = await sqs.deleteMessageBatch({ QueueUrl, Entries: deleteEntries(receipts) }).promise();
      allSucceeded('DeleteMessageBatch', Failed);
    },
    waiting: async () => {
      const { Attributes = {} } = await sqs.getQueueAttributes({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }).promise();
      return Number(Attributes.ApproximateNumberOfMessages ?? 0);
    },
    close: () => agent.destroy(),
  };
}

/** The CPU an endpoint's runs are metered for: the server's process, and the SDK client (this process). */
type Metered = CpuMeter<'server' | 'client'>;

/**
 * A server as one side of a comparison: `meter` measures the CPU of its
 * runs, `delay` (the gateway's only, where /metrics needs no key) its event
 * loop; `rates` keeps the messages per second of each run, in run order.
 */
export interface MeteredServer {
  /** What the notes call it. */
  name: string;
  meter: Metered;
  delay: LoopDelay | null;
  rates: number[];
}

/** A MeteredServer named `name`, the process `pid`, and the client in this process. */
export function meteredServer(name: string, pid: number, delay: LoopDelay | null): MeteredServer {
  return { name, meter: new CpuMeter({ server: processClock(pid), client: ownClock }), delay, rates: [] };
}

/** One side of a comparison: a queue on one server, called through one SDK. */
interface Endpoint extends MeteredServer {
  calls: QueueCalls;
}

/**
 * Runs `run` under the server's meters; resolves with the server's CPU
 * time per message over it, µs, the figure the rows compare. The client's,
 * in this process, is metered apart and is not in it.
 */
export async function measured(server: MeteredServer, run: () => Promise<LoopRun>): Promise<number> {
  const metered = (): Promise<LoopRun> => server.meter.during(run);
  const { rate } = await (server.delay === null ? metered() : server.delay.during(metered));
  server.rates.push(rate);
  return server.meter.latest('server').perMessage;
}

/** SendMessageBatch of 10 × 1 KB from 16 clients. */
function sendSide(endpoint: Endpoint): Side {
  return (seconds) => measured(endpoint, () => runLoops(CLIENTS, seconds, () => endpoint.calls.sendBatch()));
}

/** Sends (unmeasured) until BACKLOG messages wait. */
async function topUp({ calls }: Endpoint): Promise<void> {
  let missing = BACKLOG - (await calls.waiting());
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (missing > 0) {
        missing -= BATCH;
        await calls.sendBatch();
      }
    }),
  );
}

/**
 * ReceiveMessage (up to 10, no wait) then DeleteMessageBatch of what came,
 * from 16 clients, from a queue with BACKLOG waiting at the start of each
 * round. An empty receive would end the run early.
 */
function receiveSide(endpoint: Endpoint): Side {
  const { calls } = endpoint;
  return async (seconds) => {
    await topUp(endpoint);
    const step = async (): Promise<number | 'exhausted'> => {
      const receipts = await calls.receive();
      if (receipts.length === 0) return 'exhausted';
      await calls.deleteBatch(receipts);
      return receipts.length;
    };
    return measured(endpoint, () => runLoops(CLIENTS, seconds, step));
  };
}

/** One load on two servers in alternating rounds, each side's CPU metered over its own rounds. */
interface Comparison {
  baseline: MeteredServer;
  result: MeteredServer;
  alternation: Alternation;
}

export async function compare<Server extends MeteredServer>(
  timing: RoundTiming,
  load: (server: Server) => Side,
  baseline: Server,
  result: Server,
): Promise<Comparison> {
  return { baseline, result, alternation: await alternate(timing, load(baseline), load(result)) };
}

/** What else the CPU did in a comparison: each round's figure, the client's share, and which process waited on which. */
function cpuNote({ baseline, result, alternation }: Comparison): string {
  const rounds = (endpoint: MeteredServer, values: number[]): string => `${endpoint.name} ${values.map((value) => value.toFixed(0)).join(' ')}`;
  const micros = (endpoint: MeteredServer, name: 'server' | 'client'): string => `${endpoint.meter.use(name).perMessage.toFixed(0)} µs`;
  const cores = (endpoint: MeteredServer, name: 'server' | 'client'): string => `${(endpoint.meter.use(name).cores * 100).toFixed(0)}%`;
  return (
    `server CPU µs/msg per round: ${rounds(result, alternation.results)}; ${rounds(baseline, alternation.baselines)}.` +
    ` Over every round, warm-up included: the client (this process) ${micros(result, 'client')} per message against ${result.name},` +
    ` ${micros(baseline, 'client')} against ${baseline.name}; share of a core: ${result.name} ${cores(result, 'server')} with its client at` +
    ` ${cores(result, 'client')}, ${baseline.name} ${cores(baseline, 'server')} with its client at ${cores(baseline, 'client')}`
  );
}

/** The throughputs of a comparison: context, not its target (the client in this process shares the machine's cores with the server). */
function throughputNote({ baseline, result }: Comparison): string {
  // alternate's first run of each side is its warm-up.
  const [resultRates, baselineRates] = [result.rates.slice(1), baseline.rates.slice(1)];
  const rate = (endpoint: MeteredServer, rates: number[]): string =>
    `${endpoint.name} ${Math.round(median(rates)).toLocaleString('en-US')} msg/s`;
  const ratios = resultRates.map((each, round) => (each / baselineRates[round]).toFixed(2)).join(' ');
  return (
    `throughput (context, not the target): ${rate(result, resultRates)}, ${rate(baseline, baselineRates)}, medians of the rounds;` +
    ` ratio per round ${ratios}`
  );
}

/** A row of `comparison`: the result's server CPU per message over the baseline's, median of the per-round ratios. */
export function cpuRow(timing: RoundTiming, comparison: Comparison, spec: { scenario: string; target: Target; notes: string[] }): Row {
  const delays = [comparison.result, comparison.baseline].flatMap(({ name, delay }) =>
    delay === null ? [] : [`${name}: ${delay.note()}`],
  );
  return alternatingRow(
    {
      scenario: spec.scenario,
      resultUnit: 'µs/msg',
      baselineUnit: 'µs/msg',
      target: spec.target,
      notes: [...spec.notes, cpuNote(comparison), throughputNote(comparison), ...delays],
    },
    timing,
    comparison.alternation,
  );
}

/**
 * (i) The SQS face's server CPU per message, in the same run: against
 * local-aws-sqs, an in-memory emulator, with the same SDK client and load on
 * each, send then receive + delete; then the query protocol (aws-sdk v2)
 * against JSON 1.0 (the v3 SDK), both on the same gateway process and queue.
 * mqgate commits and fsyncs every send (synchronous=FULL); the emulator keeps
 * messages in memory. CPU per message, not throughput: on a machine of few
 * cores the load generator takes one, and the client bounds the rate.
 */
export async function sqs(timing: RoundTiming): Promise<Row[]> {
  return withChildServer(EMULATOR, [], (emulatorUrl, emulatorPid) =>
    withTempDir('sqs', (dir) =>
      withGateway(dir, 'FULL', async (gatewayUrl, gatewayPid) => {
        const opened: Endpoint[] = [];
        const open = async (name: string, calls: Promise<QueueCalls>, pid: number, delay: LoopDelay | null): Promise<Endpoint> => {
          const endpoint: Endpoint = { ...meteredServer(name, pid, delay), calls: await calls };
          opened.push(endpoint);
          return endpoint;
        };
        const emulator = (queue: string): Promise<Endpoint> => open('local-aws-sqs', jsonQueue(emulatorUrl, queue), emulatorPid, null);
        const gateway = (name: string, sdk: (url: string, queue: string) => Promise<QueueCalls>, queue: string): Promise<Endpoint> =>
          open(name, sdk(gatewayUrl, queue), gatewayPid, new LoopDelay(gatewayUrl));
        try {
          const send = await compare(timing, sendSide, await emulator(SEND_QUEUE), await gateway('mqgate', jsonQueue, SEND_QUEUE));
          const receive = await compare(
            timing,
            receiveSide,
            await emulator(RECEIVE_QUEUE),
            await gateway('mqgate', jsonQueue, RECEIVE_QUEUE),
          );
          const querySend = await compare(
            timing,
            sendSide,
            await gateway('JSON 1.0', jsonQueue, SEND_QUEUE),
            await gateway('query', queryQueue, SEND_QUEUE),
          );
          const queryReceive = await compare(
            timing,
            receiveSide,
            await gateway('JSON 1.0', jsonQueue, RECEIVE_QUEUE),
            await gateway('query', queryQueue, RECEIVE_QUEUE),
          );
          const emulated =
            `@aws-sdk/client-sqs (JSON 1.0), ${CLIENTS} clients, 1 KB bodies; baseline: local-aws-sqs (in memory, no fsync) in its own process;` +
            " mqgate: synchronous=FULL, its own process; result, baseline: each server's CPU time (user + system of its process) per message," +
            ' median of the rounds';
          const protocols =
            'result: aws-sdk v2 (query protocol: form-encoded requests, XML answers); baseline: @aws-sdk/client-sqs (JSON 1.0);' +
            ` both against the same mqgate process and queue, ${CLIENTS} clients, the same batches and 1 KB bodies;` +
            " result, baseline: mqgate's CPU time per message under each, median of the rounds";
          const waiting = BACKLOG.toLocaleString('en-US');
          const backlog = `each receive round starts with ${waiting} messages waiting (sent before the round, unmeasured)`;
          const sending = `SendMessageBatch ${BATCH}x1KB`;
          const receiving = `ReceiveMessage ${BATCH} + DeleteMessageBatch, ${waiting} waiting`;
          return [
            cpuRow(timing, send, { scenario: `(i) SQS ${sending}, CPU vs local-aws-sqs`, target: atMost(1.5), notes: [emulated] }),
            cpuRow(timing, receive, { scenario: `(i) SQS ${receiving}, CPU vs local-aws-sqs`, target: atMost(0.8), notes: [backlog] }),
            cpuRow(timing, querySend, { scenario: `(i) SQS query ${sending}, CPU vs JSON 1.0`, target: atMost(1.2), notes: [protocols] }),
            cpuRow(timing, queryReceive, { scenario: `(i) SQS query ${receiving}, CPU vs JSON 1.0`, target: atMost(1.2), notes: [backlog] }),
          ];
        } finally {
          for (const endpoint of opened) endpoint.calls.close();
        }
      }),
    ),
  );
}
