#!/usr/bin/env node
import { Command } from 'commander';
import { GatewayCommands } from './cli/command';
import { registerConsumeCommands } from './cli/consume';
import { registerProduceCommand } from './cli/produce';
import { registerQueueCommands } from './cli/queues';
import { registerTailCommand } from './cli/tail';
import { registerTopicCommands } from './cli/topics';
import type { CreateKeyOptions } from './serverCommands';

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
program
  .command('keys')
  .description('API keys.')
  .command('create')
  .description('Create an API key and print it once.')
  .requiredOption('--name <name>', 'who or what uses the key, for people reading the keys file')
  .requiredOption('--scope <scopes...>', 'grants such as produce:queues/orders-*, consume:topics/*, admin:*')
  .option('--keys-file <file>', 'add the key to this keys file (created if missing)')
  .option('--sqs', 'also give it SQS credentials: the key id is the access key id, the secret is printed once')
  .action((options: CreateKeyOptions) => serverCommands().then(({ createKey }) => createKey(options)));
// The client: commands that talk to a running gateway over HTTP (api/cli/).
const cli = new GatewayCommands(process.env);
registerQueueCommands(program, cli);
registerTopicCommands(program, cli);
registerProduceCommand(program, cli);
registerConsumeCommands(program, cli);
registerTailCommand(program, cli);
program.parse(process.argv.slice(2), { from: 'user' });
