import crypto from 'node:crypto';

/** A message attribute as SQS carries it; BinaryValue is base64. */
export interface AttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** MD5OfMessageBody / MD5OfBody: hex MD5 of the body's UTF-8 bytes. */
export function md5OfBody(body: string): string {
  return crypto.createHash('md5').update(body, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return [length, bytes];
}

/**
 * MD5OfMessageAttributes (and …SystemAttributes), as SQS computes it: for each
 * attribute in name order, the name, the full DataType and the value, each
 * prefixed by its big-endian 4-byte *byte* length, the value after a
 * transport byte (1: string, 2: binary).
 */
export function md5OfAttributes(attributes: Record<string, AttributeValue>): string {
  const parts: Buffer[] = [];
  for (const name of Object.keys(attributes).sort()) {
    const { DataType, StringValue, BinaryValue } = attributes[name];
    parts.push(...lengthPrefixed(Buffer.from(name, 'utf8')), ...lengthPrefixed(Buffer.from(DataType, 'utf8')));
    if (DataType.startsWith('Binary')) parts.push(Buffer.from([2]), ...lengthPrefixed(Buffer.from(BinaryValue ?? '', 'base64')));
    else parts.push(Buffer.from([1]), ...lengthPrefixed(Buffer.from(StringValue ?? '', 'utf8')));
  }
  return crypto.createHash('md5').update(Buffer.concat(parts)).digest('hex');
}
