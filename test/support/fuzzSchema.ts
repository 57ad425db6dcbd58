import fc from 'fast-check';
import type { JsonSchema } from '../../api/spec';
import { isJsonObject, type JsonObject, type JsonTree } from './fuzzJson';

/** Where a schema sits: the property or parameter it is the value of, and in which part of the request. */
export interface Site {
  property: string | null;
  location: 'path' | 'query' | 'header' | 'body';
}

/**
 * What the spec cannot say: which values make a request touch existing
 * resources (an existing queue's name, a live receipt) or keep it cheap
 * (`waitMs: 0`, a long-poll holds the request). A hint gets the schema's own
 * arbitrary and mixes it in, so every value the schema allows stays possible.
 */
export interface Hints {
  /** By the name of a referenced component (`Name`, `Receipts`). */
  components: Record<string, (site: Site, schemaValue: fc.Arbitrary<JsonTree>) => fc.Arbitrary<JsonTree>>;
  /** By the name of the property or parameter (array items by the array's name and `[]`); gets the resolved schema. */
  properties: Record<string, (schemaValue: fc.Arbitrary<JsonTree>, schema: JsonSchema) => fc.Arbitrary<JsonTree>>;
  /** Makes a generated object consistent where one field constrains another (`valueEncoding` and `value`). */
  fixObject: (object: JsonObject) => JsonObject;
}

const COMPONENT_REF = '#/components/schemas/';
/** Nothing is generated deeper than this: recursive schemas stay finite and requests small. */
const MAX_DEPTH = 8;
/** Collections stay small; the mutations make the large ones. */
const MAX_ITEMS = 4;

function asSchema(value: unknown): JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonSchema) : {};
}

function asSchemas(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? value.map(asSchema) : [];
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** The JSON types a schema allows: its `type`, or none when it does not say. */
export function schemaTypes(schema: JsonSchema): string[] {
  const type = schema.type;
  if (typeof type === 'string') return [type];
  return Array.isArray(type) ? type.filter((t): t is string => typeof t === 'string') : [];
}

/** Builds fast-check arbitraries of values valid for the spec's schemas, with the hints mixed in. */
export class SchemaArbitraries {
  private readonly patterns = new Map<string, fc.Arbitrary<string>>();

  constructor(
    private readonly components: Record<string, JsonSchema>,
    private readonly hints: Hints,
  ) {}

  /** The schema a `$ref` names, and its component name. */
  resolve(schema: JsonSchema): { schema: JsonSchema; component: string | null } {
    const ref = schema.$ref;
    if (typeof ref !== 'string' || !ref.startsWith(COMPONENT_REF)) return { schema, component: null };
    const component = ref.slice(COMPONENT_REF.length);
    return { schema: this.components[component] ?? {}, component };
  }

  /** Values of `schema` at `site`, with the hints for its component and for its property mixed in. */
  value(schema: JsonSchema, site: Site, depth = 0): fc.Arbitrary<JsonTree> {
    const own = this.componentValue(schema, site, depth);
    const byProperty = site.property === null ? undefined : this.hints.properties[site.property];
    return byProperty === undefined ? own : byProperty(own, this.resolve(schema).schema);
  }

  /** Values of `schema` with only its component's hint: branches of a oneOf share their property's hint. */
  private componentValue(schema: JsonSchema, site: Site, depth: number): fc.Arbitrary<JsonTree> {
    const own = this.unhinted(schema, site, depth);
    const { component } = this.resolve(schema);
    const byComponent = component === null ? undefined : this.hints.components[component];
    return byComponent === undefined ? own : byComponent(site, own);
  }

  private unhinted(schema: JsonSchema, site: Site, depth: number): fc.Arbitrary<JsonTree> {
    const resolved = this.resolve(schema).schema;
    if (depth > MAX_DEPTH) return fc.constant(null);
    if ('const' in resolved) return fc.constant(resolved.const as JsonTree);
    if (Array.isArray(resolved.enum) && resolved.enum.length > 0) return fc.constantFrom(...(resolved.enum as JsonTree[]));
    const branches = [...asSchemas(resolved.oneOf), ...asSchemas(resolved.anyOf)];
    if (branches.length > 0) return fc.oneof(...branches.map((branch) => this.componentValue({ ...withoutBranches(resolved), ...branch }, site, depth + 1)));
    const types = schemaTypes(resolved);
    if (types.length === 0) return anyJson();
    return fc.oneof(...types.map((type) => this.ofType(type, resolved, site, depth)));
  }

  private ofType(type: string, schema: JsonSchema, site: Site, depth: number): fc.Arbitrary<JsonTree> {
    switch (type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return integerIn(schema);
      case 'number':
        return fc.double({ min: num(schema.minimum) ?? -1e6, max: num(schema.maximum) ?? 1e6, noNaN: true, noDefaultInfinity: true });
      case 'string':
        return this.string(schema, site);
      case 'array':
        return this.array(schema, site, depth);
      case 'object':
        return this.object(schema, depth);
      default:
        return anyJson();
    }
  }

  private string(schema: JsonSchema, site: Site): fc.Arbitrary<string> {
    const minLength = num(schema.minLength) ?? 0;
    const maxLength = num(schema.maxLength) ?? minLength + 24;
    if (typeof schema.pattern === 'string') return this.pattern(schema.pattern, minLength, maxLength);
    // Header values travel as latin1: printable ASCII keeps a valid-shaped header valid.
    const unit = site.location === 'header' ? 'grapheme-ascii' : 'grapheme';
    return fc.string({ unit, minLength, maxLength: Math.min(maxLength, minLength + 24) });
  }

  private pattern(pattern: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
    const key = `${pattern}\u0000${minLength}\u0000${maxLength}`;
    let arbitrary = this.patterns.get(key);
    if (arbitrary === undefined) {
      arbitrary = fc.stringMatching(new RegExp(pattern)).filter((s) => s.length >= minLength && s.length <= maxLength);
      this.patterns.set(key, arbitrary);
    }
    return arbitrary;
  }

  private array(schema: JsonSchema, site: Site, depth: number): fc.Arbitrary<JsonTree> {
    const minLength = num(schema.minItems) ?? 0;
    const maxLength = Math.min(num(schema.maxItems) ?? minLength + MAX_ITEMS, minLength + MAX_ITEMS);
    const items = { ...site, property: site.property === null ? null : `${site.property}[]` };
    return fc.array(this.value(asSchema(schema.items), items, depth + 1), { minLength, maxLength });
  }

  private object(schema: JsonSchema, depth: number): fc.Arbitrary<JsonTree> {
    const properties = asSchema(schema.properties);
    const model: Record<string, fc.Arbitrary<JsonTree>> = {};
    for (const [name, sub] of Object.entries(properties)) model[name] = this.value(asSchema(sub), { property: name, location: 'body' }, depth + 1);
    const required = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === 'string' && k in model) : [];
    const declared = fc.record(model, { requiredKeys: required });
    const extra = this.additional(schema, depth);
    const conditional = this.conditionalRequired(schema, model);
    return fc.tuple(declared, extra, conditional).map(([fields, more, ifThen]) => {
      const object: JsonObject = { ...more, ...(fields as JsonObject) };
      return this.hints.fixObject(ifThen(object));
    });
  }

  /** Properties beyond the declared ones, where `additionalProperties` is a schema (a map such as `headers`). */
  private additional(schema: JsonSchema, depth: number): fc.Arbitrary<JsonObject> {
    const values = schema.additionalProperties;
    if (typeof values !== 'object' || values === null) return fc.constant({});
    const names = asSchema(schema.propertyNames);
    const key =
      typeof names.pattern === 'string'
        ? this.pattern(names.pattern, num(names.minLength) ?? 0, num(names.maxLength) ?? 256)
        : fc.string({ minLength: Math.max(1, num(names.minLength) ?? 0), maxLength: Math.min(num(names.maxLength) ?? 16, 16) });
    const maxKeys = Math.min(num(schema.maxProperties) ?? MAX_ITEMS, MAX_ITEMS);
    return fc.dictionary(key, this.value(asSchema(values), { property: null, location: 'body' }, depth + 1), { maxKeys });
  }

  /**
   * `allOf: [{if: {properties: {to: {const: offset}}}, then: {required: [offset]}}]`:
   * when a generated object meets an `if` of constants, the `then` properties it
   * lacks are added, so valid-shaped stays valid.
   */
  private conditionalRequired(schema: JsonSchema, model: Record<string, fc.Arbitrary<JsonTree>>): fc.Arbitrary<(o: JsonObject) => JsonObject> {
    const rules = asSchemas(schema.allOf)
      .map((rule) => ({ when: asSchema(asSchema(rule.if).properties), need: asSchema(rule.then).required }))
      .filter((rule): rule is { when: JsonSchema; need: string[] } => Array.isArray(rule.need));
    const needed = [...new Set(rules.flatMap((rule) => rule.need))].filter((k) => k in model);
    const supplies: Record<string, fc.Arbitrary<JsonTree>> = Object.fromEntries(needed.map((k) => [k, model[k]]));
    return fc.record(supplies).map((supply) => (object: JsonObject) => {
      let fixed = object;
      for (const rule of rules) {
        const applies = Object.entries(rule.when).every(([k, s]) => object[k] === asSchema(s).const);
        if (!applies) continue;
        for (const k of rule.need) if (!(k in fixed) && k in supply) fixed = { ...fixed, [k]: (supply as JsonObject)[k] };
      }
      return fixed;
    });
  }
}

