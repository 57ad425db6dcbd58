import { StoreError } from '../errors';
import { pageOf } from '../rows/page';
import { checkSameSource, type RawPush, storedSettings, toPushRecord } from '../rows/pushRow';
import type { GroupSettings, Listed, PageRequest, PushOutcome, PushRecord, PushSource, PushStore, StoreRules } from '../store';
import type { Queryable } from './connection';
import { ensureOffsets, loadGroup } from './groupRow';
import { pageClause, pageParameters } from './page';
import { deadLetterTopicOf, loadSubscription } from './queueRow';

const SELECT = `
  SELECT p.id, p.name, p.settings, p.secret, p.paused, p.delivered, p.failures, p.dead_lettered,
         p.last_success_at, p.last_error_at, p.last_error_status, p.last_error, p.created_at, p.updated_at,
         t.name AS source_topic, t.kind AS source_kind, s.name AS subscription_name, g.name AS group_name,
         d.name AS dead_letter_queue
    FROM push_subscriptions p
    LEFT JOIN subscriptions s ON s.id = p.subscription_id
    LEFT JOIN consumer_groups g ON g.id = p.group_id
    JOIN topics t ON t.id = coalesce(s.topic_id, g.topic_id)
    LEFT JOIN topics d ON d.id = p.dead_letter_topic_id`;

const STATEMENTS = {
  byName: { name: 'pushRow-byName', text: `${SELECT} WHERE p.name = $1` },
  // An update of one compares with what the put before it committed, never with what a concurrent one is changing.
  lockByName: { name: 'pushRow-lockByName', text: `${SELECT} WHERE p.name = $1 FOR UPDATE OF p` },
  page: { name: 'pushRow-page', text: `${SELECT} WHERE ${pageClause('p.name')}` },
  // Of two creating one name at once, the second waits for the first's commit, inserts nothing, and updates it instead.
  insert: {
    name: 'pushRow-insert',
    text: `INSERT INTO push_subscriptions (name, subscription_id, group_id, dead_letter_topic_id, settings, secret, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (name) DO NOTHING RETURNING id`,
  },
  update: {
    name: 'pushRow-update',
    text: 'UPDATE push_subscriptions SET dead_letter_topic_id = $2, settings = $3, secret = $4, updated_at = $5 WHERE id = $1',
  },
  pause: { name: 'pushRow-pause', text: 'UPDATE push_subscriptions SET paused = $2, updated_at = $3 WHERE name = $1' },
  delete: { name: 'pushRow-delete', text: 'DELETE FROM push_subscriptions WHERE name = $1' },
  // Additions, not a read and a write: outcomes recorded at once by several runners all count.
  record: {
    name: 'pushRow-record',
    text: `UPDATE push_subscriptions
              SET delivered = delivered + $2::bigint, failures = failures + $3::bigint, dead_lettered = dead_lettered + $4::bigint,
                  last_success_at = CASE WHEN $2::bigint > 0 THEN $5::bigint ELSE last_success_at END,
                  last_error_at = CASE WHEN $7::text IS NOT NULL THEN $5::bigint ELSE last_error_at END,
                  last_error_status = CASE WHEN $7::text IS NOT NULL THEN $6::integer ELSE last_error_status END,
                  last_error = coalesce($7::text, last_error)
            WHERE name = $1`,
  },
};

async function findRaw(db: Queryable, statement: { name: string; text: string }, name: string): Promise<RawPush | null> {
  const { rows } = await db.query<RawPush>({ ...statement, values: [name] });
  return rows[0] ?? null;
}

function notFound(name: string): StoreError {
  return new StoreError({ code: 'push_subscription_not_found', push: name });
}

async function loadPush(db: Queryable, name: string): Promise<PushRecord> {
  const raw = await findRaw(db, STATEMENTS.byName, name);
  if (raw === null) throw notFound(name);
  return toPushRecord(raw);
}

export async function findPush(db: Queryable, name: string): Promise<PushRecord | null> {
  const raw = await findRaw(db, STATEMENTS.byName, name);
  return raw === null ? null : toPushRecord(raw);
}

export async function pushPage(db: Queryable, page: PageRequest): Promise<Listed<PushRecord>> {
  const { rows } = await db.query<RawPush>({ ...STATEMENTS.page, values: pageParameters(page) });
  return pageOf(rows.map(toPushRecord), page, (push) => push.name);
}

/** The subscription or group a source names (a group is created if missing), or why it cannot be found. */
async function sourceIds(
  tx: Queryable,
  rules: StoreRules,
  source: PushSource,
  now: number,
  groupDefaults: GroupSettings,
): Promise<[number | null, number | null]> {
  if ('group' in source) {
    const group = await loadGroup(tx, rules, source.topic, source.group, now, groupDefaults);
    // Offsets fixed now, not at the runner's first fetch: a group starting at `latest` delivers what comes after the PUT.
    await ensureOffsets(tx, rules, group, Array.from({ length: group.topic.partitions }, (_, p) => p));
    return [null, group.id];
  }
  return [(await loadSubscription(tx, source)).subscriptionId, null];
}

/** operation: putPush — create, or replace the settings of one with the same source. */
export async function putPush(
  tx: Queryable,
  rules: StoreRules,
  { name, source, settings, secret, now, groupDefaults }: Parameters<PushStore['putPush']>[0],
): Promise<{ push: PushRecord; created: boolean }> {
  const stored = storedSettings(settings);
  const deadLetterTopicId = await deadLetterTopicOf(tx, stored.deadLetterQueue);
  for (;;) {
    const existing = await findRaw(tx, STATEMENTS.lockByName, name);
    if (existing !== null) {
      checkSameSource(name, existing, source);
      await tx.query({ ...STATEMENTS.update, values: [existing.id, deadLetterTopicId, stored.json, secret, now] });
      return { push: await loadPush(tx, name), created: false };
    }
    const [subscriptionId, groupId] = await sourceIds(tx, rules, source, now, groupDefaults);
    const { rows } = await tx.query({
      ...STATEMENTS.insert,
      values: [name, subscriptionId, groupId, deadLetterTopicId, stored.json, secret, now],
    });
    if (rows.length > 0) return { push: await loadPush(tx, name), created: true };
    // Created meanwhile by another put, which committed: this one updates it.
  }
}

export async function deletePush(tx: Queryable, name: string): Promise<void> {
  const { rowCount } = await tx.query({ ...STATEMENTS.delete, values: [name] });
  if (rowCount === 0) throw notFound(name);
}

export async function setPushPaused(tx: Queryable, name: string, paused: boolean, now: number): Promise<PushRecord> {
  const { rowCount } = await tx.query({ ...STATEMENTS.pause, values: [name, paused, now] });
  if (rowCount === 0) throw notFound(name);
  return loadPush(tx, name);
}

export async function recordPush(tx: Queryable, name: string, outcome: PushOutcome): Promise<void> {
  await tx.query({
    ...STATEMENTS.record,
    values: [name, outcome.delivered, outcome.failures, outcome.deadLettered, outcome.at, outcome.lastError?.status ?? null, outcome.lastError?.error ?? null],
  });
}
