import { type CompatibilityReason, compatibilityReasons, type JsonSchema } from '../queue/schemaCompatibility';

/** The rules of each pair, in the order found. */
const rulesOf = (reasons: CompatibilityReason[]) => reasons.map((r) => [r.property, r.rule]);
const backward = (before: JsonSchema, after: JsonSchema) => rulesOf(compatibilityReasons('backward', after, [{ version: 1, schema: before }]));
const forward = (before: JsonSchema, after: JsonSchema) => rulesOf(compatibilityReasons('forward', after, [{ version: 1, schema: before }]));

const open = (properties: object, required: string[] = []) => ({ type: 'object', properties, required });
const closed = (properties: object, required: string[] = []) => ({ ...open(properties, required), additionalProperties: false });

/** Compatibility of JSON Schema versions (queue/schemaCompatibility.ts): pure functions, tested alone. */
describe('schema compatibility', () => {
  test('the same schema, annotations aside, is compatible in every mode', () => {
    const schema = closed({ a: { type: 'string', maxLength: 5 } }, ['a']);
    const annotated = { ...schema, title: 'T', description: 'd', $comment: 'c', properties: { a: { type: 'string', maxLength: 5, examples: ['x'] } } };
    for (const mode of ['backward', 'forward', 'full', 'backward_transitive', 'forward_transitive', 'full_transitive'] as const) {
      expect(compatibilityReasons(mode, annotated, [{ version: 1, schema }])).toEqual([]);
    }
  });

  test('none accepts anything; a first version has nothing to be compatible with', () => {
    expect(compatibilityReasons('none', { type: 'string' }, [{ version: 1, schema: { type: 'object' } }])).toEqual([]);
    expect(compatibilityReasons('full_transitive', { type: 'string' }, [])).toEqual([]);
  });

  test('properties under a closed content model: added (optional) is backward, removed is forward, not the other way', () => {
    const v1 = closed({ a: { type: 'string' } });
    const v2 = closed({ a: { type: 'string' }, b: { type: 'integer' } });
    expect(backward(v1, v2)).toEqual([]);
    expect(forward(v1, v2)).toEqual([['/b', 'property_removed_from_closed_model']]);
    expect(backward(v2, v1)).toEqual([['/b', 'property_removed_from_closed_model']]);
    expect(forward(v2, v1)).toEqual([]);
  });

  test('properties under an open content model: added is refused backward (old data may hold anything there), removed is backward', () => {
    const v1 = open({ a: { type: 'string' } });
    const v2 = open({ a: { type: 'string' }, b: { type: 'integer' } });
    expect(backward(v1, v2)).toEqual([['/b', 'property_added_to_open_model']]);
    expect(forward(v1, v2)).toEqual([]);
    expect(backward(v2, v1)).toEqual([]);
    // An added property that allows anything is no narrowing.
    expect(backward(v1, open({ a: { type: 'string' }, b: { description: 'anything' } }))).toEqual([]);
    // Closing an open model refuses what it allowed.
    expect(backward(v1, closed({ a: { type: 'string' } }))).toEqual([['/*', 'additional_properties_narrowed']]);
  });

  test('required added is refused backward; required removed is refused forward', () => {
    const v1 = closed({ a: { type: 'string' }, b: { type: 'string' } }, ['a']);
    const v2 = closed({ a: { type: 'string' }, b: { type: 'string' } }, ['a', 'b']);
    expect(backward(v1, v2)).toEqual([['/b', 'required_added']]);
    expect(forward(v1, v2)).toEqual([]);
    expect(forward(v2, v1)).toEqual([['/b', 'required_added']]);
  });

  test('types: narrowing refused backward, widening refused forward; integer is a number', () => {
    expect(backward({ type: ['string', 'null'] }, { type: 'string' })).toEqual([['', 'type_narrowed']]);
    expect(backward({ type: 'string' }, { type: ['string', 'null'] })).toEqual([]);
    expect(forward({ type: 'string' }, { type: ['string', 'null'] })).toEqual([['', 'type_narrowed']]);
    expect(backward({ type: 'integer' }, { type: 'number' })).toEqual([]);
    expect(backward({ type: 'number' }, { type: 'integer' })).toEqual([['', 'type_narrowed']]);
    expect(backward({}, { type: 'object' })).toEqual([['', 'type_narrowed']]);
  });

  test('enum values: removed refused backward, added refused forward; an enum or const where there was none narrows', () => {
    expect(backward({ enum: ['a', 'b'] }, { enum: ['a'] })).toEqual([['', 'enum_narrowed']]);
    expect(backward({ enum: ['a'] }, { enum: ['a', 'b'] })).toEqual([]);
    expect(forward({ enum: ['a'] }, { enum: ['a', 'b'] })).toEqual([['', 'enum_narrowed']]);
    expect(backward({ type: 'string' }, { type: 'string', const: 'x' })).toEqual([['', 'enum_narrowed']]);
    expect(backward({ const: 'x' }, { enum: ['x', 'y'] })).toEqual([]);
  });

  test('bounds: tightened refused backward, loosened refused forward, a new bound is a tightening', () => {
    expect(backward({ type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 })).toEqual([['', 'bound_tightened']]);
    expect(backward({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 })).toEqual([]);
    expect(forward({ type: 'string', maxLength: 5 }, { type: 'string', maxLength: 10 })).toEqual([['', 'bound_tightened']]);
    expect(backward({ type: 'string', minLength: 1 }, { type: 'string', minLength: 2 })).toEqual([['', 'bound_tightened']]);
    expect(backward({ type: 'number', minimum: 0, maximum: 10 }, { type: 'number', minimum: -1, maximum: 11 })).toEqual([]);
    expect(backward({ type: 'number', minimum: 0, maximum: 10 }, { type: 'number', minimum: 1, maximum: 9 })).toEqual([
      ['', 'bound_tightened'],
      ['', 'bound_tightened'],
    ]);
    expect(backward({ type: 'number' }, { type: 'number', maximum: 100 })).toEqual([['', 'bound_tightened']]);
    // Every bound of the table is judged, not only the common ones: a looser exclusive bound is compatible.
    expect(backward({ type: 'number', exclusiveMaximum: 10 }, { type: 'number', exclusiveMaximum: 11 })).toEqual([]);
    expect(backward({ type: 'number', exclusiveMinimum: 0 }, { type: 'number', exclusiveMinimum: 1 })).toEqual([['', 'bound_tightened']]);
    expect(backward({ type: 'string' }, { type: 'string', pattern: '^a' })).toEqual([['', 'constraint_added']]);
  });

  test('nested objects and array items are judged recursively, with the pointer of the property', () => {
    const v1 = closed({ address: closed({ zip: { type: 'string', maxLength: 10 } }), tags: { type: 'array', items: { enum: ['x', 'y'] } } });
    const v2 = closed({ address: closed({ zip: { type: 'string', maxLength: 5 } }), tags: { type: 'array', items: { enum: ['x'] } } });
    const reasons = compatibilityReasons('backward', v2, [{ version: 1, schema: v1 }]);
    expect(rulesOf(reasons)).toEqual([
      ['/address/zip', 'bound_tightened'],
      ['/tags/*', 'enum_narrowed'],
    ]);
    expect(reasons[0]).toMatchObject({ keyword: 'maxLength', version: 1 });
    expect(reasons[0].detail).toContain('maxLength is 5 in the new version (2), 10 in version 1');
  });

  test('what the checker cannot judge is refused, never accepted: $ref, oneOf, patternProperties, if/then, tuple items', () => {
    const base = closed({ a: { type: 'string' } });
    expect(backward({ ...base, $defs: { x: { type: 'string' } } }, { ...base, $defs: { x: { type: 'integer' } } })).toEqual([['', 'cannot_judge']]);
    expect(backward({ oneOf: [{ type: 'string' }] }, { oneOf: [{ type: 'string' }, { type: 'null' }] })).toEqual([['', 'cannot_judge']]);
    // Judged keywords beside it are still judged: a type where there was none narrows too.
    expect(backward({ anyOf: [{ type: 'string' }] }, { type: 'string' })).toEqual([
      ['', 'cannot_judge'],
      ['', 'type_narrowed'],
    ]);
    expect(backward(open({}), { ...open({ a: {} }), patternProperties: { '^x': { type: 'string' } } })).toEqual([['', 'cannot_judge']]);
    const patterned = { ...open({}), patternProperties: { '^x': { type: 'string' } } };
    expect(backward(patterned, { ...patterned, properties: { xa: { type: 'integer' } } })).toEqual([['', 'cannot_judge']]);
    expect(backward(base, { ...base, if: { required: ['a'] }, then: { required: ['b'] } })).toEqual([
      ['', 'cannot_judge'],
      ['', 'cannot_judge'],
    ]);
    expect(backward({ type: 'array', items: [{ type: 'string' }] }, { type: 'array', items: [{ type: 'integer' }] })).toEqual([['', 'cannot_judge']]);
    expect(backward({ properties: { a: { $ref: '#/$defs/a' } } }, { properties: { a: { $ref: '#/$defs/b' } } })).toEqual([['/a', 'cannot_judge']]);
    // The same unjudged keyword on both sides is no change.
    expect(backward({ ...base, allOf: [{ required: ['a'] }] }, { ...base, allOf: [{ required: ['a'] }], description: 'new' })).toEqual([]);
    // Unless the mode checks nothing.
    expect(compatibilityReasons('none', { oneOf: [] }, [{ version: 1, schema: { anyOf: [] } }])).toEqual([]);
  });

  test('full checks both ways; transitive forms check every earlier version, the others only the latest', () => {
    const v1 = closed({ a: { type: 'string' } });
    const v2 = closed({ a: { type: 'string' }, b: { type: 'string' } }, ['b']);
    const v3 = closed({ a: { type: 'string' }, b: { type: 'string' } }, ['b']);
    expect(rulesOf(compatibilityReasons('full', closed({ a: { type: 'string' }, b: { type: 'string' } }), [{ version: 1, schema: v1 }]))).toEqual([
      ['/b', 'property_removed_from_closed_model'],
    ]);
    // v3 follows v2 (same schema) but requires b, which v1's documents lack.
    const history = [
      { version: 1, schema: v1 },
      { version: 2, schema: v2 },
    ];
    expect(compatibilityReasons('backward', v3, history)).toEqual([]);
    const transitive = compatibilityReasons('backward_transitive', v3, history);
    expect(transitive.map((r) => [r.version, r.property, r.rule])).toEqual([[1, '/b', 'required_added']]);
  });

  test('boolean schemas: false refuses everything, true accepts everything', () => {
    expect(backward(true, false)).toEqual([['', 'schema_refuses_all']]);
    expect(backward(false, { type: 'string' })).toEqual([]);
    expect(backward({ type: 'string' }, true)).toEqual([]);
  });
});
