import fs from 'node:fs';
import { Argument, type Command } from 'commander';
import type { SchemaInput, SchemaVersionView, SchemaView } from '../../queue/schemas';
import { api, CliError, type GatewayClient } from './client';
import { type Connection, type GatewayCommands, integer } from './command';
import { printJsonLine, printLine } from './output';

type Kind = 'queue' | 'topic';

interface GetOptions extends Connection {
  version?: number;
}

interface PutOptions extends Connection {
  file?: string;
  /** As typed: the gateway refuses a mode it does not know (validation_failed), so the list of modes lives in openapi.yaml only. */
  compatibility?: SchemaInput['compatibility'];
  allowRawBodies?: boolean;
}

interface CheckOptions extends Connection {
  file?: string;
  version?: number;
}

/** The route of a resource's schema: /v1/queues/{name}/schema or /v1/topics/{name}/schema. */
function schemaPath(kind: Kind, name: string): string {
  return kind === 'queue' ? api`/v1/queues/${name}/schema` : api`/v1/topics/${name}/schema`;
}

/** The text of --file, or of stdin when it is `-` or not given. */
async function readInput(file: string | undefined): Promise<string> {
  try {
    if (file !== undefined && file !== '-') return await fs.promises.readFile(file, 'utf8');
    // Else a user who forgot --file would look at a command that seems to hang.
    if (process.stdin.isTTY === true) process.stderr.write('Type or paste the JSON document; Ctrl-D ends.\n');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw new CliError('file_unreadable', (error as Error).message);
  }
}

/** One JSON document from --file or stdin; `what` names it in the error. */
async function readJson(file: string | undefined, what: string): Promise<unknown> {
  const text = await readInput(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError('invalid_json', `${what} (${file === undefined || file === '-' ? 'stdin' : file}) is not JSON: ${(error as Error).message}`);
  }
}

function describe(kind: Kind, name: string, version: number): string {
  return `version ${version} of the schema of ${kind} ${name}`;
}

async function putSchema(client: GatewayClient, kind: Kind, name: string, options: PutOptions): Promise<void> {
  const body: SchemaInput = { schema: (await readJson(options.file, 'the schema')) as SchemaInput['schema'] };
  // Only what was given: the gateway keeps the resource's settings otherwise.
  if (options.compatibility !== undefined) body.compatibility = options.compatibility;
  if (options.allowRawBodies !== undefined) body.allowRawBodies = options.allowRawBodies;
  const { status, body: registered } = await client.json<SchemaView>('PUT', schemaPath(kind, name), body);
  const what = describe(kind, name, registered.version);
  printLine(status === 201 ? `registered ${what}` : `unchanged: ${what} is this schema already`);
}

async function checkValue(client: GatewayClient, kind: Kind, name: string, options: CheckOptions): Promise<void> {
  const value = await readJson(options.file, 'the message');
  const request = { values: [value], version: options.version };
  const { body } = await client.json<{ version: number }>('POST', `${schemaPath(kind, name)}/check`, request);
  printLine(`valid against ${describe(kind, name, body.version)}`);
}

/** `mqgate schema get|put|check`: a queue's or topic's JSON Schema, through the gateway's schema routes. */
export function registerSchemaCommands(program: Command, cli: GatewayCommands): void {
  const group = program.command('schema').description("A queue's or topic's JSON Schema: show, register a version, check a message.");
  /** A subcommand on `<queue|topic> <name>`. */
  const command = (name: string, description: string, help: string): Command =>
    cli
      .command(group, name, description, help)
      .addArgument(new Argument('<kind>', 'queue or topic').choices(['queue', 'topic']))
      .argument('<name>', 'its name');

  command(
    'get',
    'Print the latest schema version (with the compatibility mode and the number of versions), or --version N, as JSON.',
    `Examples:
  $ mqgate schema get queue orders
  $ mqgate schema get topic payments --version 1 | jq .schema`,
  )
    .option('--version <n>', 'this version instead of the latest', integer(1))
    .action((kind: Kind, name: string, options: GetOptions) =>
      cli.run(options, async (client) => {
        const path = options.version === undefined ? schemaPath(kind, name) : `${schemaPath(kind, name)}/versions/${options.version}`;
        printJsonLine((await client.json<SchemaView | SchemaVersionView>('GET', path)).body);
      }),
    );

  command(
    'put',
    'Register a JSON Schema (read from --file, or stdin) as the next version.',
    `The same schema as the latest version registers nothing. A schema that breaks
the compatibility mode is refused (schema_incompatible), a line per reason.
Modes: backward (the default), forward, full, their _transitive forms, and
none; --compatibility and --allow-raw-bodies are kept when left out.

Examples:
  $ mqgate schema put queue orders --file order.schema.json
  $ mqgate schema put topic payments --file payment.schema.json --compatibility full`,
  )
    .option('-f, --file <path>', 'the schema, a JSON document (- or none: stdin)')
    .option('--compatibility <mode>', 'how versions must follow each other, from this registration on')
    .option('--allow-raw-bodies', 'messages that are not JSON may be produced, unvalidated')
    .option('--no-allow-raw-bodies', 'messages that are not JSON are refused (the default)')
    .action((kind: Kind, name: string, options: PutOptions) => cli.run(options, (client) => putSchema(client, kind, name, options)));

  command(
    'check',
    'Check a message value (a JSON document from --file, or stdin) against the schema, without producing it.',
    `The gateway validates it as a produce would, with the same validator, and
stores nothing. Exits 1 when it fails, naming where and why.

Examples:
  $ mqgate schema check queue orders --file order.json
  $ echo '{"id": 4711}' | mqgate schema check topic payments --version 2`,
  )
    .option('-f, --file <path>', 'the message value, a JSON document (- or none: stdin)')
    .option('--version <n>', 'check against this version instead of the latest', integer(1))
    .action((kind: Kind, name: string, options: CheckOptions) => cli.run(options, (client) => checkValue(client, kind, name, options)));
}
