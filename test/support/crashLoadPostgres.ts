import { Client } from 'pg';
import { GatewayClient, type Outcome, problemCode } from './crashLoadHttp';
import type { StoreSnapshot } from './crashLoadStore';

/**
 * The crash harness on the PostgreSQL backend: the store read as a crash
 * left it (as crashLoadStore.ts reads SQLite's file), and a client for
 * rounds in which the server goes down under a running gateway.
 */

interface MessageRow {
  id: string;
  partition: number;
  offset: string;
  value: Buffer;
}

// The messages of persistence/postgres/migrations/001_init.sql: a queue and a
// topic are both rows of `topics`, their messages rows of `messages`. Read
// directly, as on SQLite: leased and delayed messages are seen too, and
// nothing changes (a fetch would lease).
const MESSAGES = `SELECT m.id, m.partition, m."offset", m.value FROM messages m JOIN topics t ON t.id = m.topic_id WHERE t.name = $1`;

/**
 * What the backend keeps beside its rows, each query finding the rows that
 * break one rule. Every counter changes in the transaction that changes what
 * it counts, so whatever moment a crash picks, recovery must leave them exact.
 */
const RULES: Array<{ rule: string; sql: string; raises?: true }> = [
  {
    rule: "a partition's messages and bytes count its rows, and its next offset is past them",
    sql: `SELECT t.name, p.partition, p.messages, p.bytes, p.next_offset,
                 count(m.id) AS rows, COALESCE(sum(length(m.value)), 0) AS row_bytes, max(m."offset") AS last_offset
            FROM partitions p JOIN topics t ON t.id = p.topic_id
            LEFT JOIN messages m ON m.topic_id = p.topic_id AND m.partition = p.partition
           GROUP BY t.name, p.topic_id, p.partition
          HAVING p.messages <> count(m.id) OR p.bytes <> COALESCE(sum(length(m.value)), 0)
              OR p.next_offset <= COALESCE(max(m."offset"), -1)`,
  },
  {
    // A log loses messages only to retention, oldest first (none here has any): its offsets have no gap, up to the head.
    rule: "a topic's offsets are dense up to its next offset",
    sql: `SELECT t.name, p.partition, p.next_offset, min(m."offset") AS first_offset, max(m."offset") AS last_offset, count(*) AS rows
            FROM partitions p JOIN topics t ON t.id = p.topic_id AND t.kind = 'topic'
            JOIN messages m ON m.topic_id = p.topic_id AND m.partition = p.partition
           GROUP BY t.name, p.topic_id, p.partition
          HAVING max(m."offset") - min(m."offset") + 1 <> count(*) OR max(m."offset") <> p.next_offset - 1`,
  },
  {
    rule: "a queue subscription's waiting and waiting_bytes count its deliveries",
    sql: `SELECT t.name, s.name AS subscription, s.waiting, s.waiting_bytes,
                 count(d.message_id) AS rows, COALESCE(sum(d.bytes), 0) AS row_bytes
            FROM subscriptions s JOIN topics t ON t.id = s.topic_id
            LEFT JOIN deliveries d ON d.subscription_id = s.id
           GROUP BY t.name, s.id
          HAVING s.waiting <> count(d.message_id) OR s.waiting_bytes <> COALESCE(sum(d.bytes), 0)`,
  },
  {
    // deliveries has no foreign key to messages (001_init.sql says why): nothing else keeps this.
    rule: "every delivery is of a stored message of its subscription's topic",
    sql: `SELECT s.name AS subscription, d.message_id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
            LEFT JOIN messages m ON m.id = d.message_id AND m.topic_id = s.topic_id
           WHERE m.id IS NULL`,
  },
  {
    // A queue's message without its delivery row is never fetched again: lost, though stored.
    rule: "every message of a queue has its delivery",
    sql: `SELECT t.name, m.id FROM messages m JOIN topics t ON t.id = m.topic_id AND t.kind = 'queue'
            JOIN subscriptions s ON s.topic_id = t.id AND s.name = '$queue'
            LEFT JOIN deliveries d ON d.subscription_id = s.id AND d.message_id = m.id
           WHERE d.message_id IS NULL`,
  },
  {
    // PostgreSQL's own integrity_check: every table's pages and tuples sound (verify_heapam) …
    rule: 'amcheck finds the tables sound',
    sql: `SELECT c.relname, v.blkno, v.offnum, v.msg FROM pg_class c CROSS JOIN LATERAL verify_heapam(c.oid) v
           WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`,
  },
  {
    // … and every btree index in order and holding every tuple of its table (heapallindexed).
    rule: 'amcheck finds the indexes sound',
    sql: `SELECT bt_index_check(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_am am ON am.oid = c.relam
           WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace`,
    // It raises what it finds, and returns an empty row per index it checked.
    raises: true,
  },
];

/** Each rule's offending rows, or the error its query raised, in words. */
async function consistencyProblems(db: Client): Promise<string[]> {
  // The server's contrib module, shipped with the Debian package the tests install; making it twice is a no-op.
  await db.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  const problems: string[] = [];
  for (const { rule, sql, raises } of RULES) {
    try {
      const { rows } = await db.query<Record<string, unknown>>(sql);
      if (raises !== true) problems.push(...rows.map((row) => `${rule}, but not here: ${JSON.stringify(row)}`));
    } catch (error) {
      problems.push(`${rule}, but checking says: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/**
 * Checks the database at `url` as the crash left it (once the server has
 * recovered from its WAL) and reads the messages of the harness's queues and
 * topic, on a connection of its own, closed before the next gateway starts.
 */
export async function readPostgresStore(url: string, queues: string[], topic: string): Promise<StoreSnapshot> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const problems = await consistencyProblems(db);
    const read = async (name: string): Promise<MessageRow[]> => (await db.query<MessageRow>(MESSAGES, [name])).rows;
    const queueRows: MessageRow[] = [];
    // One query at a time: a connection runs one.
    for (const queue of queues) queueRows.push(...(await read(queue)));
    return {
      problems,
      queues: new Map(queueRows.map((r) => [r.id, r.value.toString('utf8')])),
      topic: new Map((await read(topic)).map((r) => [`${r.partition}:${r.offset}`, r.value.toString('utf8')])),
    };
  } finally {
    await db.end();
  }
}

/**
 * The harness's client of a gateway whose server may go down under it. Once
 * told `storeDown()`, an answer `503 storage_unavailable` is what it says:
 * the call was refused, or may or may not have taken effect (`unconfirmed`).
 * It is then given to the workers as a request without an answer: a produce
 * is sent again with its Idempotency-Key after the server is back, an ack is
 * in doubt, a fetch or commit counts for nothing. Before, a 503 is an answer
 * like any other: a violation.
 */
export class OutageClient extends GatewayClient {
  private down = false;
  private unavailableAnswers = 0;

  /** Called as the server is stopped. */
  storeDown(): void {
    this.down = true;
  }

  /** Requests answered 503 storage_unavailable since `storeDown()`. */
  get unavailable(): number {
    return this.unavailableAnswers;
  }

  override async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Outcome> {
    const outcome = await super.send(method, path, body, headers);
    if (!this.down || !outcome.answered || outcome.status !== 503 || problemCode(outcome.body) !== 'storage_unavailable') return outcome;
    this.unavailableAnswers += 1;
    return { answered: false, error: `${method} ${path}: 503 storage_unavailable` };
  }
}
