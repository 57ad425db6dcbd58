import { StoreError } from '../errors';
import type { PushRecord, PushSettings, PushSource } from '../store';

/** The columns of a push subscription's SELECT: its row, the names of its source, and of its dead-letter queue. */
export interface RawPush {
  id: number;
  name: string;
  settings: string;
  secret: string | null;
  /** A boolean column: 0 or 1 where the engine has no booleans. */
  paused: boolean | number;
  delivered: number;
  failures: number;
  dead_lettered: number;
  last_success_at: number | null;
  last_error_at: number | null;
  last_error_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  source_topic: string;
  source_kind: 'queue' | 'topic';
  subscription_name: string | null;
  group_name: string | null;
  dead_letter_queue: string | null;
}

/** The settings column holds these as JSON; the dead-letter queue is a reference column of its own. */
type StoredSettings = Omit<PushSettings, 'deadLetterQueue'>;

/** Settings as a push subscription's row keeps them: the dead-letter queue apart, the rest as the JSON of the settings column. */
export function storedSettings(settings: PushSettings): { deadLetterQueue: string | null; json: string } {
  const { deadLetterQueue, ...stored } = settings;
  return { deadLetterQueue, json: JSON.stringify(stored) };
}

function sourceOf(raw: RawPush): PushSource {
  if (raw.group_name !== null) return { topic: raw.source_topic, group: raw.group_name };
  if (raw.source_kind === 'queue') return { queue: raw.source_topic };
  return { topic: raw.source_topic, subscription: raw.subscription_name as string };
}

/** The same queue, queue subscription or consumer group. */
function sameSource(a: PushSource, b: PushSource): boolean {
  const fields = (source: PushSource): string => JSON.stringify(Object.entries(source).sort(([x], [y]) => x.localeCompare(y)));
  return fields(a) === fields(b);
}

/** A push subscription's source cannot change: `source_cannot_change` for a PUT of `name`, stored as `existing`, that names another. */
export function checkSameSource(name: string, existing: RawPush, source: PushSource): void {
  const current = sourceOf(existing);
  if (!sameSource(current, source)) throw new StoreError({ code: 'source_cannot_change', push: name, source: current });
}

export function toPushRecord(raw: RawPush): PushRecord {
  const settings = JSON.parse(raw.settings) as StoredSettings;
  return {
    name: raw.name,
    source: sourceOf(raw),
    ...settings,
    deadLetterQueue: raw.dead_letter_queue,
    secret: raw.secret,
    paused: Boolean(raw.paused),
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
    counters: {
      delivered: raw.delivered,
      attempts: raw.delivered + raw.failures,
      failures: raw.failures,
      deadLettered: raw.dead_lettered,
      lastSuccessAt: raw.last_success_at,
      lastErrorAt: raw.last_error_at,
      lastError: raw.last_error === null ? null : { status: raw.last_error_status, error: raw.last_error },
    },
  };
}
