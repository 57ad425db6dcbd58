import fs from 'node:fs';
import readline from 'node:readline';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AppendResult } from '../../persistence/store';
import type { TopicProduceInput } from '../../queue/topicService';
import { api, CliError, type GatewayClient } from './client';
import { type Connection, type GatewayCommands, integer } from './command';
import { printLine } from './output';
import { type Progress, progressWanted, startProgress } from './progress';

interface ProduceOptions extends Connection {
  topic?: boolean;
  message?: string[];
  file?: string;
  json?: boolean;
  key?: string;
  partition?: number;
  header?: Record<string, string>;
  batchSize: number;
  progress: boolean;
}

/**
 * A request stays well under the gateway's default body limit (10 MiB)
 * whatever the batch size, leaving room for JSON escaping of the values.
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Where the lines come from. */
interface Input {
  lines: AsyncIterable<string> | Iterable<string>;
  /** Bytes of a file, for the bar; null for arguments and stdin, whose end is unknown. */
  size: number | null;
}

async function openInput(options: ProduceOptions): Promise<Input> {
  if (options.message !== undefined) return { lines: options.message, size: null };
  if (options.file === undefined) {
    // Else a user who forgot -m would look at a command that seems to hang.
    if (process.stdin.isTTY === true) process.stderr.write('Type messages, one per line (each is sent as you go); Ctrl-D ends.\n');
    return { lines: readline.createInterface({ input: process.stdin, crlfDelay: Infinity }), size: null };
  }
  let size: number;
  // Checked first: a stream's open error would otherwise surface only once reading starts.
  try {
    size = (await fs.promises.stat(options.file)).size;
  } catch (error) {
    throw new CliError('file_unreadable', (error as Error).message);
  }
  return { lines: readline.createInterface({ input: fs.createReadStream(options.file), crlfDelay: Infinity }), size };
}

function parseHeader(raw: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = raw.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('expected name=value.');
  return { ...previous, [raw.slice(0, at)]: raw.slice(at + 1) };
}

