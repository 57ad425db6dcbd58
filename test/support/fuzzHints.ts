import fc from 'fast-check';
import type { JsonSchema } from '../../api/spec';
import { isJsonContentType } from '../../queue/messages';
import { type Forgery, type JsonObject, type JsonTree, LiveGeneration, LiveName, LiveReceipt, type Role } from './fuzzJson';
import { type Hints, type Site, schemaTypes } from './fuzzSchema';

export interface HintOptions {
  /** Names of the fixtures: any of them may turn up where a name of another kind is meant. */
  fixtureNames: string[];
  /** An http URL on 127.0.0.1 where nothing listens: the only push target the gateway under test allows. */
  deadTarget: string;
  /** The manual clock's time at the start: timestamps near it find messages. */
  clockStart: number;
  maxMessageBytes: number;
}

/** Which kind of resource a name parameter or field names. */
const ROLE_BY_PROPERTY: Record<string, Role> = {
  queue: 'queue',
  topic: 'topic',
  group: 'group',
  subscription: 'subscription',
  push: 'push',
  deadLetterQueue: 'queue',
};

const FORGERIES: Forgery[] = [
  'nextDelivery',
  'previousDelivery',
  'otherMessage',
  'otherSubscription',
  'truncated',
  'swapCase',
  'padded',
  'maxDigits',
  'notBase64',
];

function weighted<T>(...entries: Array<[number, fc.Arbitrary<T>]>): fc.Arbitrary<T> {
  return fc.oneof(...entries.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** Mostly `value`, sometimes whatever the schema allows. */
function mostly(value: fc.Arbitrary<JsonTree>, schemaValue: fc.Arbitrary<JsonTree>, odds = 3): fc.Arbitrary<JsonTree> {
  return weighted<JsonTree>([odds, value], [1, schemaValue]);
}

/**
 * A hint for integer fields named so (`partition` is an integer in one place;
 * `partitions` is a count in one schema and a list in another): where the
 * schema is no integer, the schema's own values.
 */
function integers(range: [number, number], odds = 3): (schemaValue: fc.Arbitrary<JsonTree>, schema: JsonSchema) => fc.Arbitrary<JsonTree> {
  return (schemaValue, schema) => (schemaTypes(schema).includes('integer') ? mostly(fc.integer({ min: range[0], max: range[1] }), schemaValue, odds) : schemaValue);
}

/** A receipt the gateway gave out, often forged: the fencing of receipts is what these probe. */
export function receiptArbitrary(): fc.Arbitrary<LiveReceipt> {
  return weighted(
    [3, fc.nat().map((pick) => new LiveReceipt(pick, 'none'))],
    [2, fc.tuple(fc.nat(), fc.constantFrom(...FORGERIES)).map(([pick, forgery]) => new LiveReceipt(pick, forgery))],
  );
}

/**
 * A JSON produce message whose fields agree: a `text` value is a string, a
 * `base64` one is base64, a JSON content type carries JSON. Without this most
 * valid-shaped produces would be refused and never reach the store.
 */
function coherentMessage(object: JsonObject): JsonObject {
  const { value, valueEncoding, contentType } = object;
  if (value === undefined || (valueEncoding !== 'text' && valueEncoding !== 'base64')) return object;
  const jsonType = typeof contentType === 'string' && isJsonContentType(contentType);
  const text = typeof value === 'string' && !jsonType ? value : JSON.stringify(value);
  return { ...object, value: valueEncoding === 'text' ? text : Buffer.from(text, 'utf8').toString('base64') };
}

/** Push backoff: `maxMs` at least `initialMs`, as the gateway requires. */
function coherentBackoff(object: JsonObject): JsonObject {
  const { initialMs, maxMs } = object;
  if (typeof initialMs !== 'number' || typeof maxMs !== 'number' || maxMs >= initialMs) return object;
  return { ...object, initialMs: maxMs, maxMs: initialMs };
}

/** The hints of mqgate's API; see Hints. Names come from the spec's parameter and component names. */
export function mqgateHints(options: HintOptions): Hints {
  const fixture = fc.constantFrom(...options.fixtureNames);
  const name = (site: Site, schemaValue: fc.Arbitrary<JsonTree>): fc.Arbitrary<JsonTree> => {
    const role = ROLE_BY_PROPERTY[site.property ?? ''] ?? 'any';
    return weighted<JsonTree>([8, fc.nat().map((pick) => new LiveName(role, pick))], [1, fixture], [1, schemaValue]);
  };
  const url = options.deadTarget;
  return {
    components: {
      Name: name,
      MemberId: (_site, schemaValue) => mostly(fc.nat().map((pick) => new LiveName('memberId', pick)), schemaValue),
      Receipts: (_site, schemaValue) => mostly(fc.array(receiptArbitrary(), { minLength: 1, maxLength: 4 }), schemaValue, 6),
    },
    properties: {
      // A long-poll holds the request until the test moves the clock: rare, but there.
      waitMs: integers([0, 0], 12),
      delayMs: integers([0, 0]),
      max: integers([1, 10], 6),
      maxBytes: integers([1, 4096]),
      // The fixture topic has 3 partitions: most partition numbers name one of them.
      partition: integers([0, 2], 4),
      'partitions[]': integers([0, 2], 4),
      partitions: integers([1, 6], 4),
      offset: integers([0, 3]),
      timestamp: integers([options.clockStart - 10_000, options.clockStart + 10_000_000]),
      generation: (schemaValue) =>
        mostly(fc.tuple(fc.nat(), fc.constantFrom(0, 0, 0, -1, 1, 1000)).map(([pick, offBy]) => new LiveGeneration(pick, offBy)), schemaValue, 4),
      maxMessageBytes: integers([1, options.maxMessageBytes]),
      idempotencyKey: (schemaValue) => mostly(fc.constantFrom('k-1', 'k-2', 'k-3'), schemaValue, 1),
      'Idempotency-Key': (schemaValue) => mostly(fc.constantFrom('k-1', 'k-2', 'k-3'), schemaValue, 1),
      contentType: (schemaValue) =>
        mostly(
          fc.constantFrom('text/plain', 'text/plain; charset=utf-8', 'application/xml', 'application/json', 'application/cloudevents+json', 'application/octet-stream'),
          schemaValue,
        ),
      url: (schemaValue) =>
        weighted<JsonTree>(
          [6, fc.constantFrom(url, `${url}?a=1&b=%20`, url.replace('/hook', '/'), url.replace('http:', 'HTTP:'))],
          [
            2,
            fc.constantFrom(
              'http://example.com/hook',
              url.replace('http:', 'https:'),
              url.replace('http://', 'http://user:pw@'),
              `${url}#fragment`,
              url.replace('http:', 'ftp:'),
              url.replace('127.0.0.1', '[::1]'),
              'http://',
              'not a url',
              '/relative',
              'javascript:alert(1)',
            ),
          ],
          [1, schemaValue],
        ),
    },
    fixObject: (object) => coherentBackoff(coherentMessage(object)),
  };
}
