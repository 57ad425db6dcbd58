import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { withFreshGateway } from '../gateway';
import { JsonClient, Poster } from '../httpClient';
import { runLoops } from '../loops';
import { MESSAGE_BYTES } from '../payload';
import { atLeast, atMost, type Row } from '../report';
import { alternate, alternatingRow, quantile, type Side } from '../rounds';
import type { RoundTiming } from '../settings';

const QUEUE = 'bench-rr';
/** Callers waiting at once, on either side. */
const CALLERS = 16;
/** Consumer loops over the queue, each taking up to `BATCH` requests per fetch. */
const CONSUMERS = 8;
const BATCH = 16;
/** Targets of the issue: p50 at most 3× the direct call's, throughput at least 0.3× of it. */
const P50_TARGET = 3;
const THROUGHPUT_TARGET = 0.3;

const BODY = Buffer.from('x'.repeat(MESSAGE_BYTES));
const HEADERS = { 'content-type': 'text/plain' };

interface Fetched {
  messages: Array<{ receipt: string; value: string; headers: Record<string, string> }>;
}

/** The service a caller depends on: answers each request with its own body. */
async function startEchoService(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.writeHead(200, HEADERS).end(Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The same service behind the queue: consumer loops that fetch requests,
 * answer each with its own body at its reply address, and ack the batch,
 * until `stop` is called.
 */
function startConsumers(gatewayUrl: string): () => Promise<void> {
  const client = new JsonClient(gatewayUrl, CONSUMERS);
  const replies = new Poster(gatewayUrl, CALLERS);
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const { messages } = await client.send<Fetched>('POST', `/v1/queues/${QUEUE}/fetch`, JSON.stringify({ max: BATCH, waitMs: 1000 }));
      if (messages.length === 0) continue;
      await Promise.all(messages.map((m) => replies.post(HEADERS, Buffer.from(m.value), m.headers['mqgate-reply-to'])));
      await client.send('POST', `/v1/queues/${QUEUE}/ack`, JSON.stringify({ receipts: messages.map((m) => m.receipt) }));
    }
  };
  const running = Promise.all(Array.from({ length: CONSUMERS }, loop));
  return async () => {
    stopped = true;
    await running;
    client.close();
    replies.close();
  };
}

/** Callers POSTing 1 KB to `url`, each waiting for its answer (which must be the echo); the latencies of every call in `latencies`. */
function callersSide(url: string, latencies: number[]): Side {
  return async (seconds) => {
    const poster = new Poster(url, CALLERS);
    try {
      const { rate } = await runLoops(CALLERS, seconds, async () => {
        const start = performance.now();
        const answer = await poster.post(HEADERS, BODY);
        latencies.push(performance.now() - start);
        if (answer.length !== BODY.length) throw new Error(`${url}: answered ${answer.length} bytes, not the ${BODY.length} sent`);
        return 1;
      });
      return rate;
    } finally {
      poster.close();
    }
  };
}

/**
 * (j) Request–reply: callers post 1 KB to a queue's request–reply route and
 * wait; consumer loops fetch the requests, reply to each with its body and
 * ack them. Against the same service called directly over HTTP by the same
 * callers, in alternating rounds: throughput, and the latency of a call.
 */
export async function requestReply(timing: RoundTiming): Promise<Row[]> {
  const service = await startEchoService();
  const direct: number[] = [];
  const queued: number[] = [];
  try {
    const alternation = await withFreshGateway([QUEUE], async (url) => {
      const stopConsumers = startConsumers(url);
      try {
        return await alternate(timing, callersSide(service.url, direct), callersSide(`${url}/v1/queues/${QUEUE}/requests`, queued));
      } finally {
        await stopConsumers();
      }
    });
    const latencyNotes = [
      `request–reply p50 ${quantile(queued, 0.5).toFixed(2)} ms, p99 ${quantile(queued, 0.99).toFixed(2)} ms; direct p50 ${quantile(direct, 0.5).toFixed(2)} ms, p99 ${quantile(direct, 0.99).toFixed(2)} ms (warm-up included)`,
    ];
    const throughput = alternatingRow(
      {
        scenario: `(j) request–reply round trip, ${CALLERS} callers, 1 KB: calls/s vs the service called directly`,
        resultUnit: 'calls/s',
        baselineUnit: 'calls/s',
        target: atLeast(THROUGHPUT_TARGET),
        notes: [`${CONSUMERS} consumer loops, fetch up to ${BATCH} with a long-poll, reply each, ack the batch`, ...latencyNotes],
      },
      timing,
      alternation,
    );
    const latency: Row = {
      scenario: "(j') request–reply p50 latency vs the direct call's",
      result: { value: quantile(queued, 0.5), unit: 'ms' },
      baseline: { value: quantile(direct, 0.5), unit: 'ms' },
      target: atMost(P50_TARGET),
      notes: latencyNotes,
    };
    return [throughput, latency];
  } finally {
    await service.close();
  }
}
