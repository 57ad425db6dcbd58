import type { Command } from 'commander';
import type { GroupFetchResult } from '../../queue/groupService';
import type { DeliveredMessage } from '../../queue/messages';
import type { ReadResult, TopicView } from '../../queue/topicService';
import { api, CliError, type GatewayClient, isProblem } from './client';
import { type Connection, type GatewayCommands, integer } from './command';
import { printLine, stdoutClosed, valueText } from './output';
import { type Progress, progressWanted, startProgress } from './progress';

interface TailOptions extends Connection {
  group?: string;
  fromBeginning?: boolean;
  partition?: number;
  maxMessages?: number;
  waitMs: number;
  json?: boolean;
  progress: boolean;
}

/** Messages asked for per request. */
const BATCH = 500;

/** Prints what arrives and stops the tail once --max-messages are out. */
class Printer {
  private printed = 0;

  constructor(
    private readonly options: TailOptions,
    private readonly progress: Progress,
    private readonly stop: AbortController,
  ) {}

  private get remaining(): number {
    return (this.options.maxMessages ?? Infinity) - this.printed;
  }

  /** How many to ask for next: a batch, or what is left of --max-messages. */
  get wanted(): number {
    return Math.min(BATCH, this.remaining);
  }

  print(messages: DeliveredMessage[]): void {
    // Partitions are followed at once, so a read may bring more than is left to print.
    for (const message of messages.slice(0, this.remaining)) {
      printLine(this.options.json === true ? JSON.stringify(message) : valueText(message));
      this.printed += 1;
    }
    this.progress.update(this.printed, this.printed);
    if (this.remaining === 0) this.stop.abort();
  }
}

/**
 * Runs one long-poll after another until `signal` aborts, which also cuts
 * the one waiting short; a failure other than that abort ends the tail.
 */
async function untilAborted(signal: AbortSignal, poll: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await poll();
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }
}

/** What a running tail works with. */
interface Tail {
  client: GatewayClient;
  topic: string;
  options: TailOptions;
  printer: Printer;
  /** Aborted by Ctrl-C, by a closed stdout, or once --max-messages are printed; cuts a waiting long-poll short. */
  stop: AbortController;
}

/** Without a group: stateless reads of each partition, all at once, from the end (or the start) of the log. */
async function followPartitions({ client, topic, options, printer, stop }: Tail): Promise<void> {
  const { body } = await client.json<TopicView>('GET', api`/v1/topics/${topic}`);
  const partitions = body.stats.partitions.filter((p) => options.partition === undefined || p.partition === options.partition);
  if (partitions.length === 0) {
    const detail = `Topic '${topic}' has ${body.partitions} partitions; there is no partition ${options.partition}.`;
    throw new CliError('partition_not_found', detail);
  }
  const follow = async (partition: number, from: number | 'earliest'): Promise<void> => {
    let offset = from;
    await untilAborted(stop.signal, async () => {
      const query = `?offset=${offset}&max=${printer.wanted}&waitMs=${options.waitMs}`;
      const path = api`/v1/topics/${topic}/partitions/${partition}/messages` + query;
      try {
        const { body: read } = await client.json<ReadResult>('GET', path, undefined, stop.signal);
        printer.print(read.messages);
        offset = read.nextOffset;
      } catch (error) {
        // Retention deleted messages this tail had yet to read: go on from the oldest kept, as Kafka's console consumer does.
        if (!isProblem(error, 'offset_out_of_range')) throw error;
        offset = 'earliest';
      }
    });
  };
  // The end offsets of the answer above, not `latest` at the first read: a message produced from now on is printed.
  const follows = partitions.map((p) => follow(p.partition, options.fromBeginning === true ? 'earliest' : p.endOffset));
  // One partition failing (the topic was deleted, say) ends the others too.
  const stopOthers = (error: unknown): never => {
    stop.abort();
    throw error;
  };
  await Promise.all(follows.map((followed) => followed.catch(stopOthers)));
}

/**
 * With --group: a member of the consumer group, so several tails share the
 * partitions; commits what it printed after each batch, and leaves on the way out.
 */
