import { isDeepStrictEqual } from 'node:util';
import type { CompatibilityMode } from '../persistence/store';

/**
 * Compatibility of JSON Schema versions, as Confluent Schema Registry defines
 * it: a schema that *reads* is compatible with one that *wrote* when every
 * document valid under the writer is valid under the reader. `backward`: the
 * new version reads what the previous wrote; `forward`: the previous reads
 * what the new writes; `full`: both; `_transitive`: against every earlier
 * version, not only the latest.
 *
 * No maintained npm library does this for JSON Schema, so this is a
 * documented subset (README, "Schemas"). It judges, at every position and
 * recursively through `properties`, `additionalProperties` and `items` (one
 * schema): `type` (integer counts as a number), `enum` and `const`, the
 * bounds `maxLength`/`minLength`, `maximum`/`minimum`,
 * `exclusiveMaximum`/`exclusiveMinimum`, `maxItems`/`minItems`,
 * `maxProperties`/`minProperties`, `required`, properties added or removed
 * under open and closed content models, and `pattern`, `format`,
 * `multipleOf` and `uniqueItems` added. Annotations (title, description, …)
 * are ignored. Any other keyword that differs between the two — `$ref`,
 * `$defs`, `oneOf`/`anyOf`/`allOf`/`not`, `if`/`then`/`else`,
 * `patternProperties`, tuple `items`, … — is refused as `cannot_judge`, never
 * accepted unseen. A reader may be wrongly refused (its rules are
 * conservative); a writer's documents are never wrongly let through.
 */

/** Why a reader may refuse what a writer wrote. Each rule names how the reader is narrower than the writer. */
export type CompatibilityRule =
  /** The reader allows fewer JSON types than the writer. */
  | 'type_narrowed'
  /** The reader allows fewer values (an `enum` or `const` added, or values removed). */
  | 'enum_narrowed'
  /** A bound (`maxLength`, `minimum`, …) is tighter in the reader, or the reader adds one. */
  | 'bound_tightened'
  /** `pattern`, `format`, `multipleOf` or `uniqueItems` is in the reader only, or differs. */
  | 'constraint_added'
  /** The reader requires a property the writer may leave out. */
  | 'required_added'
  /** The reader declares a property the writer's open content model lets take any value. */
  | 'property_added_to_open_model'
  /** The writer declares a property the reader's closed content model refuses. */
  | 'property_removed_from_closed_model'
  /** The reader's additionalProperties refuse what the writer's allow. */
  | 'additional_properties_narrowed'
  /** The reader is `false` (nothing is valid). */
  | 'schema_refuses_all'
  /** A keyword this checker does not judge differs between the two: refused rather than guessed. */
  | 'cannot_judge';

export interface CompatibilityReason {
  /** Where in a message: a JSON pointer to the property (`""`, the whole value; `/address/zip`; `/items/*` for every element). */
  property: string;
  rule: CompatibilityRule;
  /** The keyword at fault, when there is one. */
  keyword?: string;
  /** The version compared with (the reader or the writer, whichever is not the new one). */
  version: number;
  detail: string;
}

/** A JSON Schema (draft 2020-12 or 07), as parsed JSON. */
export type JsonSchema = boolean | { [keyword: string]: unknown };
type Schema = JsonSchema;

/** Keywords that say nothing about which documents are valid. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$anchor',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentEncoding',
  'contentMediaType',
]);

/** Upper bounds: the reader's must be absent, or at least the writer's. */
const UPPER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
/** Lower bounds: the reader's must be absent, or at most the writer's. */
const LOWER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
/** Constraints judged only as added or changed: the reader's must be absent, or the writer's. */
const SAME_OR_ABSENT = ['pattern', 'format', 'multipleOf', 'uniqueItems'];
/** What the rules below judge; any other keyword must be the same in both. */
const JUDGED = new Set([...UPPER, ...LOWER, ...SAME_OR_ABSENT, 'type', 'enum', 'const', 'required', 'properties', 'additionalProperties', 'items']);

const JSON_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A schema position as an object; `true` is `{}`. `false` is handled by the caller. */
function asObject(schema: Schema): Record<string, unknown> {
  return schema === true ? {} : isObject(schema) ? schema : {};
}

/** Whether a schema accepts every value (`true`, `{}`, or only annotations). */
function acceptsAll(schema: Schema): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  return Object.keys(schema).every((keyword) => ANNOTATIONS.has(keyword));
}

/** The JSON types a schema allows; null for all. */
function typesOf(schema: Record<string, unknown>): string[] | null {
  const { type } = schema;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return null;
}

