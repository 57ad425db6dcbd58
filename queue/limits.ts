import type { QueueSettings } from '../persistence/store';

/** Server-wide limits; each has its default beside it. All are configurable. */
export interface Limits {
  /** Largest message (value + key + headers), and the ceiling of a queue's maxMessageBytes. Default 1 MiB. */
  maxMessageBytes: number;
  /** Most messages in one produce request, and most returned by one fetch. Default 1000. */
  maxBatchMessages: number;
  /** Largest request body; checked before parsing. Default 10 MiB. */
  maxBatchBytes: number;
  /** Longest long-poll a fetch may ask for. Default 20000 ms. */
  maxWaitMs: number;
  /** Longest a request–reply caller may wait for its reply (`timeoutMs`). Default 60000 ms. */
  maxReplyWaitMs: number;
  /** Request body bytes held at once across all connections; past it a request is refused `overloaded`. Default 256 MiB. */
  maxBodyBytesInFlight: number;
  /** How long an idempotency key is remembered. Default 24 h. */
  idempotencyWindowMs: number;
  /**
   * How far apart the clocks of the gateway processes over one store may be
   * (NTP keeps them within a few ms): every lease is that much longer than
   * asked, so no gateway whose clock runs ahead sees another's lease end
   * early. Default 0: one process, one clock.
   */
  clockSkewMs: number;
  /** How often an open stream sends a heartbeat (an SSE comment) so that proxies keep its connection. Default 15000 ms. */
  streamHeartbeatMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 1024 * 1024,
  maxBatchMessages: 1000,
  maxBatchBytes: 10 * 1024 * 1024,
  maxWaitMs: 20_000,
  maxReplyWaitMs: 60_000,
  maxBodyBytesInFlight: 256 * 1024 * 1024,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
  clockSkewMs: 0,
  streamHeartbeatMs: 15_000,
};

/**
 * A fetch's `max` within the server's batch limit. /v1 refuses a larger `max`
 * by validation (the served spec states the limit); the SQS face's fixed
 * ceiling of 10 is not an error where the limit is lowered below it, as a
 * fetch may always return fewer.
 */
export function atMostBatch(max: number, limits: Limits): number {
  return Math.min(max, limits.maxBatchMessages);
}

/** Settings of a queue created with an empty body. */
export function defaultQueueSettings(limits: Limits): QueueSettings {
  return {
    visibilityTimeoutMs: 30_000,
    maxDeliveries: null,
    deadLetterQueue: null,
    delayMs: 0,
    retentionMs: 4 * 24 * 60 * 60 * 1000,
    maxMessageBytes: limits.maxMessageBytes,
    maxStoredMessages: null,
    maxStoredBytes: null,
    ordering: 'standard',
    contentBasedDeduplication: false,
    deduplicationScope: 'queue',
    redriveAllowPolicy: null,
    receiveWaitMs: 0,
    tags: {},
    sqsAttributes: {},
  };
}
