import type { SchemaSettings } from '../../persistence/store';
import { type ContractContext, expectFailure, T0, topicSettings } from './fixtures';

const BACKWARD: SchemaSettings = { compatibility: 'backward', allowRawBodies: false };

/** Schemas of queues and topics: versions registered in order, read back, and gone with their resource. */
export function describeSchemas(context: ContractContext): void {
  describe('schemas', () => {
    const put = (after: number | null, schema: string, settings: SchemaSettings = BACKWARD, owner: { queue: string } | { topic: string } = { queue: 'q' }) =>
      context.store.putSchema({ owner, after, schema, fingerprint: `fp-${schema}`, settings, now: T0 + (after ?? 0) });

    test('a resource has no schema until one is registered; versions count from 1 and are read back, oldest first', async () => {
      const { store } = context;
      expect(await store.getSchema({ queue: 'q' })).toBeNull();
      expect(await store.schemaVersions({ queue: 'q' })).toEqual([]);
      const first = await put(null, '{"type":"object"}');
      expect(first).toEqual({
        compatibility: 'backward',
        allowRawBodies: false,
        versions: 1,
        latest: { version: 1, schema: '{"type":"object"}', fingerprint: 'fp-{"type":"object"}', createdAt: T0 },
      });
      const second = await put(1, '{"type":"string"}', { compatibility: 'full_transitive', allowRawBodies: true });
      expect(second).toMatchObject({ compatibility: 'full_transitive', allowRawBodies: true, versions: 2, latest: { version: 2, createdAt: T0 + 1 } });
      expect(await store.getSchema({ queue: 'q' })).toEqual(second);
      expect((await store.schemaVersions({ queue: 'q' })).map((v) => v.schema)).toEqual(['{"type":"object"}', '{"type":"string"}']);
      expect(await store.schemaVersion({ owner: { queue: 'q' }, version: 1 })).toEqual(first?.latest);
      expect(await store.schemaVersion({ owner: { queue: 'q' }, version: 3 })).toBeNull();
    });

    test('a registration after a version that is no longer the latest writes nothing', async () => {
      expect(await put(null, '{"a":1}')).not.toBeNull();
      // Another registration came first: a second first version, and one after version 1 once 2 exists.
      expect(await put(null, '{"b":1}')).toBeNull();
      expect(await put(1, '{"c":1}')).not.toBeNull();
      expect(await put(1, '{"d":1}')).toBeNull();
      expect((await context.store.schemaVersions({ queue: 'q' })).map((v) => v.schema)).toEqual(['{"a":1}', '{"c":1}']);
    });

    test('two registrations after the same version at once: one is kept', async () => {
      await put(null, '{"a":1}');
      const results = await Promise.all([put(1, '{"b":1}'), put(1, '{"c":1}')]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(await context.store.schemaVersions({ queue: 'q' })).toHaveLength(2);
    });

    test('settings change without a new version; a resource without a schema has none to change', async () => {
      const { store } = context;
      expect(await store.putSchemaSettings({ owner: { queue: 'q' }, settings: { compatibility: 'none', allowRawBodies: true } })).toBeNull();
      await put(null, '{}');
      expect(await store.putSchemaSettings({ owner: { queue: 'q' }, settings: { compatibility: 'forward', allowRawBodies: true } })).toMatchObject({
        compatibility: 'forward',
        allowRawBodies: true,
        versions: 1,
      });
    });

    test("topics have schemas of their own, and a resource's versions go with it", async () => {
      const { store } = context;
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      await put(null, '{"topic":true}', BACKWARD, { topic: 't' });
      await put(null, '{"queue":true}');
      expect((await store.getSchema({ topic: 't' }))?.latest.schema).toBe('{"topic":true}');
      await store.deleteTopic('t');
      await store.putTopic({ name: 't', settings: topicSettings(), now: T0 });
      expect(await store.getSchema({ topic: 't' })).toBeNull();
      await store.deleteQueue('q');
      await expectFailure(store.getSchema({ queue: 'q' }), { code: 'queue_not_found', queue: 'q' });
    });

    test('a queue is not a topic: each kind is looked up as itself', async () => {
      const { store } = context;
      await expectFailure(store.getSchema({ topic: 'q' }), { code: 'topic_not_found', topic: 'q' });
      await expectFailure(put(null, '{}', BACKWARD, { topic: 'q' }), { code: 'topic_not_found', topic: 'q' });
      await expectFailure(store.schemaVersions({ queue: 'missing' }), { code: 'queue_not_found', queue: 'missing' });
      await expectFailure(store.schemaVersion({ owner: { queue: 'missing' }, version: 1 }), { code: 'queue_not_found', queue: 'missing' });
    });
  });
}