/** The values a schema allows by `enum` and `const`; null for no such limit. */
function valuesOf(schema: Record<string, unknown>): unknown[] | null {
  if ('const' in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : null;
}

/** Whether a `type` list allows a type: integer is a number too. */
function allowsType(types: string[], type: string): boolean {
  return types.includes(type) || (type === 'integer' && types.includes('number'));
}

interface Walk {
  version: number;
  reasons: CompatibilityReason[];
  /** Words for the reader and the writer in details: `version 2 (new)`, … */
  reader: string;
  writer: string;
}

function refuse(walk: Walk, property: string, rule: CompatibilityRule, detail: string, keyword?: string): void {
  walk.reasons.push({ property, rule, ...(keyword === undefined ? {} : { keyword }), version: walk.version, detail });
}

function pointer(base: string, name: string): string {
  return `${base}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** The checks of one position: what documents valid under `writer` may fail under `reader`. */
function compare(reader: Schema, writer: Schema, at: string, walk: Walk): void {
  if (isDeepStrictEqual(reader, writer) || acceptsAll(reader) || writer === false) return;
  if (reader === false) {
    refuse(walk, at, 'schema_refuses_all', `${walk.reader} is false: it refuses what ${walk.writer} allows.`);
    return;
  }
  const r = asObject(reader);
  const w = asObject(writer);
  for (const keyword of new Set([...Object.keys(r), ...Object.keys(w)])) {
    if (JUDGED.has(keyword) || ANNOTATIONS.has(keyword)) continue;
    if (!isDeepStrictEqual(r[keyword], w[keyword])) {
      refuse(walk, at, 'cannot_judge', `'${keyword}' differs between ${walk.reader} and ${walk.writer}, and the gateway cannot judge that change.`, keyword);
    }
  }
  compareTypes(r, w, at, walk);
  compareValues(r, w, at, walk);
  compareBounds(r, w, at, walk);
  compareObjects(r, w, at, walk);
  compareItems(r, w, at, walk);
}

function compareTypes(r: Record<string, unknown>, w: Record<string, unknown>, at: string, walk: Walk): void {
  const readerTypes = typesOf(r);
  if (readerTypes === null) return;
  const writerTypes = typesOf(w) ?? JSON_TYPES;
  const refused = writerTypes.filter((type) => !allowsType(readerTypes, type));
  if (refused.length > 0) {
    refuse(walk, at, 'type_narrowed', `${walk.writer} allows ${refused.join(', ')} where ${walk.reader} allows only ${readerTypes.join(', ')}.`, 'type');
  }
}

function compareValues(r: Record<string, unknown>, w: Record<string, unknown>, at: string, walk: Walk): void {
  const readerValues = valuesOf(r);
  if (readerValues === null) return;
  const writerValues = valuesOf(w);
  const keyword = 'const' in r ? 'const' : 'enum';
  if (writerValues === null) {
    refuse(walk, at, 'enum_narrowed', `${walk.reader} allows only the values of its '${keyword}'; ${walk.writer} has no such limit.`, keyword);
    return;
  }
  const missing = writerValues.filter((value) => !readerValues.some((allowed) => isDeepStrictEqual(allowed, value)));
  if (missing.length > 0) {
    refuse(walk, at, 'enum_narrowed', `${walk.writer} allows ${missing.map((v) => JSON.stringify(v)).join(', ')}, which ${walk.reader} does not.`, keyword);
  }
}

function compareBounds(r: Record<string, unknown>, w: Record<string, unknown>, at: string, walk: Walk): void {
  const bound = (keyword: string, looser: (readerBound: number, writerBound: number) => boolean): void => {
    if (!(keyword in r)) return;
    const readerBound = r[keyword];
    const writerBound = w[keyword];
    if (typeof readerBound !== 'number' || typeof writerBound !== 'number') {
      // A bound only the reader has, or one that is not a number (draft-04's boolean exclusiveMaximum): not shown to hold.
      if (!isDeepStrictEqual(readerBound, writerBound)) {
        refuse(walk, at, 'bound_tightened', `${walk.reader} has ${keyword} ${JSON.stringify(readerBound)}; ${walk.writer} has ${JSON.stringify(writerBound) ?? 'none'}.`, keyword);
      }
      return;
    }
    if (!looser(readerBound, writerBound)) {
      refuse(walk, at, 'bound_tightened', `${keyword} is ${readerBound} in ${walk.reader}, ${writerBound} in ${walk.writer}.`, keyword);
    }
  };
  for (const keyword of UPPER) bound(keyword, (readerBound, writerBound) => readerBound >= writerBound);
  for (const keyword of LOWER) bound(keyword, (readerBound, writerBound) => readerBound <= writerBound);
  for (const keyword of SAME_OR_ABSENT) {
    if (keyword in r && !isDeepStrictEqual(r[keyword], w[keyword])) {
      refuse(walk, at, 'constraint_added', `${walk.reader} has ${keyword} ${JSON.stringify(r[keyword])}; ${walk.writer} has ${JSON.stringify(w[keyword]) ?? 'none'}.`, keyword);
    }
  }
}

/** A position's `additionalProperties` as a schema: absent is `true` (the open content model). */
function additionalOf(schema: Record<string, unknown>): Schema {
  const additional = schema.additionalProperties;
  return additional === undefined ? true : typeof additional === 'boolean' || isObject(additional) ? additional : true;
}

function propertiesOf(schema: Record<string, unknown>): Record<string, Schema> {
  return isObject(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
}

function requiredOf(schema: Record<string, unknown>): string[] {
  return Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [];
}

function compareObjects(r: Record<string, unknown>, w: Record<string, unknown>, at: string, walk: Walk): void {
  const modelChanged = !isDeepStrictEqual(r.properties, w.properties) || !isDeepStrictEqual(r.additionalProperties, w.additionalProperties);
  if (('patternProperties' in r || 'patternProperties' in w) && modelChanged) {
    // Which properties are additional depends on the patterns: not judged (patterns that differ are refused by compare already).
    if (isDeepStrictEqual(r.patternProperties, w.patternProperties)) {
      refuse(walk, at, 'cannot_judge', `${walk.reader} and ${walk.writer} have patternProperties and their properties differ: the gateway cannot judge that change.`, 'patternProperties');
    }
    return;
  }
  const writerRequired = requiredOf(w);
  for (const name of requiredOf(r)) {
    if (!writerRequired.includes(name)) {
      refuse(walk, pointer(at, name), 'required_added', `${walk.reader} requires '${name}', which ${walk.writer} does not.`, 'required');
    }
  }
  const readerProperties = propertiesOf(r);
  const writerProperties = propertiesOf(w);
  const readerAdditional = additionalOf(r);
  const writerAdditional = additionalOf(w);
  for (const name of new Set([...Object.keys(readerProperties), ...Object.keys(writerProperties)])) {
    const at2 = pointer(at, name);
    const inReader = name in readerProperties;
    const inWriter = name in writerProperties;
    if (inReader && inWriter) {
      compare(readerProperties[name], writerProperties[name], at2, walk);
    } else if (inWriter) {
      // The writer's documents may hold it; the reader takes it as an additional property.
      if (readerAdditional === false) {
        refuse(walk, at2, 'property_removed_from_closed_model', `${walk.writer} declares '${name}', which ${walk.reader}'s closed content model (additionalProperties: false) refuses.`, 'properties');
      } else {
        compare(readerAdditional, writerProperties[name], at2, walk);
      }
    } else if (writerAdditional !== false && !subsumes(readerProperties[name], writerAdditional)) {
      // The writer's open content model lets its documents hold it with any value its additionalProperties allow.
      refuse(
        walk,
        at2,
        'property_added_to_open_model',
        `${walk.reader} declares '${name}', which ${walk.writer}'s open content model lets hold other values; close it (additionalProperties: false) before adding properties.`,
        'properties',
      );
    }
  }
  if (writerAdditional !== false && !subsumes(readerAdditional, writerAdditional)) {
    refuse(walk, pointer(at, '*'), 'additional_properties_narrowed', `${walk.reader}'s additionalProperties refuse properties ${walk.writer}'s allow.`, 'additionalProperties');
  }
}

