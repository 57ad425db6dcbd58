import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { CompatibilityMode, NewMessage, SchemaOwner, SchemaRecord, SchemaSettings, SchemaStore, SchemaVersion } from '../persistence/store';
import type { Clock } from './clock';
import { type FieldError, GatewayError } from './errors';
import { type MessageEvents, targetOf } from './events';
import { isJsonContentType, type ProduceInput } from './messages';
import { batchDocuments } from './produceRequest';
import { compatibilityReasons, type JsonSchema } from './schemaCompatibility';

/** The header a message validated against a schema carries: the version's number. */
export const SCHEMA_VERSION_HEADER = 'mqgate-schema-version';

/** Confluent's default. */
export const DEFAULT_COMPATIBILITY: CompatibilityMode = 'backward';

/** Compiled validators kept, by fingerprint: a version's is compiled once per process. */
const VALIDATORS_KEPT = 1000;

/** A schema registration: the schema, and optionally the resource's settings from now on (kept when left out). */
export interface SchemaInput {
  schema: JsonSchema;
  compatibility?: CompatibilityMode;
  allowRawBodies?: boolean;
}

/** A dry run of validation: JSON values, and the version to check them against (default the latest). */
export interface SchemaCheckInput {
  values: unknown[];
  version?: number;
}

/** A version as the API shows it: the schema parsed. */
export interface SchemaVersionView {
  version: number;
  schema: JsonSchema;
  fingerprint: string;
  createdAt: number;
}

/** A resource's schema as the API shows it: the latest version, the settings and how many versions there are. */
export interface SchemaView extends SchemaVersionView, SchemaSettings {
  versions: number;
}

/** How deeply a schema may nest: ajv and the compatibility rules recurse through it. */
export const MAX_SCHEMA_DEPTH = 64;

/** Whether a JSON value nests deeper than `max` arrays and objects (counted without recursion). */
function deeperThan(value: unknown, max: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth >= max) return true;
    for (const item of Object.values(next.value)) pending.push({ value: item, depth: next.depth + 1 });
  }
  return false;
}

/** The canonical JSON of a value: object keys sorted, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function versionView(version: SchemaVersion): SchemaVersionView {
  return { version: version.version, schema: JSON.parse(version.schema) as JsonSchema, fingerprint: version.fingerprint, createdAt: version.createdAt };
}

function view(record: SchemaRecord): SchemaView {
  return { ...versionView(record.latest), compatibility: record.compatibility, allowRawBodies: record.allowRawBodies, versions: record.versions };
}

function describe(owner: SchemaOwner): string {
  return 'queue' in owner ? `Queue '${owner.queue}'` : `Topic '${owner.topic}'`;
}

/**
 * Draft-07 when the schema says so (`$schema` naming draft-07 or draft-06),
 * draft 2020-12 otherwise. A fresh instance per compile: schemas with the same
 * `$id` must not meet in one registry.
 */
function compile(schema: JsonSchema): ValidateFunction {
  const declared = typeof schema === 'object' && typeof schema.$schema === 'string' ? schema.$schema : '';
  const options = { strict: false, allErrors: false, validateFormats: true };
  const ajv = /draft-0[67]/.test(declared) ? new Ajv(options) : new Ajv2020(options);
  addFormats(ajv);
  return ajv.compile(schema);
}

/** Bytes as a JSON document; null when they are not one. */
function parsedJson(bytes: Buffer): { value: unknown } | null {
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return null;
  }
}

/** A message that failed its schema: where, and why. */
interface Failure {
  index: number;
  instancePath: string;
  message: string;
}

/** Why a value fails its schema (ajv's first error, as the validators stop at it), or null when it passes. */
function failureOf(validate: ValidateFunction, value: unknown, index: number): Failure | null {
  if (validate(value)) return null;
  const [error] = validate.errors ?? [];
  return { index, instancePath: error?.instancePath ?? '', message: error?.message ?? 'is not valid' };
}

/** `schema_validation_failed` naming each failure; `consequence` follows the count (what became of the request). */
function validationFailed(owner: SchemaOwner, version: number, failures: Failure[], pointer: (index: number) => string, consequence: string): GatewayError {
  const errors: FieldError[] = failures.map((f) => ({
    pointer: `${pointer(f.index)}${f.instancePath}`,
    detail: f.message,
    index: f.index,
    instancePath: f.instancePath,
  }));
  return new GatewayError(
    'schema_validation_failed',
    `${failures.length} message(s) break version ${version} of the schema of ${describe(owner).toLowerCase()}${consequence}. ${failures
      .map((f) => `Message ${f.index}${f.instancePath === '' ? '' : ` at ${f.instancePath}`}: ${f.message}.`)
      .join(' ')}`,
    { errors },
  );
}

/**
 * The schema registry of queues and topics, and the check of produced
 * messages against it. Whether a version may follow the others is
 * queue/schemaCompatibility.ts's rule.
 */
