import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { Listeners } from '../listeners';
import { type Listener, listen, type Queryable, transaction } from './connection';
import type { WriteContext } from './writeContext';

/** What a committed transaction made ready, for the listeners of every gateway process. */
export interface Announced {
  queues: Set<string>;
  replies: Set<string>;
}

function nothingAnnounced(): Announced {
  return { queues: new Set(), replies: new Set() };
}

function announcing(announced: Announced): WriteContext {
  return { notify: (queue) => announced.queues.add(queue), replied: (id) => announced.replies.add(id) };
}

/** A notification's item: a queue's (or topic's) name after QUEUE, a correlation id after REPLY. */
const QUEUE = 'q:';
const REPLY = 'r:';

const STATEMENTS = {
  // NOTIFY in the transaction: delivered when it commits, never if it does not; repeats within one are sent once.
  send: { name: 'announcements-send', text: 'SELECT pg_notify($1, $2 || item) FROM unnest($3::text[]) AS item' },
};

export interface AnnouncementOptions {
  /** Where the LISTEN connection goes (the store's URL). */
  url: string;
  /** The store's schema: gateways over other schemas of the same database hear nothing of this one. */
  schema?: string;
  applicationName?: string;
}

/**
 * What write transactions announce (messages ready, replies stored), heard by
 * every gateway process over the database. This process's listeners hear it
 * as soon as COMMIT is answered; the other processes by a NOTIFY the
 * transaction sends before its COMMIT (PostgreSQL delivers it at commit, and
 * only if the transaction commits), on a channel of the store's schema. Each
 * process listens on its own connection once something listens here, and
 * skips its own notifications, which it has heard already.
 *
 * A notification sent while the LISTEN connection was down is lost: each
 * time it (re)connects, the listeners are told null, "look again", so a
 * lost announcement costs at most the time to notice the lost connection and
 * connect again (the listener's heartbeat and backoff, connection.ts).
 */
export class Announcements {
  readonly available = new Listeners<string | null>();
  readonly replied = new Listeners<string | null>();
  /** This process's mark on its notifications. */
  private readonly sender = `${randomBytes(8).toString('hex')} `;
  private readonly channel: string;
  private listener: Listener | null = null;

  constructor(private readonly options: AnnouncementOptions) {
    this.channel = `mqgate_${createHash('sha256')
      .update(options.schema ?? '')
      .digest('hex')
      .slice(0, 16)}`;
  }

  /**
   * Runs `work` in a transaction (connection.ts `transaction`) with a context
   * to announce through; what it announced goes to the other processes with
   * its commit, and comes back with its result for `heard` once committed.
   */
  async transaction<T>(pool: Pool, work: (tx: Queryable, context: WriteContext) => Promise<T>): Promise<{ result: T; announced: Announced }> {
    let announced = nothingAnnounced();
    const result = await transaction(pool, async (tx) => {
      // A retried transaction announces only what its last run did.
      announced = nothingAnnounced();
      const value = await work(tx, announcing(announced));
      await this.send(tx, announced);
      return value;
    });
    return { result, announced };
  }

  /** Tells this process's listeners what a committed transaction announced. */
  heard(announced: Announced): void {
    for (const queue of announced.queues) this.available.emit(queue);
    for (const id of announced.replies) this.replied.emit(id);
  }

  /** Listens to the other processes from now on (once: later calls do nothing). */
  listen(): void {
    this.listener ??= listen({
      url: this.options.url,
      // Its own name, for an operator to tell it from the pool's connections in pg_stat_activity.
      applicationName: `${this.options.applicationName ?? 'mqgate'}:listen`,
      channels: [this.channel],
      onNotification: (_channel, payload) => this.received(payload),
      onListening: () => {
        this.available.emit(null);
        this.replied.emit(null);
      },
    });
  }

  async close(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
  }

  private async send(tx: Queryable, announced: Announced): Promise<void> {
    const items = [...[...announced.queues].map((queue) => QUEUE + queue), ...[...announced.replies].map((id) => REPLY + id)];
    if (items.length > 0) await tx.query({ ...STATEMENTS.send, values: [this.channel, this.sender, items] });
  }

  private received(payload: string): void {
    if (payload.startsWith(this.sender)) return;
    const item = payload.slice(this.sender.length);
    if (item.startsWith(QUEUE)) this.available.emit(item.slice(QUEUE.length));
    else if (item.startsWith(REPLY)) this.replied.emit(item.slice(REPLY.length));
  }
}

/** Runs announcing transactions: `Announcements.transaction` on the store's pool. */
export type Transact = <T>(work: (tx: Queryable, context: WriteContext) => Promise<T>) => Promise<{ result: T; announced: Announced }>;
