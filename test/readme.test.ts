import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import { packagePath } from '../persistence/packagePath';
import { type ChildGateway, startChildGateway } from './support/childGateway';
import { tempDir } from './support/testGateway';

// The README's curl walkthroughs, run as a reader runs them: each `sh` block
// of the sections below with bash, in order, against a gateway process, with
// only the README's address replaced by the gateway's. Every block of these
// sections talks to the gateway with curl and runs as written, so none is
// left out. In the postgres project the gateway runs with --store.

const SECTIONS = ['Walkthrough with curl', 'Kafka mode: topics, consumer groups, replay'];
const README_URL = 'http://127.0.0.1:8080';
/**
 * The blocks keep answers in fixed files (/tmp/fetched.json, …), each written
 * and read within one block. Two runs of this file at once (one per project,
 * in two workers) would read each other's: a block runs under this lock
 * (flock, util-linux's, as setpriv is: test/system-packages.sh).
 */
const LOCK = `${os.tmpdir()}/mqgate-readme.lock`;

/** The `sh` blocks of a `## ` section of README.md, in order. */
function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section '## ${heading}'`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/\n```sh\n([\s\S]*?)\n```/g)].map((match) => match[1]);
}

/** The shell variables a block sets (`RECEIPT=$(…)`): a later block of the same terminal session reads them. */
function assignedVariables(block: string): string[] {
  return [...block.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((match) => match[1]);
}

/** The JSON values curl wrote one after another, without separators: `{…}{…}`. */
function jsonAnswers(output: string): unknown[] {
  const answers: unknown[] = [];
  let depth = 0;
  let inString = false;
  let from = 0;
  for (let i = 0; i < output.length; i++) {
    const char = output[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') {
      if (depth === 0) from = i;
      depth += 1;
    } else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) answers.push(JSON.parse(output.slice(from, i + 1)));
    } else if (depth === 0 && char.trim() !== '') throw new Error(`not JSON answers at ${i}: ${JSON.stringify(output.slice(i, i + 80))}`);
  }
  if (depth !== 0 || inString) throw new Error(`an answer is cut off: ${JSON.stringify(output.slice(from, from + 80))}`);
  return answers;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The values of the variables the block set, in the order `assignedVariables` names them. */
  values: string[];
}

/**
 * Runs a block with `bash -e -o pipefail` in a terminal session's state (the
 * variables earlier blocks set, as environment); after the block, a line
 * added here writes the variables it set to fd 3.
 */
function runBlock(block: string, variables: Map<string, string>): Promise<Run> {
  const trailer = assignedVariables(block).map((name) => `printf '%s\\0' "$${name}" >&3`);
  const script = [block, ...trailer].join('\n');
  const child = spawn('flock', [LOCK, 'bash', '-e', '-o', 'pipefail', '-c', script], {
    env: { ...process.env, ...Object.fromEntries(variables) },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const streams = child.stdio.slice(1).map((stream) => {
    // 'pipe' makes a socket of each: stdout, stderr and fd 3.
    if (!(stream instanceof Readable)) throw new Error('bash was started without its pipes');
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    return () => text;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const [stdout, stderr, written] = streams.map((read) => read());
      resolve({ code, stdout, stderr, values: written.split('\0').slice(0, -1) });
    });
  });
}

type Answer = Record<string, unknown>;
type Listed = Array<Record<string, unknown>>;

/** What the README shows or says a block answers; the block is the one its pattern matches. */
const EXPECTED: Array<{ block: RegExp; check: (output: string) => void }> = [
  {
    block: /PUT \S+\/v1\/queues\/orders /,
    check: (output) => expect(jsonAnswers(output)).toEqual([expect.objectContaining({ name: 'orders', visibilityTimeoutMs: 30000 })]),
  },
  {
    // Two messages in, two ids out.
    block: /"valueEncoding": "text"/,
    check: (output) => {
      const [answer] = jsonAnswers(output) as Answer[];
      expect((answer.messages as Listed).map((m) => typeof m.id)).toEqual(['string', 'string']);
    },
  },
  {
    // Both messages leased, each with a receipt; a JSON value, and a text one.
    block: /\/v1\/queues\/orders\/fetch/,
    check: (output) => {
      const [answer] = jsonAnswers(output) as Answer[];
      const messages = answer.messages as Listed;
      expect(messages.map((m) => m.value)).toEqual([{ order: 4711, total: 12.5 }, 'hello']);
      expect(messages.every((m) => typeof m.receipt === 'string' && m.receipt !== '')).toBe(true);
    },
  },
  {
    // The first is acked; the other waits in flight for its lease to expire.
    block: /\/v1\/queues\/orders\/ack/,
    check: (output) => {
      const [ack, queue] = jsonAnswers(output) as Answer[];
      expect(ack).toEqual({ results: [expect.objectContaining({ status: 'acked' })] });
      expect(queue.stats).toMatchObject({ ready: 0, inFlight: 1, acked: 1 });
    },
  },
  {
    block: /SOAPAction/,
    check: (output) => expect(output).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/),
  },
  {
    block: /PUT \S+\/v1\/topics\/payments /,
    check: (output) => expect(jsonAnswers(output)).toEqual([expect.objectContaining({ name: 'payments', partitions: 3, retentionMs: 604800000 })]),
  },
  {
    // A key's messages share a partition; `partition` overrides the key.
    block: /\/v1\/topics\/payments\/messages/,
    check: (output) => {
      const [answer] = jsonAnswers(output) as Answer[];
      const messages = answer.messages as Listed;
      expect(messages).toHaveLength(4);
      expect(messages[1].partition).toBe(messages[0].partition);
      expect(messages[3].partition).toBe(0);
    },
  },
  {
    block: /\/partitions\/0\/messages\?offset=earliest/,
    check: (output) => {
      const [read, offset] = jsonAnswers(output) as Answer[];
      expect((read.messages as Listed).map((m) => m.value)).toContainEqual({ amount: 1 });
      expect(offset).toEqual({ partition: 0, offset: expect.any(Number) });
    },
  },
  {
    // From earliest: all four messages, committed, no lag left.
    block: /groups\/ledger\/commit/,
    check: (output) => {
      const [, fetched, , group] = jsonAnswers(output) as Answer[];
      expect(fetched.messages as Listed).toHaveLength(4);
      expect((group.partitions as Listed).map((p) => p.lag)).toEqual([0, 0, 0]);
    },
  },
  {
    block: /groups\/workers\/members \|/,
    check: (output) => {
      const [joined] = jsonAnswers(output) as Answer[];
      expect(joined).toMatchObject({ memberId: expect.any(String), generation: expect.any(Number), partitions: [0, 1, 2] });
    },
  },
  {
    // startAt earliest takes the retained messages; the first one's receipt is acked.
    block: /subscriptions\/fraud-check\/ack/,
    check: (output) => {
      const [, fetched, ack] = jsonAnswers(output) as Answer[];
      expect((fetched.messages as Listed).every((m) => typeof m.receipt === 'string')).toBe(true);
      expect(fetched.messages as Listed).toHaveLength(4);
      expect(ack).toEqual({ results: [expect.objectContaining({ status: 'acked' })] });
    },
  },
];

const readme = fs.readFileSync(packagePath('README.md'), 'utf8');
const blocks = SECTIONS.flatMap((section) => shellBlocks(readme, section));

let gateway: ChildGateway;
let dataDir: string;
/** The terminal session's variables, set by the blocks run so far. */
const variables = new Map<string, string>();

beforeAll(async () => {
  dataDir = tempDir('mqgate-readme-');
  gateway = await startChildGateway(dataDir);
});

afterAll(async () => {
  gateway.process.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('each expectation is about exactly one block of the walkthroughs', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(EXPECTED.length);
  const matches = EXPECTED.map(({ block }) => [String(block), blocks.filter((text) => block.test(text)).length]);
  expect(matches).toEqual(EXPECTED.map(({ block }) => [String(block), 1]));
});

test.each(blocks.map((block) => [block.split('\n')[0].replace(/ \\$/, ''), block]))('README: %s', async (_firstLine, block) => {
  expect(block).toContain(README_URL);
  const run = await runBlock(block.replaceAll(README_URL, gateway.url), variables);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  assignedVariables(block).forEach((name, i) => variables.set(name, run.values[i]));
  // Headers shown (curl -i) are not JSON; every other answer is, and none is a problem.
  if (!/curl [^\n]*-i /.test(block)) {
    const problems = (jsonAnswers(run.stdout) as Answer[]).filter((answer) => typeof answer.code === 'string' && typeof answer.status === 'number');
    expect(problems).toEqual([]);
  }
  for (const { check } of EXPECTED.filter(({ block: pattern }) => pattern.test(block))) check(run.stdout);
});
