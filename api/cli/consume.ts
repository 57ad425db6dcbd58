import type { Command } from 'commander';
import type { LeasedMessage, ReceiptResult } from '../../queue/queueService';
import { api, CliError, type GatewayClient } from './client';
import { type Connection, type GatewayCommands, integer } from './command';
import { printJsonLine, printLine } from './output';
import { MAX_LEASE_MS } from './queues';

interface FetchOptions extends Connection {
  max: number;
  waitMs: number;
  visibilityTimeoutMs?: number;
}

interface NackOptions extends Connection {
  delayMs?: number;
}

/** openapi.yaml's Receipts: at most this many per request. */
const RECEIPTS_PER_REQUEST = 1000;

async function fetchMessages(client: GatewayClient, queue: string, options: FetchOptions): Promise<void> {
  const { max, waitMs, visibilityTimeoutMs } = options;
  const request = { max, waitMs, visibilityTimeoutMs };
  const { body } = await client.json<{ messages: LeasedMessage[] }>('POST', api`/v1/queues/${queue}/fetch`, request);
  for (const message of body.messages) printJsonLine(message);
}

/**
 * Acks or nacks, a line per receipt (`<receipt> <status>`), in requests of
 * at most 1000. Every receipt gets its own result; if any was not settled
 * the command fails with the first one's reason, so a script can tell.
 */
async function settle(client: GatewayClient, queue: string, action: 'ack' | 'nack', receipts: string[], extra: object): Promise<void> {
  const settled = action === 'ack' ? 'acked' : 'nacked';
  const failed: ReceiptResult[] = [];
  for (let i = 0; i < receipts.length; i += RECEIPTS_PER_REQUEST) {
    const request = { receipts: receipts.slice(i, i + RECEIPTS_PER_REQUEST), ...extra };
    const { body } = await client.json<{ results: ReceiptResult[] }>('POST', api`/v1/queues/${queue}/${action}`, request);
    for (const result of body.results) {
      printLine(`${result.receipt} ${result.status}`);
      if (result.status !== settled) failed.push(result);
    }
  }
  if (failed.length > 0) {
    throw new CliError(failed[0].code ?? failed[0].status, `${failed.length} of ${receipts.length} receipts were not ${settled}`);
  }
}

/** `mqgate fetch`, `mqgate ack`, `mqgate nack`: the work-queue consumer's three calls. */
export function registerConsumeCommands(program: Command, cli: GatewayCommands): void {
  cli
    .command(
      program,
      'fetch <queue>',
      'Lease messages of a queue; prints each as a JSON line, with its receipt.',
      `Nothing is printed when no message arrived in time. Settle each message with
"mqgate ack" (done) or "mqgate nack" (give it back) before its lease ends.

Examples:
  $ mqgate fetch orders --max 10 --wait-ms 5000
  $ mqgate fetch orders | jq -r .receipt | xargs mqgate ack orders --`,
    )
    .option('-n, --max <n>', 'most messages to lease', integer(1), 1)
    .option('-w, --wait-ms <ms>', 'wait up to this long for a message when none is ready', integer(0), 0)
    .option('--visibility-timeout-ms <ms>', "lease length (default: the queue's)", integer(0, MAX_LEASE_MS))
    .action((queue: string, options: FetchOptions) => cli.run(options, (client) => fetchMessages(client, queue, options)));

  cli
    .command(
      program,
      'ack <queue> <receipt...>',
      'Acknowledge fetched messages (they are deleted); prints "<receipt> <status>" for each.',
      'Exits 1 when a receipt was not acked (its lease had ended: expired; not of this queue: unknown). A receipt may begin with "-": put -- before the receipts.',
    )
    .action((queue: string, receipts: string[], options: Connection) =>
      cli.run(options, (client) => settle(client, queue, 'ack', receipts, {})),
    );

  cli
    .command(
      program,
      'nack <queue> <receipt...>',
      'Give fetched messages back, to be delivered again; prints "<receipt> <status>" for each.',
      "The delivery still counts towards the queue's max deliveries. Exits 1 when a receipt was not nacked. A receipt may begin with \"-\": put -- before the receipts.",
    )
    .option('--delay-ms <ms>', 'ready again after this long (default 0)', integer(0, MAX_LEASE_MS))
    .action((queue: string, receipts: string[], options: NackOptions) =>
      cli.run(options, (client) => settle(client, queue, 'nack', receipts, { delayMs: options.delayMs })),
    );
}
