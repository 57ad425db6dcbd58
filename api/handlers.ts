import type { Request, Response } from 'express';
import type { QueueSettings } from '../persistence/store';
import type { ProduceInput } from '../queue/messages';
import type { FetchRequest, QueueService, RawMessage } from '../queue/queueService';
import type { Spec } from './spec';

export type Handler = (req: Request, res: Response) => Promise<void> | void;

/** What the handlers need: the queue semantics behind an interface, and the contract text. */
export interface HandlerDeps {
  queues: Pick<
    QueueService,
    'put' | 'get' | 'list' | 'delete' | 'purge' | 'produce' | 'produceRaw' | 'fetch' | 'ack' | 'nack' | 'extend' | 'redrive'
  >;
  spec: Spec;
  /** Aborted when the server shuts down: long-polls return what they have. */
  shutdown: AbortSignal;
}

interface ReceiptsBody {
  receipts: string[];
}

const HEADER_PREFIX = 'mqgate-header-';

/** Request headers that a raw produce keeps as message headers. */
function rawHeaders(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  const soapAction = req.get('SOAPAction');
  if (soapAction !== undefined) headers.SOAPAction = soapAction;
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(HEADER_PREFIX) && typeof value === 'string' && name.length > HEADER_PREFIX.length) {
      headers[name.slice(HEADER_PREFIX.length)] = value;
    }
  }
  return headers;
}

/** Aborts when the client goes away before the response is written, or the server shuts down. */
function requestSignal(res: Response, shutdown: AbortSignal): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return AbortSignal.any([gone.signal, shutdown]);
}

/** One handler per operationId of openapi.yaml; bodies arrive validated against it. */
export function createHandlers(deps: HandlerDeps): Record<string, Handler> {
  const { queues } = deps;
  const name = (req: Request): string => req.params.queue as string;
  return {
    getHealth: (_req, res) => {
      res.json({ status: 'ok' });
    },

    getOpenApi: (_req, res) => {
      res.type('application/yaml').send(deps.spec.text);
    },

    listQueues: async (_req, res) => {
      res.json({ queues: await queues.list() });
    },

    putQueue: async (req, res) => {
      const { queue, created } = await queues.put(name(req), req.body as Partial<QueueSettings>);
      res.status(created ? 201 : 200).json(queue);
    },

    getQueue: async (req, res) => {
      res.json(await queues.get(name(req)));
    },

    deleteQueue: async (req, res) => {
      await queues.delete(name(req));
      res.status(204).end();
    },

    purgeQueue: async (req, res) => {
      res.json({ purged: await queues.purge(name(req)) });
    },

    produceMessages: async (req, res) => {
      const key = req.get('Idempotency-Key') ?? null;
      if (Buffer.isBuffer(req.body)) {
        const raw: RawMessage = {
          body: req.body,
          contentType: req.get('Content-Type') ?? 'application/octet-stream',
          headers: rawHeaders(req),
        };
        res.status(201).json({ messages: [await queues.produceRaw(name(req), raw, key)] });
        return;
      }
      const { messages } = req.body as { messages: ProduceInput[] };
      res.status(201).json({ messages: await queues.produce(name(req), messages, key) });
    },

    fetchMessages: async (req, res) => {
      const messages = await queues.fetch(name(req), req.body as FetchRequest, requestSignal(res, deps.shutdown));
      res.json({ messages });
    },

    ackMessages: async (req, res) => {
      const { receipts } = req.body as ReceiptsBody;
      res.json({ results: await queues.ack(name(req), receipts) });
    },

    nackMessages: async (req, res) => {
      const { receipts, delayMs } = req.body as ReceiptsBody & { delayMs: number };
      res.json({ results: await queues.nack(name(req), receipts, delayMs) });
    },

    extendLeases: async (req, res) => {
      const { receipts, visibilityTimeoutMs } = req.body as ReceiptsBody & { visibilityTimeoutMs: number };
      res.json({ results: await queues.extend(name(req), receipts, visibilityTimeoutMs) });
    },

    redriveMessages: async (req, res) => {
      const { max } = req.body as { max: number };
      res.json(await queues.redrive(name(req), max));
    },
  };
}