/** Whether `reader` accepts everything `writer` does, by the rules of this module. */
function subsumes(reader: Schema, writer: Schema): boolean {
  const reasons: CompatibilityReason[] = [];
  compare(reader, writer, '', { version: 0, reasons, reader: '', writer: '' });
  return reasons.length === 0;
}

function compareItems(r: Record<string, unknown>, w: Record<string, unknown>, at: string, walk: Walk): void {
  if (!('items' in r) || isDeepStrictEqual(r.items, w.items)) return;
  const readerItems = r.items;
  const writerItems = w.items ?? true;
  if (!(typeof readerItems === 'boolean' || isObject(readerItems)) || !(typeof writerItems === 'boolean' || isObject(writerItems))) {
    refuse(walk, at, 'cannot_judge', `'items' as a list (a tuple) differs between ${walk.reader} and ${walk.writer}, and the gateway cannot judge that change.`, 'items');
    return;
  }
  compare(readerItems, writerItems, pointer(at, '*'), walk);
}

/** Reasons a document valid under `writer` may be invalid under `reader`; none when every one is valid. */
export function readerRefusals(params: { reader: Schema; writer: Schema; version: number; readerName: string; writerName: string }): CompatibilityReason[] {
  const walk: Walk = { version: params.version, reasons: [], reader: params.readerName, writer: params.writerName };
  compare(params.reader, params.writer, '', walk);
  return walk.reasons;
}

export interface PreviousVersion {
  version: number;
  schema: Schema;
}

/**
 * Why `candidate` (the version after `previous`, oldest first) may not be
 * registered under `mode`; none when it may. Non-transitive modes compare
 * with the latest version only.
 */
export function compatibilityReasons(mode: CompatibilityMode, candidate: Schema, previous: PreviousVersion[]): CompatibilityReason[] {
  if (mode === 'none' || previous.length === 0) return [];
  const against = mode.endsWith('_transitive') ? previous : previous.slice(-1);
  const backward = mode.startsWith('backward') || mode.startsWith('full');
  const forward = mode.startsWith('forward') || mode.startsWith('full');
  const next = previous[previous.length - 1].version + 1;
  return against.flatMap(({ version, schema }) => [
    ...(backward
      ? readerRefusals({ reader: candidate, writer: schema, version, readerName: `the new version (${next})`, writerName: `version ${version}` })
      : []),
    ...(forward
      ? readerRefusals({ reader: schema, writer: candidate, version, readerName: `version ${version}`, writerName: `the new version (${next})` })
      : []),
  ]);
}