function collect(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

/** One message of the batch, as JSON text: a text value, or with --json the line parsed as JSON. */
function messageText(line: string, lineNumber: number, options: ProduceOptions): string {
  let message: TopicProduceInput = { value: line, valueEncoding: 'text' };
  if (options.json === true) {
    try {
      message = { value: JSON.parse(line) };
    } catch (error) {
      throw new CliError('invalid_json', `message ${lineNumber} is not JSON (${(error as Error).message}); drop --json to send it as text`);
    }
  }
  if (options.key !== undefined) message.key = options.key;
  if (options.partition !== undefined) message.partition = options.partition;
  if (options.header !== undefined) message.headers = options.header;
  return JSON.stringify(message);
}

/**
 * Sends messages in batches, one request at a time so they keep the order of
 * the input. What arrives while a request is on its way waits for the next
 * one: a file goes in full batches, while lines typed or piped in slowly each
 * go at once instead of waiting for a batch to fill.
 */
class Batcher {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** The request on its way; it stays set once one failed, so no other is sent. */
  private sending: Promise<void> | null = null;
  private failed: { error: unknown } | null = null;
  produced = 0;

  constructor(
    private readonly client: GatewayClient,
    private readonly path: string,
    private readonly batchSize: number,
    private readonly sent: () => void,
  ) {}

  /** Queues a message; waits while a full batch waits for the request on its way. */
  async add(message: string): Promise<void> {
    this.throwIfFailed();
    const bytes = Buffer.byteLength(message) + 1;
    while (this.pending.length >= this.batchSize || (this.pending.length > 0 && this.pendingBytes + bytes > MAX_REQUEST_BYTES)) {
      // A waiting batch means a request is on its way: when it is answered, the next takes the batch.
      await this.sending;
      this.throwIfFailed();
    }
    this.pending.push(message);
    this.pendingBytes += bytes;
    this.sendPending();
  }

  /** Resolves once everything queued is stored. */
  async finish(): Promise<void> {
    while (this.sending !== null) {
      await this.sending;
      this.throwIfFailed();
    }
  }

  /** After a failure elsewhere: sends nothing more, and resolves once the request on its way is answered, so `produced` is exact. */
  async abandon(): Promise<void> {
    this.pending = [];
    await this.sending;
  }

  private sendPending(): void {
    if (this.sending !== null || this.pending.length === 0) return;
    const batch = `{"messages":[${this.pending.join(',')}]}`;
    this.pending = [];
    this.pendingBytes = 0;
    this.sending = this.client.send<{ messages: AppendResult[] }>('POST', this.path, batch).then(
      ({ body }) => {
        this.produced += body.messages.length;
        this.sent();
        this.sending = null;
        this.sendPending();
      },
      (error: unknown) => {
        this.failed = { error };
      },
    );
  }

  private throwIfFailed(): void {
    if (this.failed !== null) throw this.failed.error;
  }
}

function messages(count: number): string {
  return `${count} message${count === 1 ? '' : 's'}`;
}

async function produce(client: GatewayClient, target: string, options: ProduceOptions): Promise<void> {
  const kind = options.topic === true ? 'topic' : 'queue';
  if (options.partition !== undefined && kind === 'queue') {
    throw new CliError('invalid_arguments', '--partition is for topics: add --topic');
  }
  const input = await openInput(options);
  const progress: Progress = startProgress(progressWanted(options.progress, false), input.size);
  const path = kind === 'topic' ? api`/v1/topics/${target}/messages` : api`/v1/queues/${target}/messages`;
  // Bytes of the lines read so far: the stream itself reads ahead of what was sent.
  let consumed = 0;
  const batcher = new Batcher(client, path, options.batchSize, () =>
    progress.update(input.size === null ? batcher.produced : consumed, batcher.produced),
  );
  let lineNumber = 0;
  try {
    for await (const line of input.lines) {
      lineNumber += 1;
      consumed += Buffer.byteLength(line) + 1;
      // A blank line is a line break too many (often the file's last), not a message.
      if (line.trim() !== '') await batcher.add(messageText(line, lineNumber, options));
    }
    await batcher.finish();
  } catch (error) {
    await batcher.abandon();
    if (error instanceof CliError && batcher.produced > 0) {
      throw new CliError(error.code, `${error.detail} (${messages(batcher.produced)} stored before this)`);
    }
    throw error;
  } finally {
    progress.stop();
  }
  printLine(`produced ${messages(batcher.produced)} to ${kind} ${target}`);
}

/** `mqgate produce <target>`. */
export function registerProduceCommand(program: Command, cli: GatewayCommands): void {
  cli
    .command(
      program,
      'produce <target>',
      'Produce messages to a queue (or a topic with --topic): from -m, a file or stdin, one per line.',
      `Blank lines are skipped. Messages go in batches of up to --batch-size, one
request at a time, in input order; what arrives while a request is on its way
goes in the next, so a slow pipe (tail -f log | mqgate produce logs) sends each
line as it comes.

Examples:
  $ mqgate produce orders -m 'hello'
  $ mqgate produce orders --json -m '{"order": 4711}'
  $ mqgate produce orders --file orders.txt
  $ seq 1 100000 | mqgate produce payments --topic --json --key customer-7`,
    )
    .option('-t, --topic', 'the target is a topic, not a queue')
    .addOption(
      new Option('-m, --message <value>', 'a message (repeatable); without -m or --file, lines are read from stdin')
        .argParser(collect)
        .conflicts('file'),
    )
    .option('-f, --file <path>', 'read messages from this file, one per line')
    .option('--json', 'each message is a JSON value (else text)')
    .option('-k, --key <key>', 'message key (on a topic it picks the partition, as Kafka does)')
    .option('-p, --partition <n>', 'topic partition (overrides the key)', integer(0, 999))
    .option('-H, --header <name=value>', 'message header (repeatable)', parseHeader)
    .option('--batch-size <n>', "messages per request; at most the gateway's --max-batch-messages", integer(1, 100_000), 1000)
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .action((target: string, options: ProduceOptions) => cli.run(options, (client) => produce(client, target, options)));
}
