import type { Database } from 'better-sqlite3';
import { ownedSchema, ownerRow, type RawOwnedSchema, type RawSchemaSettings, type RawSchemaVersion, SCHEMA_VERSION_COLUMNS, schemaOfOwner, sqliteSettings, toSchemaRecord, toSchemaVersion } from '../rows/schemaRow';
import type { SchemaOwner, SchemaRecord, SchemaSettings, SchemaVersion } from '../store';
import { prepared } from './prepared';

const statements = prepared((db) => ({
  owner: db.prepare<[string, string]>('SELECT id FROM topics WHERE name = ? AND kind = ?').pluck(),
  ofOwner: db.prepare<[string, string], RawOwnedSchema>(schemaOfOwner('?', '?')),
  settings: db.prepare<[number], RawSchemaSettings>('SELECT compatibility, allow_raw_bodies, latest FROM schema_settings WHERE topic_id = ?'),
  version: db.prepare<[number, number], RawSchemaVersion>(`SELECT ${SCHEMA_VERSION_COLUMNS} FROM schema_versions WHERE topic_id = ? AND version = ?`),
  versions: db.prepare<[number], RawSchemaVersion>(`SELECT ${SCHEMA_VERSION_COLUMNS} FROM schema_versions WHERE topic_id = ? ORDER BY version`),
  first: db.prepare<{ topicId: number; compatibility: string; allowRawBodies: number }>(
    `INSERT INTO schema_settings (topic_id, compatibility, allow_raw_bodies, latest)
     VALUES (:topicId, :compatibility, :allowRawBodies, 1) ON CONFLICT (topic_id) DO NOTHING`,
  ),
  // Only while `after` is still the latest: a registration that lost the race writes nothing.
  next: db.prepare<{ topicId: number; after: number; compatibility: string; allowRawBodies: number }>(
    `UPDATE schema_settings SET latest = :after + 1, compatibility = :compatibility, allow_raw_bodies = :allowRawBodies
      WHERE topic_id = :topicId AND latest = :after`,
  ),
  insert: db.prepare<[number, number, string, string, number]>(
    'INSERT INTO schema_versions (topic_id, version, schema, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)',
  ),
  update: db.prepare<{ topicId: number; compatibility: string; allowRawBodies: number }>(
    'UPDATE schema_settings SET compatibility = :compatibility, allow_raw_bodies = :allowRawBodies WHERE topic_id = :topicId',
  ),
}));

function ownerId(db: Database, owner: SchemaOwner): number {
  const { kind, name, missing } = ownerRow(owner);
  const id = statements(db).owner.get(name, kind) as number | undefined;
  if (id === undefined) throw missing();
  return id;
}

function record(db: Database, topicId: number): SchemaRecord | null {
  const s = statements(db);
  const settings = s.settings.get(topicId);
  if (settings === undefined) return null;
  const latest = s.version.get(topicId, settings.latest);
  return latest === undefined ? null : toSchemaRecord(settings, latest);
}

/** operation: getSchema — the settings row and the latest version. */
export function getSchema(db: Database, owner: SchemaOwner): SchemaRecord | null {
  const { kind, name } = ownerRow(owner);
  return ownedSchema(statements(db).ofOwner.all(name, kind), owner);
}

/** operation: schemaVersions — oldest first. */
export function schemaVersions(db: Database, owner: SchemaOwner): SchemaVersion[] {
  return statements(db).versions.all(ownerId(db, owner)).map(toSchemaVersion);
}

/** operation: schemaVersion */
export function schemaVersion(db: Database, owner: SchemaOwner, version: number): SchemaVersion | null {
  const row = statements(db).version.get(ownerId(db, owner), version);
  return row === undefined ? null : toSchemaVersion(row);
}

/** operation: putSchema — the version after `after`, while `after` is the latest. */
export function putSchema(
  db: Database,
  params: { owner: SchemaOwner; after: number | null; schema: string; fingerprint: string; settings: SchemaSettings; now: number },
): SchemaRecord | null {
  const topicId = ownerId(db, params.owner);
  const s = statements(db);
  const settings = { topicId, ...sqliteSettings(params.settings) };
  const moved = params.after === null ? s.first.run(settings) : s.next.run({ ...settings, after: params.after });
  if (moved.changes === 0) return null;
  s.insert.run(topicId, (params.after ?? 0) + 1, params.schema, params.fingerprint, params.now);
  return record(db, topicId);
}

/** operation: putSchemaSettings */
export function putSchemaSettings(db: Database, owner: SchemaOwner, settings: SchemaSettings): SchemaRecord | null {
  const topicId = ownerId(db, owner);
  statements(db).update.run({ topicId, ...sqliteSettings(settings) });
  return record(db, topicId);
}
