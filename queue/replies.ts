import { randomUUID } from 'node:crypto';
import type { AppendResult, Reply, ReplyStore } from '../persistence/store';
import type { Clock } from './clock';
import { GatewayError } from './errors';
import type { Limits } from './limits';
import type { RawMessage } from './produceRequest';
import type { QueueService } from './queueService';
import { Waiters } from './waiters';

/** Headers of a request's message: where its consumer sends the reply, and the request's id. */
export const REPLY_TO_HEADER = 'mqgate-reply-to';
export const CORRELATION_ID_HEADER = 'mqgate-correlation-id';

/** How long after its caller stopped waiting a late reply is still answered `reply_expired`; after that it is `reply_not_found`. */
export const REPLY_KEEP_MS = 60 * 60 * 1000;

/** The reply address of a request: the path a consumer posts its reply to. */
export function replyAddress(queue: string, correlationId: string): string {
  return `/v1/queues/${encodeURIComponent(queue)}/replies/${correlationId}`;
}

export interface Answered {
  /** The request's message, as a produce answers it. */
  message: AppendResult;
  correlationId: string;
  reply: Reply;
}

/**
 * Request–reply over a queue. The caller's message is produced with a reply
 * address; any consumer posts its reply there; the reply is stored, and its
 * commit wakes the caller through the store's wake-up path (`onReplied`), so
 * the caller may wait on another process than the one the reply reached once
 * the store announces commits across processes. The caller then reads the
 * reply from the store: nothing is handed over in memory.
 */
export class Replies {
  private readonly waiters: Waiters;

  constructor(
    private readonly store: ReplyStore,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly queues: Pick<QueueService, 'produceRequest'>,
    /** Failures no caller is waiting for (forgetting an answered request): for the log. */
    private readonly onError: (error: unknown) => void,
  ) {
    this.waiters = new Waiters(clock);
    // Null: replies may have been stored unheard; every waiting caller reads the store again.
    store.onReplied((correlationId) => (correlationId === null ? this.waiters.wakeAll() : this.waiters.wake(correlationId)));
  }

  /**
   * operation: request — produces `raw` to `queue` and waits up to
   * `timeoutMs` for its reply. Without one in time: `reply_timeout`, and the
   * request stays queued. If `signal` aborts first (the caller went, or the
   * gateway stops), a later reply is refused as expired.
   */
  async request(queue: string, raw: RawMessage, timeoutMs: number, signal: AbortSignal): Promise<Answered> {
    const correlationId = randomUUID();
    const deadline = this.clock.now() + timeoutMs;
    const headers = { [REPLY_TO_HEADER]: replyAddress(queue, correlationId), [CORRELATION_ID_HEADER]: correlationId };
    const message = await this.queues.produceRequest(queue, raw, headers, { correlationId, deadline });
    const reply = await this.awaitReply(correlationId, deadline, signal);
    if (reply !== null) {
      // Not awaited: the caller's answer does not wait for this write; a failure is logged, and the row swept later.
      this.store.forgetReply(correlationId).catch(this.onError);
      return { message, correlationId, reply };
    }
    if (signal.aborted) {
      // Awaited: once the caller is told, a reply is refused (and if it went, nobody waits for this).
      await this.store.abandonReply({ correlationId, now: this.clock.now() });
      throw new GatewayError('not_ready', `The gateway stopped waiting for the reply; the request (message ${message.id}) stays in queue '${queue}'.`);
    }
    throw new GatewayError(
      'reply_timeout',
      `No reply within ${timeoutMs} ms; the request (message ${message.id}) stays in queue '${queue}', and a reply to it from now on is refused.`,
    );
  }

  /** operation: reply — a consumer's answer to the request `correlationId` of `queue`. */
  async reply(queue: string, correlationId: string, reply: Reply): Promise<void> {
    if (reply.body.length > this.limits.maxMessageBytes) {
      throw new GatewayError('message_too_large', `The reply is ${reply.body.length} bytes; the server accepts at most ${this.limits.maxMessageBytes}.`);
    }
    const outcome = await this.store.putReply({ queue, correlationId, reply, now: this.clock.now() });
    switch (outcome) {
      case 'stored':
        return;
      case 'unknown':
        throw new GatewayError('reply_not_found', `Queue '${queue}' has no request '${correlationId}' awaiting a reply (or its caller already has one).`);
      case 'replied':
        throw new GatewayError('reply_already_given', `Request '${correlationId}' already has a reply; its caller gets the first.`);
      case 'expired':
        throw new GatewayError('reply_expired', `The caller of request '${correlationId}' stopped waiting; the reply is refused.`);
    }
  }

  /** How many callers are waiting for a reply right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * The reply once stored, or null at the deadline or when `signal` aborts.
   * Each round registers its wait before it reads the store, so a reply
   * committed after the read wakes it, and one committed before is read.
   */
  private async awaitReply(correlationId: string, deadline: number, signal: AbortSignal): Promise<Reply | null> {
    for (;;) {
      const wait = this.waiters.wait(correlationId, deadline, signal);
      const reply = await this.store.findReply(correlationId);
      if (reply !== null || signal.aborted || this.clock.now() >= deadline) {
        wait.cancel();
        return reply;
      }
      await wait.woken;
    }
  }
}
