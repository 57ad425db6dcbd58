#!/usr/bin/env node
import { Command } from 'commander';
import { GatewayCommands } from './cli/command';
import { registerConsumeCommands } from './cli/consume';
import { registerProduceCommand } from './cli/produce';
import { registerQueueCommands } from './cli/queues';
import { registerSchemaCommands } from './cli/schemas';
import { registerTailCommand } from './cli/tail';
import { registerTopicCommands } from './cli/topics';
import type { CreateKeyOptions, KeysPlaceOptions } from './serverCommands';

/** Loaded by the commands that run the gateway's side only: the client commands start without it. */
const serverCommands = (): Promise<typeof import('./serverCommands')> => import('./serverCommands');

const program = new Command('mqgate').description('HTTP message-queue gateway: durable queues and replayable logs over HTTP.');
program
  .command('serve', { isDefault: true })
  .description('Run the gateway (flags such as --port and --data-dir, or MQGATE_* variables; see the README).')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action((_options: unknown, command: Command) => serverCommands().then(({ serve }) => serve(command.args)));
const keys = program.command('keys').description('API keys.');
/** The --store of the keys commands: MQGATE_STORE when not given, unless a --keys-file is. */
const STORE_HELP = 'a PostgreSQL store (postgres:// URL) whose gateways keep their keys there (keysInStore); default MQGATE_STORE';
keys
  .command('create')
  .description('Create an API key and print it once.')
  .requiredOption('--name <name>', 'who or what uses the key, for people reading the keys file')
  .requiredOption('--scope <scopes...>', 'grants such as produce:queues/orders-*, consume:topics/*, admin:*')
  .option('--keys-file <file>', 'add the key to this keys file (created if missing)')
  .option('--store <url>', `add the key to ${STORE_HELP}`)
  .option('--sqs', 'also give it SQS credentials: the key id is the access key id, the secret is printed once')
  .action((options: CreateKeyOptions) => serverCommands().then(({ createKey }) => createKey(options, process.env)));
keys
  .command('revoke')
  .description('Revoke an API key: remove it from the keys file or the store; the gateways refuse it within their keys watch interval.')
  .argument('<id>', 'the key id (the 12 hex digits after mqg_)')
  .option('--keys-file <file>', 'remove the key from this keys file')
  .option('--store <url>', `remove the key from ${STORE_HELP}`)
  .action((id: string, options: KeysPlaceOptions) => serverCommands().then(({ revokeKey }) => revokeKey(id, options, process.env)));
// The client: commands that talk to a running gateway over HTTP (api/cli/).
const cli = new GatewayCommands(process.env);
registerQueueCommands(program, cli);
registerTopicCommands(program, cli);
registerSchemaCommands(program, cli);
registerProduceCommand(program, cli);
registerConsumeCommands(program, cli);
registerTailCommand(program, cli);
program.parse(process.argv.slice(2), { from: 'user' });
