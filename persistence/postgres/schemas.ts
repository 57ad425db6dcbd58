import { ownedSchema, ownerRow, type RawOwnedSchema, type RawSchemaSettings, type RawSchemaVersion, SCHEMA_VERSION_COLUMNS, schemaOfOwner, toSchemaRecord, toSchemaVersion } from '../rows/schemaRow';
import type { SchemaOwner, SchemaRecord, SchemaSettings, SchemaVersion } from '../store';
import type { Queryable } from './connection';

const STATEMENTS = {
  owner: { name: 'schemas-owner', text: 'SELECT id FROM topics WHERE name = $1 AND kind = $2' },
  ofOwner: { name: 'schemas-ofOwner', text: schemaOfOwner('$1', '$2') },
  settings: { name: 'schemas-settings', text: 'SELECT compatibility, allow_raw_bodies, latest FROM schema_settings WHERE topic_id = $1' },
  version: { name: 'schemas-version', text: `SELECT ${SCHEMA_VERSION_COLUMNS} FROM schema_versions WHERE topic_id = $1 AND version = $2` },
  versions: { name: 'schemas-versions', text: `SELECT ${SCHEMA_VERSION_COLUMNS} FROM schema_versions WHERE topic_id = $1 ORDER BY version` },
  // A first registration at the same time as another waits for it, then inserts nothing.
  first: {
    name: 'schemas-first',
    text: `INSERT INTO schema_settings (topic_id, compatibility, allow_raw_bodies, latest)
           VALUES ($1, $2, $3, 1) ON CONFLICT (topic_id) DO NOTHING`,
  },
  // Only while `after` is still the latest: one at the same time waits for the row, then finds it moved and updates nothing.
  next: {
    name: 'schemas-next',
    text: `UPDATE schema_settings SET latest = $4 + 1, compatibility = $2, allow_raw_bodies = $3
            WHERE topic_id = $1 AND latest = $4`,
  },
  insert: {
    name: 'schemas-insert',
    text: 'INSERT INTO schema_versions (topic_id, version, schema, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5)',
  },
  update: { name: 'schemas-update', text: 'UPDATE schema_settings SET compatibility = $2, allow_raw_bodies = $3 WHERE topic_id = $1' },
};

async function ownerId(db: Queryable, owner: SchemaOwner): Promise<number> {
  const { kind, name, missing } = ownerRow(owner);
  const { rows } = await db.query<{ id: number }>({ ...STATEMENTS.owner, values: [name, kind] });
  if (rows.length === 0) throw missing();
  return rows[0].id;
}

async function record(db: Queryable, topicId: number): Promise<SchemaRecord | null> {
  const settings = await db.query<RawSchemaSettings>({ ...STATEMENTS.settings, values: [topicId] });
  if (settings.rows.length === 0) return null;
  const latest = await db.query<RawSchemaVersion>({ ...STATEMENTS.version, values: [topicId, settings.rows[0].latest] });
  return latest.rows.length === 0 ? null : toSchemaRecord(settings.rows[0], latest.rows[0]);
}

/** operation: getSchema — the settings row and the latest version. */
export async function getSchema(db: Queryable, owner: SchemaOwner): Promise<SchemaRecord | null> {
  const { kind, name } = ownerRow(owner);
  return ownedSchema((await db.query<RawOwnedSchema>({ ...STATEMENTS.ofOwner, values: [name, kind] })).rows, owner);
}

/** operation: schemaVersions — oldest first. */
export async function schemaVersions(db: Queryable, owner: SchemaOwner): Promise<SchemaVersion[]> {
  const { rows } = await db.query<RawSchemaVersion>({ ...STATEMENTS.versions, values: [await ownerId(db, owner)] });
  return rows.map(toSchemaVersion);
}

/** operation: schemaVersion */
export async function schemaVersion(db: Queryable, owner: SchemaOwner, version: number): Promise<SchemaVersion | null> {
  const { rows } = await db.query<RawSchemaVersion>({ ...STATEMENTS.version, values: [await ownerId(db, owner), version] });
  return rows.length === 0 ? null : toSchemaVersion(rows[0]);
}

/** operation: putSchema — the version after `after`, while `after` is the latest. */
export async function putSchema(
  tx: Queryable,
  params: { owner: SchemaOwner; after: number | null; schema: string; fingerprint: string; settings: SchemaSettings; now: number },
): Promise<SchemaRecord | null> {
  const topicId = await ownerId(tx, params.owner);
  const { compatibility, allowRawBodies } = params.settings;
  const moved =
    params.after === null
      ? await tx.query({ ...STATEMENTS.first, values: [topicId, compatibility, allowRawBodies] })
      : await tx.query({ ...STATEMENTS.next, values: [topicId, compatibility, allowRawBodies, params.after] });
  if (moved.rowCount === 0) return null;
  await tx.query({ ...STATEMENTS.insert, values: [topicId, (params.after ?? 0) + 1, params.schema, params.fingerprint, params.now] });
  return record(tx, topicId);
}

/** operation: putSchemaSettings */
export async function putSchemaSettings(tx: Queryable, owner: SchemaOwner, settings: SchemaSettings): Promise<SchemaRecord | null> {
  const topicId = await ownerId(tx, owner);
  await tx.query({ ...STATEMENTS.update, values: [topicId, settings.compatibility, settings.allowRawBodies] });
  return record(tx, topicId);
}
