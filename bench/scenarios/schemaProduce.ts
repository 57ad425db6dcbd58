import { SCHEMA_VERSION_HEADER } from '../../queue/schemas';
import { SQLITE } from '../backend';
import { processClock } from '../cpuMeter';
import { withFreshGatewayOn } from '../gateway';
import { requestOnce } from '../httpClient';
import { MESSAGE_BYTES } from '../payload';
import { atLeast, type Row } from '../report';
import { alternate, alternatingRow } from '../rounds';
import type { RoundTiming } from '../settings';
import { BATCH, batchProduceSide, CONNECTIONS } from './produceBatch';

const PLAIN = 'plain';
const CHECKED = 'checked';

const shortString = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

/**
 * An order as a shop would describe it: 20 properties, closed, most of them
 * required, with the keywords such schemas use: types, string formats and
 * lengths, a pattern, enums, bounds, a nested object and an array of objects.
 */
const ORDER_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'customerId', 'email', 'status', 'currency', 'total', 'createdAt', 'channel', 'shippingAddress', 'items'],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    customerId: { type: 'string', pattern: '^C[0-9]{6,12}$' },
    email: { type: 'string', format: 'email', maxLength: 254 },
    status: { enum: ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] },
    currency: { enum: ['EUR', 'USD', 'GBP', 'JPY', 'CHF'] },
    total: { type: 'number', minimum: 0 },
    itemCount: { type: 'integer', minimum: 1, maximum: 1000 },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    channel: { enum: ['web', 'mobile', 'store', 'phone'] },
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    giftWrap: { type: 'boolean' },
    couponCode: { type: ['string', 'null'], maxLength: 32 },
    notes: { type: 'string', maxLength: 1000 },
    source: { type: 'string', format: 'uri', maxLength: 2048 },
    ipAddress: { type: 'string', format: 'ipv4' },
    trackingNumber: { type: ['string', 'null'], maxLength: 40 },
    shippingAddress: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'street', 'city', 'postalCode', 'country'],
      properties: {
        name: shortString(100),
        street: shortString(200),
        city: shortString(100),
        postalCode: { type: 'string', pattern: '^[A-Z0-9 -]{3,10}$' },
        country: { type: 'string', pattern: '^[A-Z]{2}$' },
      },
    },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity', 'unitPrice'],
        properties: { sku: shortString(32), quantity: { type: 'integer', minimum: 1 }, unitPrice: { type: 'number', minimum: 0 } },
      },
    },
    tags: { type: 'array', maxItems: 10, items: shortString(32) },
  },
};

/** Order `n`, valid against ORDER_SCHEMA, its notes padded so its JSON text is MESSAGE_BYTES long. */
function order(n: number): Record<string, unknown> {
  const id = String(n).padStart(12, '0');
  const items = [
    { sku: `SKU-${n % 997}`, quantity: 1 + (n % 3), unitPrice: 19.99 },
    { sku: `SKU-${(n * 7) % 997}`, quantity: 2, unitPrice: 4.5 },
    { sku: `SKU-${(n * 13) % 997}`, quantity: 1, unitPrice: 129 },
  ];
  const value: Record<string, unknown> = {
    orderId: `6f1c2b4e-8d3a-4f5b-9c7d-${id}`,
    customerId: `C${String(100000 + (n % 900000))}`,
    email: `customer.${n}@example.com`,
    status: 'paid',
    currency: 'EUR',
    total: 177.48,
    itemCount: items.length,
    createdAt: '2026-11-25T17:40:01.123Z',
    updatedAt: '2026-11-25T17:41:12.456Z',
    channel: 'web',
    priority: n % 10,
    giftWrap: n % 2 === 0,
    couponCode: null,
    notes: '',
    source: `https://shop.example.com/checkout/${n}?utm_source=newsletter`,
    ipAddress: `192.0.2.${n % 256}`,
    trackingNumber: null,
    shippingAddress: { name: 'Ada Lovelace', street: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
    items,
    tags: ['priority', 'newsletter'],
  };
  const padding = MESSAGE_BYTES - JSON.stringify(value).length;
  if (padding < 0) throw new Error(`order ${n} is ${-padding} bytes over ${MESSAGE_BYTES} before its notes`);
  return { ...value, notes: 'n'.repeat(padding) };
}

/** The produce body both sides send: BATCH distinct orders. */
function orderBatch(): string {
  return JSON.stringify({ messages: Array.from({ length: BATCH }, (_, n) => ({ value: order(n) })) });
}

/**
 * (o) Batch produce into a queue with ORDER_SCHEMA, every message validated
 * (and stamped with the version), against the same batches into a queue
 * without a schema of the same gateway process: what the schema check costs.
 */
export async function schemaProduce(timing: RoundTiming): Promise<Row> {
  const body = orderBatch();
  const { alternation, cpu } = await withFreshGatewayOn(SQLITE, [PLAIN, CHECKED], async ({ url, pid }) => {
    await requestOnce(url, 'PUT', `/v1/queues/${CHECKED}/schema`, JSON.stringify({ schema: ORDER_SCHEMA }));
    // One gateway process, metered apart for each side's runs: its CPU per message is steadier than a rate on a busy machine.
    const [plain, checked] = [SQLITE.meter(processClock(pid)), SQLITE.meter(processClock(pid))];
    const run = await alternate(timing, batchProduceSide(url, PLAIN, { body, meter: plain.meter }), batchProduceSide(url, CHECKED, { body, meter: checked.meter }));
    // The measured produces went through the check: their messages carry the version they were validated against.
    const { messages } = await requestOnce<{ messages: Array<{ headers: Record<string, string> }> }>(url, 'POST', `/v1/queues/${CHECKED}/fetch`, '{"max":1}');
    if (messages[0]?.headers[SCHEMA_VERSION_HEADER] !== '1') throw new Error(`queue ${CHECKED}'s messages were not validated against its schema`);
    return { alternation: run, cpu: { result: checked.cpu(), baseline: plain.cpu() } };
  });
  const row = alternatingRow(
    {
      scenario: `(o) produce ${BATCH}x1KB, 20-property schema, ${CONNECTIONS} conns`,
      resultUnit: 'msg/s',
      baselineUnit: 'msg/s',
      target: atLeast(0.8),
      notes: [
        `result: a queue with a JSON Schema of an order (20 properties, closed: types, required, formats uuid/email/date-time/uri/ipv4, maxLength, patterns, enums, a nested object, an array of objects);` +
          ` baseline: the same batches (${BATCH} distinct ${MESSAGE_BYTES}-byte orders) into a queue without a schema of the same gateway process, taking turns`,
      ],
    },
    timing,
    alternation,
  );
  return { ...row, cpu };
}