export class SchemaService {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    private readonly store: SchemaStore,
    private readonly clock: Clock,
    private readonly events: Pick<MessageEvents, 'schemaRefused'>,
  ) {}

  /**
   * operation: putQueueSchema, putTopicSchema — a new version, unless the
   * schema is the latest's (idempotent: that version, settings updated if
   * given). `schema_invalid` when ajv cannot compile it,
   * `schema_incompatible` with the reasons when the resource's mode refuses it.
   */
  async put(owner: SchemaOwner, input: SchemaInput): Promise<{ schema: SchemaView; created: boolean }> {
    if (deeperThan(input.schema, MAX_SCHEMA_DEPTH)) {
      throw new GatewayError('schema_invalid', `The schema nests deeper than ${MAX_SCHEMA_DEPTH} levels.`, {
        errors: [{ pointer: '/body/schema', detail: `nests deeper than ${MAX_SCHEMA_DEPTH} levels` }],
      });
    }
    const text = canonicalJson(input.schema);
    const fingerprint = createHash('sha256').update(text).digest('hex');
    this.validator(fingerprint, () => input.schema);
    for (;;) {
      const current = await this.store.getSchema(owner);
      const settings: SchemaSettings = {
        compatibility: input.compatibility ?? current?.compatibility ?? DEFAULT_COMPATIBILITY,
        allowRawBodies: input.allowRawBodies ?? current?.allowRawBodies ?? false,
      };
      if (current !== null && current.latest.fingerprint === fingerprint) {
        const changed = settings.compatibility !== current.compatibility || settings.allowRawBodies !== current.allowRawBodies;
        const kept = changed ? await this.store.putSchemaSettings({ owner, settings }) : current;
        if (kept !== null) return { schema: view(kept), created: false };
        continue;
      }
      if (current !== null && settings.compatibility !== 'none') {
        const previous = (await this.store.schemaVersions(owner)).map((v) => ({ version: v.version, schema: JSON.parse(v.schema) as JsonSchema }));
        const reasons = compatibilityReasons(settings.compatibility, input.schema, previous);
        if (reasons.length > 0) {
          throw new GatewayError(
            'schema_incompatible',
            `The schema is not ${settings.compatibility} compatible with the versions of ${describe(owner).toLowerCase()}: ${reasons.map((r) => r.detail).join(' ')}`,
            {
              errors: reasons.map((reason) => ({
                pointer: '/body/schema',
                detail: reason.detail,
                property: reason.property,
                rule: reason.rule,
                ...(reason.keyword === undefined ? {} : { keyword: reason.keyword }),
                version: reason.version,
              })),
            },
          );
        }
      }
      const put = await this.store.putSchema({ owner, after: current?.latest.version ?? null, schema: text, fingerprint, settings, now: this.clock.now() });
      // Null: another registration came first; check again against it.
      if (put !== null) return { schema: view(put), created: true };
    }
  }

  /** operation: getQueueSchema, getTopicSchema — `schema_not_found` when the resource has none. */
  async get(owner: SchemaOwner): Promise<SchemaView> {
    const record = await this.store.getSchema(owner);
    if (record === null) throw new GatewayError('schema_not_found', `${describe(owner)} has no schema.`);
    return view(record);
  }

  /** operation: getQueueSchemaVersion, getTopicSchemaVersion */
  async version(owner: SchemaOwner, version: number): Promise<SchemaVersionView> {
    const found = await this.store.schemaVersion({ owner, version });
    if (found === null) throw new GatewayError('schema_not_found', `${describe(owner)} has no schema version ${version}.`);
    return versionView(found);
  }

  /**
   * check() of a produce request's batch, its values as the request parsed
   * them (`textIsJson`: the SQS face's bodies); a failure points at
   * /body/messages/{i}/value.
   */
  checkBatch<M extends NewMessage>(owner: SchemaOwner, inputs: ProduceInput[], messages: M[], pinned: number | null, textIsJson = false): Promise<M[]> {
    return this.check({ owner, messages, documents: batchDocuments(inputs), pinned, textIsJson, pointer: (i) => `/body/messages/${i}/value` });
  }

  /** check() of a raw body, one message; a failure points at /body. */
  async checkRaw<M extends NewMessage>(owner: SchemaOwner, message: M, pinned: number | null): Promise<M> {
    const [checked] = await this.check({ owner, messages: [message], pinned, textIsJson: false, pointer: () => '/body' });
    return checked;
  }

  /**
   * The messages of a produce as the store should keep them: on a resource
   * with a schema, each JSON message validated against the latest version
   * (or `pinned`, the version its producer names) and stamped with it in
   * `mqgate-schema-version`. All or nothing: `schema_validation_failed`
   * naming every failing message. A message that is not JSON is
   * `unsupported_media_type` unless the resource allows raw bodies (then it
   * is kept unvalidated and unstamped). `textIsJson`: text bodies are JSON
   * documents to validate (the SQS face's, which SQS keeps as text).
   * `documents`: each message's parsed JSON where the caller has it
   * (`batchDocuments`), validated instead of parsing its bytes again.
   * Each refusal is told to `events`: every failing message, or the one
   * message that is not JSON.
   */
  private async check<M extends NewMessage>(params: {
    owner: SchemaOwner;
    messages: M[];
    documents?: ReadonlyArray<{ value: unknown } | null>;
    pinned: number | null;
    textIsJson: boolean;
    pointer: (index: number) => string;
  }): Promise<M[]> {
    const { owner, messages, pinned } = params;
    const record = await this.store.getSchema(owner);
    if (record === null) {
      if (pinned !== null) throw this.unknownVersion(owner, pinned);
      return messages;
    }
    const { version, validate } = await this.checkerOf(owner, record, pinned);
    const failures: Failure[] = [];
    const stamped = messages.map((message, index) => {
      const json = isJsonContentType(message.contentType) || params.textIsJson;
      if (!json) {
        if (record.allowRawBodies) return message;
        this.events.schemaRefused(targetOf(owner), 'unsupported_media_type', 1);
        throw new GatewayError(
          'unsupported_media_type',
          `${describe(owner)} has a schema: its messages must be JSON (${message.contentType} is not), unless the schema is registered with allowRawBodies.`,
        );
      }
      const document = params.documents?.[index] ?? parsedJson(message.value);
      if (document === null) {
        failures.push({ index, instancePath: '', message: 'is not a JSON document' });
        return message;
      }
      const failure = failureOf(validate, document.value, index);
      if (failure !== null) {
        failures.push(failure);
        return message;
      }
      const headers = { ...message.headers, [SCHEMA_VERSION_HEADER]: String(version.version) };
      return { ...message, headers, bytes: message.bytes + SCHEMA_VERSION_HEADER.length + String(version.version).length };
    });
    if (failures.length > 0) {
      this.events.schemaRefused(targetOf(owner), 'schema_validation_failed', failures.length);
      throw validationFailed(owner, version.version, failures, params.pointer, '; nothing was stored');
    }
    return stamped;
  }

  /**
   * operation: checkQueueSchema, checkTopicSchema — JSON values checked as a
   * produce checks them (the latest version or `pinned`, the same compiled
   * validator), with nothing stored: the version they pass, or
   * `schema_validation_failed` naming each failing value. A resource without
   * a schema is `schema_not_found`: there is nothing to check against.
   */
  async validate(params: { owner: SchemaOwner; values: unknown[]; pinned: number | null; pointer: (index: number) => string }): Promise<{ version: number; fingerprint: string }> {
    const { owner, pinned } = params;
    const record = await this.store.getSchema(owner);
    if (record === null) throw new GatewayError('schema_not_found', `${describe(owner)} has no schema.`);
    const { version, validate } = await this.checkerOf(owner, record, pinned);
    const failures = params.values.map((value, index) => failureOf(validate, value, index)).filter((failure) => failure !== null);
    if (failures.length > 0) throw validationFailed(owner, version.version, failures, params.pointer, '');
    return { version: version.version, fingerprint: version.fingerprint };
  }

  /**
   * The version messages are checked against, the latest or `pinned`
   * (`schema_version_unknown` when there is no such version), and its
   * compiled validator.
   */
  private async checkerOf(owner: SchemaOwner, record: SchemaRecord, pinned: number | null): Promise<{ version: SchemaVersion; validate: ValidateFunction }> {
    const version = pinned === null || pinned === record.latest.version ? record.latest : await this.store.schemaVersion({ owner, version: pinned });
    if (version === null) throw this.unknownVersion(owner, pinned ?? 0);
    return { version, validate: this.validator(version.fingerprint, () => JSON.parse(version.schema) as JsonSchema) };
  }

  private unknownVersion(owner: SchemaOwner, version: number): GatewayError {
    return new GatewayError('schema_version_unknown', `${describe(owner)} has no schema version ${version}.`);
  }

  /**
   * The compiled validator of a version, by its fingerprint; `schema_invalid`
   * when ajv cannot compile it. `schema` is read only to compile it: a
   * produce with the validator kept parses no schema.
   */
  private validator(fingerprint: string, schema: () => JsonSchema): ValidateFunction {
    const kept = this.validators.get(fingerprint);
    if (kept !== undefined) return kept;
    let compiled: ValidateFunction;
    try {
      compiled = compile(schema());
    } catch (error) {
      throw new GatewayError('schema_invalid', `The schema cannot be compiled: ${error instanceof Error ? error.message : 'unknown reason'}.`, {
        errors: [{ pointer: '/body/schema', detail: error instanceof Error ? error.message : 'cannot be compiled' }],
      });
    }
    if (this.validators.size >= VALIDATORS_KEPT) this.validators.delete(this.validators.keys().next().value as string);
    this.validators.set(fingerprint, compiled);
    return compiled;
  }
}
