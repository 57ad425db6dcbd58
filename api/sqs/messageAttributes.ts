import { RESERVED_HEADER_PREFIX, SQS_HEADER_PREFIX } from '../../queue/produceRequest';
import { CORRELATION_ID_HEADER, REPLY_TO_HEADER } from '../../queue/replies';
import { invalidParameter, SqsError } from './errors';
import type { AttributeValue } from './md5';
import type { Input } from './protocol';

/**
 * Message attributes ↔ mqgate message headers, so that one message reads the
 * same through both faces:
 * - a `String` attribute is the header of the same name, its value as is;
 * - any other DataType (`Number`, `Binary`, `String.custom`, …) is the header
 *   of the same name too (a Binary value in base64), and the DataType is kept
 *   in the gateway's header `mqgate-sqs-type-<name>`;
 * - a header produced through /v1 is a `String` attribute when its name is a
 *   valid attribute name; `mqgate-…` headers are never attributes, except a
 *   request's reply address and correlation id (queue/replies.ts), so that an
 *   SQS consumer can reply. A sender cannot set them: the names are reserved.
 */
const TYPE_HEADER_PREFIX = `${SQS_HEADER_PREFIX}type-`;
/** The gateway's own headers of a message sent through SQS: system attributes kept with it. */
export const DEDUPLICATION_ID_HEADER = `${SQS_HEADER_PREFIX}deduplication-id`;
export const TRACE_HEADER = `${SQS_HEADER_PREFIX}trace-header`;
/** The key that sent a message through SQS (its SenderId), when the gateway has keys. */
export const SENDER_HEADER = `${SQS_HEADER_PREFIX}sender-id`;

const REPLY_HEADERS = new Set([REPLY_TO_HEADER, CORRELATION_ID_HEADER]);
const MAX_ATTRIBUTES = 10;
const NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,250})?$/;
/** SQS's allowed characters: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF; lone surrogates excluded. */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isSqsText(text: string): boolean {
  return SQS_TEXT.test(text);
}

/** Whether a name may be a message attribute's: SQS's rule, and not one of the gateway's own headers. */
function isAttributeName(name: string): boolean {
  return NAME.test(name) && !/^(aws|amazon)\./i.test(name) && !name.startsWith('.') && !name.endsWith('.') && !name.includes('..');
}

function checkName(name: string): void {
  if (!isAttributeName(name)) {
    throw new SqsError(
      'InvalidParameterValue',
      `Message (user) attribute name '${name}' is invalid. An attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.), must not start or end with a period or contain two periods in a row, and must not start with AWS. or Amazon.`,
    );
  }
  if (name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
    throw new SqsError('InvalidParameterValue', `Message (user) attribute name '${name}' is reserved: names starting with '${RESERVED_HEADER_PREFIX}' belong to the gateway.`);
  }
}

/** SQS's limit on an attribute's DataType (`String.` and its custom suffix included). */
const MAX_DATA_TYPE_LENGTH = 256;

/** One attribute as sent, checked as SQS checks it. */
function attributeValue(name: string, input: Input): AttributeValue {
  const dataType = input.optionalString('DataType');
  if (dataType === undefined || dataType === '') {
    throw new SqsError('InvalidParameterValue', `The message attribute '${name}' must contain non-empty message attribute type.`);
  }
  if (dataType.length > MAX_DATA_TYPE_LENGTH) {
    throw new SqsError('InvalidParameterValue', `Message (user) attribute '${name}' type must be at most ${MAX_DATA_TYPE_LENGTH} characters.`);
  }
  if (!DATA_TYPE.test(dataType)) {
    throw new SqsError('InvalidParameterValue', `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
  }
  if (input.has('StringListValues') || input.has('BinaryListValues')) {
    throw new SqsError('InvalidParameterValue', `Message (user) attribute '${name}': list values are reserved for future use and not supported.`);
  }
  const empty = new SqsError('InvalidParameterValue', `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`);
  if (dataType.startsWith('Binary')) {
    const binary = input.optionalString('BinaryValue');
    if (binary === undefined || binary === '') throw empty;
    if (!BASE64.test(binary)) throw invalidParameter(`MessageAttributes.${name}.BinaryValue`, binary, 'Must be base64.');
    return { DataType: dataType, BinaryValue: binary };
  }
  const text = input.optionalString('StringValue');
  if (text === undefined || text === '') throw empty;
  if (!isSqsText(text)) throw new SqsError('InvalidParameterValue', `Message (user) attribute '${name}' value contains invalid characters.`);
  if (dataType.startsWith('Number') && !NUMBER.test(text)) {
    throw new SqsError('InvalidParameterValue', `Can't cast the value of message (user) attribute '${name}' to a number.`);
  }
  return { DataType: dataType, StringValue: text };
}

/** MessageAttributes of a send, checked; {} when none. */
export function readAttributes(input: Input, member: 'MessageAttributes' | 'MessageSystemAttributes'): Record<string, AttributeValue> {
  const given = input.inputMap(member);
  if (given === undefined) return {};
  if (given.size > MAX_ATTRIBUTES) {
    throw new SqsError('InvalidParameterValue', `Number of message attributes [${given.size}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
  }
  // Built with fromEntries, as every map of client-chosen names here: an attribute `__proto__` is then a member, not a prototype.
  return Object.fromEntries(
    [...given].map(([name, value]) => {
      if (member === 'MessageAttributes') checkName(name);
      else if (name !== 'AWSTraceHeader') throw new SqsError('InvalidParameterValue', `Message system attribute name '${name}' is invalid.`);
      return [name, attributeValue(name, value)];
    }),
  );
}

/** The bytes attributes count toward a message's size: names, types and values. */
export function attributeBytes(attributes: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, { DataType, StringValue, BinaryValue }] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(DataType);
    bytes += BinaryValue === undefined ? Buffer.byteLength(StringValue ?? '') : Buffer.from(BinaryValue, 'base64').length;
  }
  return bytes;
}

/** The headers attributes are stored as. */
export function toHeaders(attributes: Record<string, AttributeValue>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attributes).flatMap(([name, { DataType, StringValue, BinaryValue }]) => [
      [name, BinaryValue ?? StringValue ?? ''],
      ...(DataType === 'String' ? [] : [[`${TYPE_HEADER_PREFIX}${name}`, DataType]]),
    ]),
  );
}

/** The attributes a message's headers stand for (see the top of this file). */
export function fromHeaders(headers: Record<string, string>): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]): Array<[string, AttributeValue]> => {
      if ((name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX) && !REPLY_HEADERS.has(name)) || !isAttributeName(name) || value === '') return [];
      const dataType = headers[`${TYPE_HEADER_PREFIX}${name}`] ?? 'String';
      return [[name, dataType.startsWith('Binary') ? { DataType: dataType, BinaryValue: value } : { DataType: dataType, StringValue: value }]];
    }),
  );
}

/**
 * The attributes ReceiveMessage returns: those named in MessageAttributeNames,
 * where `All` or `.*` is every one and `prefix.*` those starting with `prefix.`.
 */
export function selectAttributes(attributes: Record<string, AttributeValue>, names: string[]): Record<string, AttributeValue> {
  if (names.includes('All') || names.includes('.*')) return attributes;
  const prefixes = names.filter((name) => name.endsWith('.*')).map((name) => name.slice(0, -1));
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => names.includes(name) || prefixes.some((prefix) => name.startsWith(prefix))));
}
