import type { Command } from 'commander';
import type { QueueView } from '../../queue/queueService';
import { type GatewayCommands, integer, integerOrNone } from './command';
import { registerResourceCommands, SIZE_SETTINGS } from './resources';

/** Bounds as openapi.yaml's QueueSettings has them, so a bad value is refused before any request. */
export const MAX_LEASE_MS = 43_200_000;
const MAX_DELAY_MS = 604_800_000;

/** `mqgate queues ls|get|create|rm`. */
export function registerQueueCommands(program: Command, cli: GatewayCommands): void {
  registerResourceCommands<QueueView>(program, cli, {
    singular: 'queue',
    plural: 'queues',
    description: 'Work queues: list, show, create or update, delete.',
    header: ['NAME', 'READY', 'IN_FLIGHT', 'DELAYED', 'PRODUCED', 'ACKED', 'DEAD_LETTERED', 'DEAD_LETTER_QUEUE'],
    row: ({ name, stats, deadLetterQueue }) => [
      name,
      ...[stats.ready, stats.inFlight, stats.delayed, stats.produced, stats.acked, stats.deadLettered].map(String),
      deadLetterQueue ?? '-',
    ],
    settings: [
      {
        flags: '--visibility-timeout-ms <ms>',
        description: 'lease of a fetch that names none (default 30000)',
        parse: integer(0, MAX_LEASE_MS),
      },
      {
        flags: '--max-deliveries <n|none>',
        description: 'deliveries before a message moves to the dead-letter queue (default none)',
        parse: integerOrNone(1),
      },
      { flags: '--dead-letter-queue <queue>', description: 'an existing queue for messages past --max-deliveries', parse: String },
      { flags: '--delay-ms <ms>', description: 'delay before a produced message is ready (default 0)', parse: integer(0, MAX_DELAY_MS) },
      {
        flags: '--retention-ms <ms>',
        description: 'age at which messages are deleted, acked or not (default 4 days)',
        parse: integer(1000),
      },
      ...SIZE_SETTINGS,
    ],
    createExamples: `Examples:
  $ mqgate queues create orders-dlq
  $ mqgate queues create orders --visibility-timeout-ms 60000 --max-deliveries 5 --dead-letter-queue orders-dlq`,
  });
}
