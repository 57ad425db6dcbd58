import { StoreError } from '../errors';
import type { CompatibilityMode, SchemaOwner, SchemaRecord, SchemaSettings, SchemaVersion } from '../store';

/** The kind and name of the topics row that owns a schema, and the failure when there is none. */
export function ownerRow(owner: SchemaOwner): { kind: 'queue' | 'topic'; name: string; missing: () => StoreError } {
  return 'queue' in owner
    ? { kind: 'queue', name: owner.queue, missing: () => new StoreError({ code: 'queue_not_found', queue: owner.queue }) }
    : { kind: 'topic', name: owner.topic, missing: () => new StoreError({ code: 'topic_not_found', topic: owner.topic }) };
}

/** The columns of a version's SELECT, in this order. */
export const SCHEMA_VERSION_COLUMNS = 'version, schema, fingerprint, created_at';

/** The columns of a version's SELECT. */
export interface RawSchemaVersion {
  version: number;
  schema: string;
  fingerprint: string;
  created_at: number;
}

/** The columns of the settings' SELECT (allow_raw_bodies: SQLite's 0/1 or PostgreSQL's boolean). */
export interface RawSchemaSettings {
  compatibility: CompatibilityMode;
  allow_raw_bodies: number | boolean;
  latest: number;
}

/**
 * getSchema in one statement (on every produce): the owner's topics row,
 * with its settings and latest version when it has a schema. No row: no
 * such owner; NULL settings: no schema. `name` and `kind` are the backend's
 * placeholders.
 */
export function schemaOfOwner(name: string, kind: string): string {
  return `SELECT s.compatibility, s.allow_raw_bodies, s.latest, v.version, v.schema, v.fingerprint, v.created_at
            FROM topics t
            LEFT JOIN schema_settings s ON s.topic_id = t.id
            LEFT JOIN schema_versions v ON v.topic_id = t.id AND v.version = s.latest
           WHERE t.name = ${name} AND t.kind = ${kind}`;
}

/** A row of schemaOfOwner: NULLs but for the owner when it has no schema. */
export type RawOwnedSchema = { [K in keyof (RawSchemaSettings & RawSchemaVersion)]: (RawSchemaSettings & RawSchemaVersion)[K] | null };

/** getSchema's answer from schemaOfOwner's rows: `missing` when there is no such owner, null when it has no schema. */
export function ownedSchema(rows: RawOwnedSchema[], owner: SchemaOwner): SchemaRecord | null {
  if (rows.length === 0) throw ownerRow(owner).missing();
  const [row] = rows;
  if (row.latest === null || row.version === null) return null;
  // Every column of both tables is NOT NULL: a row that joined both has them all.
  return toSchemaRecord(row as RawSchemaSettings, row as RawSchemaVersion);
}

export function toSchemaVersion(raw: RawSchemaVersion): SchemaVersion {
  return { version: raw.version, schema: raw.schema, fingerprint: raw.fingerprint, createdAt: raw.created_at };
}

export function toSchemaRecord(settings: RawSchemaSettings, latest: RawSchemaVersion): SchemaRecord {
  return {
    compatibility: settings.compatibility,
    allowRawBodies: settings.allow_raw_bodies === true || settings.allow_raw_bodies === 1,
    latest: toSchemaVersion(latest),
    // Versions are dense from 1 and never removed alone: the latest is the count.
    versions: settings.latest,
  };
}

/** The settings as SQLite stores them. */
export function sqliteSettings(settings: SchemaSettings): { compatibility: CompatibilityMode; allowRawBodies: number } {
  return { compatibility: settings.compatibility, allowRawBodies: settings.allowRawBodies ? 1 : 0 };
}