function withoutBranches(schema: JsonSchema): JsonSchema {
  const { oneOf: _oneOf, anyOf: _anyOf, ...rest } = schema;
  return rest;
}

/**
 * Integers a store or a runtime treats specially: 32-bit and 53-bit limits,
 * SQLite's 64-bit limit, and numbers JSON carries that no integer column holds.
 */
const LARGE_INTEGERS = [2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 63, 2 ** 64, 1e21, 1e300];

/**
 * Integers within the schema's bounds: mostly small ones near the minimum,
 * sometimes any, sometimes the bounds themselves; where the schema sets no
 * maximum, also the large integers (the spec allows them, so the gateway must
 * answer them without a 5xx).
 */
export function integerIn(schema: JsonSchema): fc.Arbitrary<number> {
  const exclusiveMin = num(schema.exclusiveMinimum);
  const exclusiveMax = num(schema.exclusiveMaximum);
  const min = num(schema.minimum) ?? (exclusiveMin === undefined ? -1000 : exclusiveMin + 1);
  const max = num(schema.maximum) ?? (exclusiveMax === undefined ? Infinity : exclusiveMax - 1);
  const edges = [min, max, ...LARGE_INTEGERS].filter((n) => Number.isFinite(n) && n >= min && n <= max);
  return fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min, max: Math.min(max, min + 100) }) },
    { weight: 2, arbitrary: fc.integer({ min, max: Math.min(max, Number.MAX_SAFE_INTEGER) }) },
    { weight: 3, arbitrary: fc.constantFrom(...edges) },
  );
}

/** Any JSON value, shallow: for schemas that allow anything (a message's `value`). */
export function anyJson(): fc.Arbitrary<JsonTree> {
  return fc.jsonValue({ maxDepth: 3 }).map((value) => value as JsonTree);
}

/** Whether a tree is an object (for hints that fix objects up). */
export { isJsonObject };
