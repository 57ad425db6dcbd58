import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { withChildServer } from '../child';
import { CpuMeter, ownClock, processClock } from '../cpuMeter';
import { LoopDelay } from '../loopDelay';
import { withGateway } from '../gateway';
import { type LoopRun, runLoops } from '../loops';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow, type Side } from '../rounds';
import type { RoundTiming } from '../settings';
import { withTempDir } from '../tempDir';

const EMULATOR = path.join(__dirname, '..', 'sqsEmulator.js');
/** What the send rounds leave would take local-aws-sqs past its cap: the receive rounds read another queue. */
const SEND_QUEUE = 'bench-send';
const RECEIVE_QUEUE = 'bench';
/** SQS's largest batch. */
const BATCH = 10;
const CLIENTS = 16;
const BODY = 'x'.repeat(1024);
/**
 * Messages waiting when each receive round starts (put back, unmeasured,
 * before every round): a work queue with a backlog, as a consumer meets it.
 * Below local-aws-sqs's cap of 120,000 visible messages, past which it
 * refuses every ReceiveMessage with OverLimit.
 */
const BACKLOG = 50_000;

/** The CPU an endpoint's runs are metered for: the endpoint's server process, and the SDK client (this process). */
type Metered = CpuMeter<'server' | 'client'>;

/**
 * One queue of an SQS endpoint as the bench drives it: the same SDK client
 * and calls for both; `meter` measures the CPU of its runs and `delay` (the
 * gateway's only) its event loop.
 */
interface Endpoint {
  sqs: SQSClient;
  queueUrl: string;
  meter: Metered;
  delay: LoopDelay | null;
}

/** Runs `run` under the endpoint's meters. */
async function measured(endpoint: Endpoint, run: () => Promise<LoopRun>): Promise<number> {
  const metered = (): Promise<LoopRun> => endpoint.meter.during(run);
  return (await (endpoint.delay === null ? metered() : endpoint.delay.during(metered))).rate;
}

async function endpoint(url: string, pid: number, queue: string, delay: LoopDelay | null): Promise<Endpoint> {
  const sqs = new SQSClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    // Both sides get their batch at once: no retries hiding a slow answer.
    maxAttempts: 1,
  });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queue }));
  if (QueueUrl === undefined) throw new Error(`${url}: CreateQueue answered no QueueUrl`);
  return { sqs, queueUrl: QueueUrl, meter: new CpuMeter({ server: processClock(pid), client: ownClock }), delay };
}

const ENTRIES = Array.from({ length: BATCH }, (_, i) => ({ Id: `m${i}`, MessageBody: BODY }));

/** One SendMessageBatch of 10 × 1 KB: how many were sent. */
async function sendBatch({ sqs, queueUrl }: Endpoint): Promise<number> {
  const { Successful = [], Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: ENTRIES }));
  if (Failed.length > 0) throw new Error(`SendMessageBatch failed ${Failed.length}: ${JSON.stringify(Failed[0])}`);
  return Successful.length;
}

/** SendMessageBatch of 10 × 1 KB from 16 clients: messages per second. */
function sendSide(endpoint: Endpoint): Side {
  return (seconds) => measured(endpoint, () => runLoops(CLIENTS, seconds, () => sendBatch(endpoint)));
}

/** Sends (unmeasured) until BACKLOG messages wait. */
async function topUp(endpoint: Endpoint): Promise<void> {
  const { Attributes = {} } = await endpoint.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: endpoint.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  let missing = BACKLOG - Number(Attributes.ApproximateNumberOfMessages ?? 0);
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (missing > 0) {
        missing -= BATCH;
        await sendBatch(endpoint);
      }
    }),
  );
}

/**
 * ReceiveMessage (up to 10, no wait) then DeleteMessageBatch of what came,
 * from 16 clients: messages per second, from a queue with BACKLOG waiting at
 * the start of each round. An empty receive would end the run early.
 */
