import type { Command } from 'commander';
import type { TopicView } from '../../queue/topicService';
import { type GatewayCommands, integer, integerOrNone } from './command';
import { registerResourceCommands, SIZE_SETTINGS } from './resources';

/** `mqgate topics ls|get|create|rm`. */
export function registerTopicCommands(program: Command, cli: GatewayCommands): void {
  registerResourceCommands<TopicView>(program, cli, {
    singular: 'topic',
    plural: 'topics',
    description: 'Topics (Kafka mode): list, show, create or update, delete.',
    header: ['NAME', 'PARTITIONS', 'MESSAGES', 'BYTES', 'RETENTION_MS'],
    row: ({ name, partitions, retentionMs, stats }) => [
      name,
      String(partitions),
      // Retained messages: offsets are dense, so each partition holds end - start.
      String(stats.partitions.reduce((sum, p) => sum + p.endOffset - p.startOffset, 0)),
      String(stats.partitions.reduce((sum, p) => sum + p.bytes, 0)),
      retentionMs === null ? 'forever' : String(retentionMs),
    ],
    settings: [
      { flags: '--partitions <n>', description: 'number of partitions; may grow, never shrink (default 1)', parse: integer(1, 1000) },
      {
        flags: '--retention-ms <ms|none>',
        description: 'age at which messages are deleted; none keeps them (default 7 days)',
        parse: integerOrNone(1000),
      },
      { flags: '--retention-bytes <bytes|none>', description: 'per partition, value bytes kept (default none)', parse: integerOrNone(1) },
      ...SIZE_SETTINGS,
    ],
    createExamples: `Examples:
  $ mqgate topics create payments --partitions 3
  $ mqgate topics create audit --retention-ms none`,
  });
}
