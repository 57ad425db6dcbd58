import { type Command, Option } from 'commander';
import { api } from './client';
import { type Connection, type GatewayCommands, integer, integerOrNone, NONE } from './command';
import { printJsonLine, printLine, printTable } from './output';

/** A create option whose attribute name (`--delay-ms` → `delayMs`) is the API field it sets. */
export interface SettingOption {
  flags: string;
  description: string;
  parse: (raw: string) => unknown;
}

/** Size limits and quotas, the same for queues and topics. */
export const SIZE_SETTINGS: SettingOption[] = [
  { flags: '--max-message-bytes <bytes>', description: "largest message (default: the gateway's limit)", parse: integer(1) },
  { flags: '--max-stored-messages <n|none>', description: 'quota on messages stored at once (default none)', parse: integerOrNone(1) },
  { flags: '--max-stored-bytes <bytes|none>', description: 'quota on value bytes stored (default none)', parse: integerOrNone(1) },
];

/** What `queues` and `topics` differ in; their ls, get, create and rm work alike. */
export interface ResourceGroup<R> {
  singular: 'queue' | 'topic';
  plural: 'queues' | 'topics';
  description: string;
  /** Column titles of `ls`, and the cells of one resource. */
  header: string[];
  row(resource: R): string[];
  settings: SettingOption[];
  /** Examples shown under `<plural> create --help`. */
  createExamples: string;
}

interface ListOptions extends Connection {
  json?: boolean;
  prefix?: string;
}

/** The API's largest page: `ls` reads the whole list in as few calls as it can. */
const LIST_PAGE = 1000;

/** The `queues` or `topics` command group: ls, get, create (the API's idempotent PUT) and rm. */
export function registerResourceCommands<R>(program: Command, cli: GatewayCommands, kind: ResourceGroup<R>): void {
  const { singular, plural } = kind;
  const group = program.command(plural).description(kind.description);

  cli
    .command(group, 'ls', `List ${plural} with their stats, a line each.`)
    .option('--prefix <prefix>', `only ${plural} whose name starts with it`)
    .option('--json', `print the list as JSON ({"${plural}": [...]}) instead of a table`)
    .action((options: ListOptions) =>
      cli.run(options, async (client) => {
        const listed: R[] = [];
        let cursor: string | null = null;
        // Page after page: the API answers at most LIST_PAGE at a time.
        do {
          const query = new URLSearchParams({ limit: String(LIST_PAGE), prefix: options.prefix ?? '' });
          if (cursor !== null) query.set('cursor', cursor);
          const { body } = await client.json<Record<string, R[]> & { nextCursor: string | null }>('GET', `/v1/${plural}?${query}`);
          listed.push(...body[plural]);
          cursor = body.nextCursor;
        } while (cursor !== null);
        if (options.json === true) printJsonLine({ [plural]: listed });
        else printTable([kind.header, ...listed.map((resource) => kind.row(resource))]);
      }),
    );

  cli
    .command(group, 'get <name>', `Print a ${singular}'s settings and stats as JSON.`)
    .action((name: string, options: Connection) =>
      cli.run(options, async (client) => {
        printJsonLine((await client.json<R>('GET', api`/v1/${plural}/${name}`)).body);
      }),
    );

  const settings = kind.settings.map((setting) => new Option(setting.flags, setting.description).argParser(setting.parse));
  const create = cli.command(
    group,
    'create <name>',
    `Create a ${singular}, or update an existing one.`,
    `As the API's PUT: settings not given take their defaults, also on update.\n\n${kind.createExamples}`,
  );
  for (const setting of settings) create.addOption(setting);
  create.action((name: string, options: Connection & Record<string, unknown>) =>
    cli.run(options, async (client) => {
      // Only what was given: commander leaves the others undefined, and the gateway fills in its defaults.
      const fields = settings.map((setting) => setting.attributeName()).filter((field) => options[field] !== undefined);
      const body = Object.fromEntries(fields.map((field) => [field, options[field] === NONE ? null : options[field]]));
      const { status } = await client.json<R>('PUT', api`/v1/${plural}/${name}`, body);
      printLine(`${status === 201 ? 'created' : 'updated'} ${singular} ${name}`);
    }),
  );

  cli
    .command(group, 'rm <name>', `Delete a ${singular} and all its messages.`)
    .action((name: string, options: Connection) =>
      cli.run(options, async (client) => {
        await client.json('DELETE', api`/v1/${plural}/${name}`);
        printLine(`deleted ${singular} ${name}`);
      }),
    );
}
