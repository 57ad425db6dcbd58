import { withChildServer } from '../child';
import { type BenchKey, withBenchKey, withFreshKeyedGateway } from '../gateway';
import { JsonClient, requestOnce } from '../httpClient';
import { type LoadSpec, loadSide } from '../load';
import { runLoops } from '../loops';
import { MESSAGE_BYTES, produceBody } from '../payload';
import { atLeast, atMost, type Row } from '../report';
import { alternate, alternatingRow, type Side } from '../rounds';
import type { RoundTiming } from '../settings';
import { ackAll, fetchReceipts } from './consume';
import { keyedProduceLoad, SCENARIO } from './produceSingle';
import {
  BATCH,
  BODY,
  CLIENTS,
  compare,
  cpuRow,
  EMULATOR,
  jsonQueue,
  type LifecycleCalls,
  measured,
  type MeteredServer,
  meteredServer,
} from './sqs';

/** Where the throughput rounds produce and send (as (a) does on the gateway). */
const SEND_QUEUE = 'bench';
/** Where the CPU rounds send, receive and delete. */
const LIFECYCLE_QUEUE = 'bench-lifecycle';
const ONE_MESSAGE = produceBody(1, MESSAGE_BYTES);
const FETCH_BODY = JSON.stringify({ max: BATCH });

/**
 * The headers of an SQS action in the JSON 1.0 protocol, as
 * @aws-sdk/client-sqs sends them (less its signature, which local-aws-sqs
 * does not check).
 */
function sqsAction(action: string): Record<string, string> {
  return { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${action}` };
}

/** Creates queue SEND_QUEUE on local-aws-sqs at `url`; the load of `like` (its connections), turned into SendMessage of 1 KB to it. */
async function emulatorSendLoad(url: string, like: LoadSpec): Promise<LoadSpec> {
  const create = JSON.stringify({ QueueName: SEND_QUEUE });
  const { QueueUrl } = await requestOnce<{ QueueUrl: string }>(url, 'POST', '/', create, sqsAction('CreateQueue'));
  const body = JSON.stringify({ QueueUrl, MessageBody: BODY });
  return { url: `${url}/`, method: 'POST', body, connections: like.connections, headers: sqsAction('SendMessage') };
}

/** The /v1 calls of a message's life on queue LIFECYCLE_QUEUE of the gateway at `url`, each with `key`. */
function v1Calls(url: string, key: BenchKey): LifecycleCalls {
  const client = new JsonClient(url, CLIENTS, key.headers);
  return {
    send: async () => {
      await client.send('POST', `/v1/queues/${LIFECYCLE_QUEUE}/messages`, ONE_MESSAGE);
    },
    receive: () => fetchReceipts(client, LIFECYCLE_QUEUE, FETCH_BODY),
    deleteBatch: (receipts) => ackAll(client, LIFECYCLE_QUEUE, receipts),
    close: () => client.close(),
  };
}

/**
 * A server of the CPU comparison. Its calls are opened for each run, on
 * fresh connections: those of the last run sat idle through the other
 * side's round, past a keep-alive timeout.
 */
interface LifecycleServer extends MeteredServer {
  open(): Promise<LifecycleCalls>;
}

/** BATCH messages sent one after the other, then a receive of up to BATCH and a delete of what came: how many were deleted. */
async function lifecycle(calls: LifecycleCalls): Promise<number> {
  for (let i = 0; i < BATCH; i++) await calls.send();
  const receipts = await calls.receive();
  // Another loop may have received them first: what is left waits for the next receive.
  if (receipts.length > 0) await calls.deleteBatch(receipts);
  return receipts.length;
}

/** CLIENTS loops of `lifecycle`: the server's CPU µs per message deleted. */
function lifecycleSide(server: LifecycleServer): Side {
  return async (seconds) => {
    const calls = await server.open();
    try {
      return await measured(server, () => runLoops(CLIENTS, seconds, () => lifecycle(calls)));
    } finally {
      calls.close();
    }
  };
}

/**
 * (a″) The gateway against a peer, local-aws-sqs (an in-memory SQS
 * emulator, its own process), in the same run: the load of (a) — single
 * 1 KB produces at 64 connections, each with an API key — against
 * SendMessage of 1 KB at the same connections (throughput); then each
 * server's CPU per message over its whole life: single sends, then a receive
 * of up to 10 and a delete of those (/v1 produce, fetch, ack; SendMessage,
 * ReceiveMessage, DeleteMessageBatch).
 */
export async function peer(timing: RoundTiming): Promise<Row[]> {
  return withChildServer(EMULATOR, [], (emulatorUrl, emulatorPid) =>
    withBenchKey((key) =>
      withFreshKeyedGateway(key, [SEND_QUEUE, LIFECYCLE_QUEUE], async (gateway) => {
        // CPU first: the emulator keeps every message sent in memory, and the throughput rounds leave it a heap of them.
        const cpu = await compare<LifecycleServer>(
          timing,
          lifecycleSide,
          { ...meteredServer('local-aws-sqs', emulatorPid, null), open: () => jsonQueue(emulatorUrl, LIFECYCLE_QUEUE) },
          // /metrics needs a key: no event-loop delay.
          { ...meteredServer('mqgate', gateway.pid, null), open: async () => v1Calls(gateway.url, key) },
        );
        const gatewayLoad = keyedProduceLoad(gateway.url, key);
        const emulatorLoad = await emulatorSendLoad(emulatorUrl, gatewayLoad);
        const throughput = await alternate(timing, loadSide(emulatorLoad), loadSide(gatewayLoad));
        return [
          alternatingRow(
            {
              scenario: `(a″) ${SCENARIO} vs local-aws-sqs SendMessage`,
              resultUnit: 'msg/s',
              baselineUnit: 'msg/s',
              target: atLeast(1.0),
              notes: [
                'result: the load of (a) on a gateway with its keys file, each request with the key; baseline: the same connections of autocannon' +
                  ' sending SendMessage of a 1 KB MessageBody to local-aws-sqs (JSON 1.0: X-Amz-Target AmazonSQS.SendMessage,' +
                  ' application/x-amz-json-1.0), in memory, no fsync, its own process; mqgate commits and fsyncs every message',
              ],
            },
            timing,
            throughput,
          ),
          cpuRow(timing, cpu, {
            scenario: `(a″) produce 1x1KB + fetch ${BATCH} + ack, CPU vs local-aws-sqs`,
            target: atMost(1.5),
            notes: [
              `each of ${CLIENTS} client loops: ${BATCH} single 1 KB sends one after the other, then a receive of up to ${BATCH}` +
                ` and a delete of what came; mqgate: POST /v1/queues/{q}/messages (1 message), /fetch {"max":${BATCH}}, /ack,` +
                ` with the key, over node:http; local-aws-sqs: SendMessage, ReceiveMessage (MaxNumberOfMessages ${BATCH}, no wait),` +
                ' DeleteMessageBatch through @aws-sdk/client-sqs (JSON 1.0);' +
                " result, baseline: each server's CPU time (user + system of its process) per message deleted, median of the rounds",
            ],
          }),
        ];
      }),
    ),
  );
}