async function followGroup({ client, topic, options, printer, stop }: Tail, group: string): Promise<void> {
  const base = api`/v1/topics/${topic}/groups/${group}`;
  if (options.fromBeginning === true) {
    try {
      await client.json('GET', base);
    } catch (error) {
      // Only a new group starts at the earliest offset; an existing one resumes where it committed, as in Kafka.
      if (!isProblem(error, 'group_not_found')) throw error;
      await client.json('PUT', base, { resetPolicy: 'earliest' });
    }
  }
  const join = async (): Promise<string> => (await client.json<{ memberId: string }>('POST', `${base}/members`)).body.memberId;
  let memberId = await join();
  try {
    await untilAborted(stop.signal, async () => {
      let fetched: GroupFetchResult;
      try {
        const request = { memberId, max: printer.wanted, waitMs: options.waitMs };
        fetched = (await client.json<GroupFetchResult>('POST', `${base}/fetch`, request, stop.signal)).body;
      } catch (error) {
        // Removed after a session timeout (the machine slept, say): join again and carry on.
        if (!isProblem(error, 'unknown_member')) throw error;
        memberId = await join();
        return;
      }
      printer.print(fetched.messages);
      if (fetched.messages.length === 0) return;
      try {
        // Not cut short by Ctrl-C: what was printed is committed, so the next run does not print it again.
        await client.json('POST', `${base}/commit`, { memberId, generation: fetched.generation });
      } catch (error) {
        // A rebalance came between fetch and commit: the partitions' new owner reads on from the last
        // commit, so these messages may be printed again (at least once, as in Kafka).
        if (!isProblem(error, 'stale_generation') && !isProblem(error, 'unknown_member')) throw error;
      }
    });
  } finally {
    // A courtesy that hands the partitions over at once; if it fails, the session timeout does it later.
    await client.json('DELETE', api`/v1/topics/${topic}/groups/${group}/members/${memberId}`).catch(() => undefined);
  }
}

async function tail(client: GatewayClient, topic: string, options: TailOptions): Promise<void> {
  if (options.group !== undefined && options.partition !== undefined) {
    throw new CliError('invalid_arguments', '--partition does not go with --group: the group assigns partitions to its members');
  }
  const stop = new AbortController();
  const interrupt = (): void => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const closed = stdoutClosed();
  closed.addEventListener('abort', interrupt);
  const progress = startProgress(progressWanted(options.progress, true), options.maxMessages ?? null);
  const running: Tail = { client, topic, options, printer: new Printer(options, progress, stop), stop };
  try {
    if (options.group === undefined) await followPartitions(running);
    else await followGroup(running, options.group);
  } finally {
    progress.stop();
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    closed.removeEventListener('abort', interrupt);
  }
}

/** `mqgate tail <topic>`. */
export function registerTailCommand(program: Command, cli: GatewayCommands): void {
  cli
    .command(
      program,
      'tail <topic>',
      'Follow a topic, printing each value on a line as it arrives (as kafka-console-consumer).',
      `Runs until Ctrl-C (or --max-messages). JSON values print as JSON, text as it
is, bytes as base64. Without --group it reads every partition by offset and
stores nothing; with --group it joins the consumer group, so several tails
share its partitions, and commits what it printed.

Examples:
  $ mqgate tail payments
  $ mqgate tail payments --from-beginning --max-messages 10
  $ mqgate tail payments --group ledger --json`,
    )
    .option('-g, --group <group>', 'read as a member of this consumer group, committing what was printed')
    .option('--from-beginning', 'start at the oldest retained message (with --group: only when the group is new)')
    .option('-p, --partition <n>', 'follow this partition only (default all)', integer(0, 999))
    .option('-n, --max-messages <n>', 'stop after printing this many', integer(1))
    // At least 100 ms: shorter would turn following an idle topic into a busy loop of requests.
    .option('--wait-ms <ms>', "long-poll length of each read; at most the gateway's --max-wait-ms", integer(100), 20_000)
    .option('--json', 'print each message as a JSON line (key, headers, partition, offset, ...)')
    .option('--no-progress', 'no progress bar (drawn only when stderr is a terminal and stdout is not)')
    .action((topic: string, options: TailOptions) => cli.run(options, (client) => tail(client, topic, options)));
}