function receiveSide(endpoint: Endpoint): Side {
  const { sqs, queueUrl } = endpoint;
  return async (seconds) => {
    await topUp(endpoint);
    const step = async (): Promise<number | 'exhausted'> => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: 0 }));
      if (Messages.length === 0) return 'exhausted';
      const Entries = Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle }));
      const { Failed = [] } = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
      if (Failed.length > 0) throw new Error(`DeleteMessageBatch failed ${Failed.length}: ${JSON.stringify(Failed[0])}`);
      return Messages.length;
    };
    return measured(endpoint, () => runLoops(CLIENTS, seconds, step));
  };
}

/** What the CPU did in one comparison: which side waited on what. */
function cpuNote(gateway: Metered, emulator: Metered): string {
  const micros = (meter: Metered, name: 'server' | 'client'): string => `${meter.use(name).perMessage.toFixed(0)} µs`;
  const cores = (meter: Metered, name: 'server' | 'client'): string => `${(meter.use(name).cores * 100).toFixed(0)}%`;
  return (
    `CPU per message (every round, warm-up included): mqgate ${micros(gateway, 'server')}, local-aws-sqs ${micros(emulator, 'server')};` +
    ` the SDK client ${micros(gateway, 'client')} against mqgate, ${micros(emulator, 'client')} against local-aws-sqs.` +
    ` Share of a core: mqgate ${cores(gateway, 'server')} with its client at ${cores(gateway, 'client')},` +
    ` local-aws-sqs ${cores(emulator, 'server')} with its client at ${cores(emulator, 'client')}`
  );
}

/**
 * (i) The SQS face against local-aws-sqs, an in-memory emulator: the same
 * SDK client and load against each, send then receive + delete. mqgate
 * commits and fsyncs every send (synchronous=FULL); the emulator keeps
 * messages in memory.
 */
export async function sqs(timing: RoundTiming): Promise<Row[]> {
  return withChildServer(EMULATOR, [], (emulatorUrl, emulatorPid) =>
    withTempDir('sqs', (dir) =>
      withGateway(dir, 'FULL', async (gatewayUrl, gatewayPid) => {
        const sendDelay = new LoopDelay(gatewayUrl);
        const receiveDelay = new LoopDelay(gatewayUrl);
        const sides = [
          await endpoint(emulatorUrl, emulatorPid, SEND_QUEUE, null),
          await endpoint(gatewayUrl, gatewayPid, SEND_QUEUE, sendDelay),
          await endpoint(emulatorUrl, emulatorPid, RECEIVE_QUEUE, null),
          await endpoint(gatewayUrl, gatewayPid, RECEIVE_QUEUE, receiveDelay),
        ];
        try {
          const send = await alternate(timing, sendSide(sides[0]), sendSide(sides[1]));
          const receive = await alternate(timing, receiveSide(sides[2]), receiveSide(sides[3]));
          const notes = [
            `@aws-sdk/client-sqs, ${CLIENTS} clients, 1 KB bodies; baseline: local-aws-sqs (in memory, no fsync) in its own process;` +
              ' mqgate: synchronous=FULL, its own process',
          ];
          return [
            alternatingRow(
              {
                scenario: `(i) SQS SendMessageBatch ${BATCH}x1KB`,
                resultUnit: 'msg/s',
                baselineUnit: 'msg/s',
                target: atLeast(1.5),
                notes: [...notes, cpuNote(sides[1].meter, sides[0].meter), sendDelay.note()],
              },
              timing,
              send,
            ),
            alternatingRow(
              {
                scenario: `(i) SQS ReceiveMessage ${BATCH} + DeleteMessageBatch, ${BACKLOG.toLocaleString('en-US')} waiting`,
                resultUnit: 'msg/s',
                baselineUnit: 'msg/s',
                target: atLeast(1.5),
                notes: [
                  ...notes,
                  `each receive round starts with ${BACKLOG.toLocaleString('en-US')} messages waiting (sent before the round, unmeasured)`,
                  cpuNote(sides[3].meter, sides[2].meter),
                  receiveDelay.note(),
                ],
              },
              timing,
              receive,
            ),
          ];
        } finally {
          for (const side of sides) side.sqs.destroy();
        }
      }),
    ),
  );
}
