import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors';
import { pageOf } from '../rows/page';
import { checkSameSource, type RawPush, storedSettings, toPushRecord } from '../rows/pushRow';
import type { GroupSettings, Listed, PageRequest, PushOutcome, PushRecord, PushSource, PushStore, StoreRules } from '../store';
import { ensureOffsets, loadGroup } from './groupRow';
import { type PageParameters, pageClause, pageParameters } from './page';
import { prepared } from './prepared';
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

const statements = prepared((db) => ({
  byName: db.prepare<[string], RawPush>(`${SELECT} WHERE p.name = ?`),
  page: db.prepare<[PageParameters], RawPush>(`${SELECT} WHERE ${pageClause('p.name')}`),
  insert: db.prepare<[string, number | null, number | null, number | null, string, string | null, number, number]>(
    `INSERT INTO push_subscriptions (name, subscription_id, group_id, dead_letter_topic_id, settings, secret, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  update: db.prepare<[number | null, string, string | null, number, number]>(
    'UPDATE push_subscriptions SET dead_letter_topic_id = ?, settings = ?, secret = ?, updated_at = ? WHERE id = ?',
  ),
  pause: db.prepare<[number, number, number]>('UPDATE push_subscriptions SET paused = ?, updated_at = ? WHERE id = ?'),
  delete: db.prepare<[number]>('DELETE FROM push_subscriptions WHERE id = ?'),
  record: db.prepare<{
    name: string;
    delivered: number;
    failures: number;
    deadLettered: number;
    at: number;
    status: number | null;
    error: string | null;
  }>(
    `UPDATE push_subscriptions
        SET delivered = delivered + :delivered, failures = failures + :failures, dead_lettered = dead_lettered + :deadLettered,
            last_success_at = CASE WHEN :delivered > 0 THEN :at ELSE last_success_at END,
            last_error_at = CASE WHEN :error IS NOT NULL THEN :at ELSE last_error_at END,
            last_error_status = CASE WHEN :error IS NOT NULL THEN :status ELSE last_error_status END,
            last_error = coalesce(:error, last_error)
      WHERE name = :name`,
  ),
}));

function findRaw(db: Database, name: string): RawPush | null {
  return statements(db).byName.get(name) ?? null;
}

function loadRaw(db: Database, name: string): RawPush {
  const raw = findRaw(db, name);
  if (raw === null) throw new StoreError({ code: 'push_subscription_not_found', push: name });
  return raw;
}

export function findPush(db: Database, name: string): PushRecord | null {
  const raw = findRaw(db, name);
  return raw === null ? null : toPushRecord(raw);
}

export function pushPage(db: Database, page: PageRequest): Listed<PushRecord> {
  return pageOf(statements(db).page.all(pageParameters(page)).map(toPushRecord), page, (push) => push.name);
}

/** The subscription or group a source names (a group is created if missing), or why it cannot be found. */
function sourceIds(db: Database, rules: StoreRules, source: PushSource, now: number, groupDefaults: GroupSettings): [number | null, number | null] {
  if ('group' in source) {
    const group = loadGroup(db, rules, source.topic, source.group, now, groupDefaults);
    // Offsets fixed now, not at the runner's first fetch: a group starting at `latest` delivers what comes after the PUT.
    ensureOffsets(db, rules, group, Array.from({ length: group.topic.partitions }, (_, p) => p));
    return [null, group.id];
  }
  return [loadSubscription(db, source).subscriptionId, null];
}

/** operation: putPush — create, or replace the settings of one with the same source. */
export function putPush(
  db: Database,
  rules: StoreRules,
  { name, source, settings, secret, now, groupDefaults }: Parameters<PushStore['putPush']>[0],
): { push: PushRecord; created: boolean } {
  const s = statements(db);
  const stored = storedSettings(settings);
  const deadLetterTopicId = deadLetterTopicOf(db, stored.deadLetterQueue);
  const existing = findRaw(db, name);
  if (existing === null) {
    const [subscriptionId, groupId] = sourceIds(db, rules, source, now, groupDefaults);
    s.insert.run(name, subscriptionId, groupId, deadLetterTopicId, stored.json, secret, now, now);
  } else {
    checkSameSource(name, existing, source);
    s.update.run(deadLetterTopicId, stored.json, secret, now, existing.id);
  }
  return { push: toPushRecord(loadRaw(db, name)), created: existing === null };
}

export function deletePush(db: Database, name: string): void {
  statements(db).delete.run(loadRaw(db, name).id);
}

export function setPushPaused(db: Database, name: string, paused: boolean, now: number): PushRecord {
  const raw = loadRaw(db, name);
  statements(db).pause.run(paused ? 1 : 0, now, raw.id);
  return toPushRecord({ ...raw, paused: paused ? 1 : 0, updated_at: now });
}

export function recordPush(db: Database, name: string, outcome: PushOutcome): void {
  statements(db).record.run({
    name,
    delivered: outcome.delivered,
    failures: outcome.failures,
    deadLettered: outcome.deadLettered,
    at: outcome.at,
    status: outcome.lastError?.status ?? null,
    error: outcome.lastError?.error ?? null,
  });
}
