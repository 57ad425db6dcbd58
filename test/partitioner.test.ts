import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { murmur2, partitionForKey, toPositive } from '../queue/partitioner';
import { mulberry32 } from './support/seededRandom';

/** The signature of kafkajs's Java-compatible murmur2, which kafkajs ships as untyped JS. */
type KafkajsMurmur2 = (key: Buffer | string) => number;

/**
 * kafkajs 2.x's own murmur2 — the one its DefaultPartitioner uses — as the
 * independent reference. It is not part of kafkajs's typed API, so check at
 * load time that the path still holds a function rather than trust a cast alone.
 */
function loadKafkajsMurmur2(): KafkajsMurmur2 {
  const loaded: unknown = require('kafkajs/src/producer/partitioners/default/murmur2');
  if (typeof loaded !== 'function') throw new Error('kafkajs/src/producer/partitioners/default/murmur2 is not a function');
  return loaded as KafkajsMurmur2;
}

const kafkajsMurmur2 = loadKafkajsMurmur2();

// Code point ranges the random keys draw from: one-, two-, three- and four-byte
// UTF-8, so bytes with the high bit set (negative as Java bytes) land both in the
// four-byte blocks and in the tail. None includes the surrogate range D800–DFFF:
// astral characters come in as whole code points and become surrogate pairs.
const CODE_POINT_RANGES: Array<[number, number]> = [
  [0x20, 0x7e], // printable ASCII
  [0xc0, 0x17f], // Latin-1 and Latin Extended-A letters with accents
  [0x300, 0x36f], // combining diacritical marks
  [0x391, 0x44f], // Greek and Cyrillic
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xac00, 0xd7a3], // Hangul syllables
  [0x1f300, 0x1faff], // emoji (astral: surrogate pairs in JS strings)
];

function randomUnicodeKeys(count: number, seed: number): string[] {
  const random = mulberry32(seed);
  const pick = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  const keys: string[] = [];
  for (let n = 0; n < count; n++) {
    const codePoints: number[] = [];
    const length = pick(1, 16);
    for (let i = 0; i < length; i++) {
      const [low, high] = CODE_POINT_RANGES[pick(0, CODE_POINT_RANGES.length - 1)];
      codePoints.push(pick(low, high));
    }
    keys.push(String.fromCodePoint(...codePoints));
  }
  return keys;
}

const KEYS: string[] = [
  ...Array.from({ length: 600 }, (_, i) => `key-${i}`),
  ...randomUnicodeKeys(500, 0x6d716761),
  '',
  'é',
  'naïve café',
  '日本語のキー',
  '😀',
  'a😀',
  '👩‍👩‍👧‍👦',
  'e\u0301',
];

const randomBytes = mulberry32(0x62797465);
const RAW_BUFFERS: Buffer[] = Array.from({ length: 200 }, (_, n) =>
  Buffer.from(Array.from({ length: n % 41 }, () => Math.floor(randomBytes() * 256))),
);

test('the key corpus is large and covers every tail length with non-ASCII bytes', () => {
  // Guards the comparisons below from silently shrinking to easy cases.
  expect(KEYS.length).toBeGreaterThanOrEqual(1000);
  const nonAscii = KEYS.map((key) => Buffer.from(key, 'utf8')).filter((bytes) => bytes.some((b) => b >= 0x80));
  expect(new Set(nonAscii.map((bytes) => bytes.length % 4))).toEqual(new Set([0, 1, 2, 3]));
  expect(KEYS.some((key) => [...key].some((ch) => (ch.codePointAt(0) ?? 0) > 0xffff))).toBe(true);
  expect(KEYS).toContain('');
});

// Expected values from Apache Kafka's own test suite: UtilsTest.testMurmur2 in
// clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java.
test.each([
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
])('murmur2 matches Kafka UtilsTest.testMurmur2: %j -> %i', (input, expected) => {
  expect(murmur2(Buffer.from(input, 'utf8'))).toBe(expected);
});

test('murmur2 equals kafkajs murmur2 for every key and for arbitrary bytes', () => {
  const inputs = [...KEYS.map((key) => Buffer.from(key, 'utf8')), ...RAW_BUFFERS];
  const mismatches = inputs
    .map((bytes) => ({ hex: bytes.toString('hex'), ours: murmur2(bytes), kafkajs: kafkajsMurmur2(bytes) }))
    .filter(({ ours, kafkajs }) => ours !== kafkajs);
  expect(mismatches).toEqual([]);
});

test('murmur2 returns a signed 32-bit integer, as Java does', () => {
  const hashes = KEYS.map((key) => murmur2(Buffer.from(key, 'utf8')));
  expect(hashes.every((h) => Number.isInteger(h) && h === (h | 0))).toBe(true);
  expect(hashes.some((h) => h < 0)).toBe(true);
});

test('toPositive clears the sign bit rather than taking the absolute value', () => {
  expect(toPositive(0)).toBe(0);
  expect(toPositive(5)).toBe(5);
  expect(toPositive(-1)).toBe(0x7fffffff);
  expect(toPositive(-2147483648)).toBe(0);
  expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
});

function partitionMetadata(partitions: number): PartitionMetadata[] {
  return Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
}

test.each([1, 3, 12, 100])('partitionForKey picks what kafkajs DefaultPartitioner picks, with %i partitions', (partitions) => {
  const kafkajsPartition = Partitioners.DefaultPartitioner();
  const metadata = partitionMetadata(partitions);
  const mismatches = KEYS.map((key) => ({
    key,
    ours: partitionForKey(key, partitions),
    viaMurmur2: toPositive(kafkajsMurmur2(Buffer.from(key, 'utf8'))) % partitions,
    kafkajs: kafkajsPartition({ topic: 't', partitionMetadata: metadata, message: { key, value: null } }),
  })).filter(({ ours, viaMurmur2, kafkajs }) => ours !== viaMurmur2 || ours !== kafkajs);
  expect(mismatches).toEqual([]);
});

test('partitionForKey spreads keys over all partitions', () => {
  // A sanity check that the modulo sees the whole hash, not a constant.
  const used = new Set(KEYS.map((key) => partitionForKey(key, 12)));
  expect(used.size).toBe(12);
});

test.each([0, -1, 1.5, Number.NaN, 2 ** 31])('partitionForKey refuses %p partitions', (partitions) => {
  expect(() => partitionForKey('key', partitions)).toThrow(RangeError);
});
