/**
 * Kafka's default partitioner for keyed records, bit for bit as the Java client
 * computes it (org.apache.kafka.common.utils.Utils.murmur2 / toPositive), so a
 * key lands on the same partition here as it would from any Kafka producer.
 *
 * Java's `int` arithmetic wraps at 32 bits; JavaScript numbers do not, so every
 * multiplication goes through Math.imul and every other step is a bitwise
 * operator, which keeps each intermediate value a signed 32-bit integer.
 */

const SEED = 0x9747b28c;
// Mixing constants of MurmurHash2, as Kafka uses them.
const M = 0x5bd1e995;
const R = 24;

/**
 * The byte at `index` as Java's `data[index] & 0xff` sees it: Java bytes are
 * signed, so Kafka masks each one to 0..255 before shifting it into place.
 */
function unsignedByte(bytes: Buffer, index: number): number {
  return bytes.readInt8(index) & 0xff;
}

/** Kafka's `Utils.murmur2`: the signed 32-bit MurmurHash2 of `bytes`. */
export function murmur2(bytes: Buffer): number {
  const length = bytes.length;
  let h = SEED ^ length;
  const length4 = Math.floor(length / 4);

  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    // Kafka adds the four shifted bytes; they occupy disjoint bits, so `|` is the
    // same sum and cannot leave the 32-bit range.
    let k =
      unsignedByte(bytes, i4) |
      (unsignedByte(bytes, i4 + 1) << 8) |
      (unsignedByte(bytes, i4 + 2) << 16) |
      (unsignedByte(bytes, i4 + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }

  // The last one to three bytes. Kafka switches on `length % 4` and falls through
  // from case 3 to case 1; this project compiles with noFallthroughCasesInSwitch,
  // so the same cascade is spelled as three ifs: the highest remaining byte first,
  // down to the first, which alone is followed by the multiplication.
  const tail = length & ~3;
  const remaining = length % 4;
  if (remaining >= 3) h ^= unsignedByte(bytes, tail + 2) << 16;
  if (remaining >= 2) h ^= unsignedByte(bytes, tail + 1) << 8;
  if (remaining >= 1) {
    h ^= unsignedByte(bytes, tail);
    h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit. This is not Math.abs — Kafka
 * chose the mask so that every int, Integer.MIN_VALUE included, maps to 0..2^31-1,
 * and partition choice depends on exactly this mapping.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a record with this key
 * among `partitions` partitions: the murmur2 of the key's UTF-8 bytes, made
 * positive, modulo the partition count.
 *
 * The bytes are Buffer.from's UTF-8, as kafkajs hashes them. A lone surrogate
 * (possible in a JS or JSON string) becomes U+FFFD's bytes here, whereas Java's
 * String.getBytes(UTF_8) would substitute '?', so such keys can differ from a
 * Java producer's; well-formed strings encode identically.
 */
export function partitionForKey(key: string, partitions: number): number {
  // A topic always has at least one partition; anything else is a caller bug,
  // and `% 0` would quietly yield NaN instead of a partition.
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x7fffffff) {
    throw new RangeError(`partitions must be a whole number from 1 to 2147483647; got ${partitions}`);
  }
  return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions;
}
