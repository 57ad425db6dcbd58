import { type Command, InvalidArgumentError } from 'commander';
import type { FieldError } from '../../queue/errors';
import { CliError, GatewayClient } from './client';
import { stdoutClosed } from './output';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The option every command that talks to the gateway takes. */
export interface Connection {
  url: string;
}

/** What client commands read from the environment; main.ts hands in process.env. */
export interface ClientEnvironment {
  /** The gateway's address when --url is not given. */
  MQGATE_URL?: string;
  /** Sent as `Authorization: Bearer`; unset or empty: no key. */
  MQGATE_API_KEY?: string;
}

const ENVIRONMENT_HELP = `
Environment:
  MQGATE_URL       the gateway's address when --url is not given (else ${DEFAULT_URL})
  MQGATE_API_KEY   API key, sent as "Authorization: Bearer <key>"

Errors of the gateway are printed as "error: <code>: <detail>" on stderr (then a
line per field, message or reason the gateway names), with exit code 1.`;

/** A --url must name an HTTP(S) gateway; checked before any request so a typo gets its own message. */
function checkedUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('invalid_url', `'${raw}' is not a URL (from --url or MQGATE_URL); expected e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('invalid_url', `'${raw}' is not an http:// or https:// URL (from --url or MQGATE_URL)`);
  }
  return raw;
}

/** An entry of a problem's `errors` as an indented line: a failing message, a compatibility reason, or a field. */
function entryLine(entry: FieldError): string {
  if (entry.rule !== undefined) {
    const where = entry.property === undefined || entry.property === '' ? '(the whole value)' : entry.property;
    return `  ${where}: ${entry.rule}, against version ${entry.version ?? '?'}: ${entry.detail}`;
  }
  if (entry.index !== undefined) {
    return `  message ${entry.index}${entry.instancePath === undefined || entry.instancePath === '' ? '' : ` at ${entry.instancePath}`}: ${entry.detail}`;
  }
  return `  ${entry.pointer}: ${entry.detail}`;
}

/**
 * Never a stack: a gateway problem as `error: <code>: <detail>` (a CliError's
 * message), then a line per entry of its `errors`, which the detail runs together.
 */
function report(error: unknown): void {
  const line = error instanceof Error ? error.message : String(error);
  const entries = error instanceof CliError ? error.errors.map(entryLine) : [];
  process.stderr.write([`error: ${line}`, ...entries].map((text) => `${text}\n`).join(''));
}

/** The client commands' shared plumbing: the --url option, the API key, and how failures end a command. */
export class GatewayCommands {
  constructor(private readonly env: ClientEnvironment) {}

  /**
   * A subcommand of `parent` that talks to the gateway. Its help ends with
   * `help` (notes and examples), then the environment it reads.
   */
  command(parent: Command, nameAndArgs: string, description: string, help = ''): Command {
    return parent
      .command(nameAndArgs)
      .description(description)
      .option('--url <url>', "the gateway's address (env MQGATE_URL)", this.env.MQGATE_URL ?? DEFAULT_URL)
      .addHelpText('after', `${help === '' ? '' : `\n${help}\n`}${ENVIRONMENT_HELP}`);
  }

  /**
   * Runs a command's work with a client for its --url. A failure is reported
   * as one line and sets exit code 1; the process then ends by itself, so
   * what was written to stdout is flushed first.
   */
  async run(options: Connection, work: (client: GatewayClient) => Promise<void>): Promise<void> {
    // Listening from here on: a reader that goes away ends the output instead of crashing the process.
    stdoutClosed();
    try {
      const apiKey = this.env.MQGATE_API_KEY === '' ? undefined : this.env.MQGATE_API_KEY;
      await work(new GatewayClient({ url: checkedUrl(options.url), apiKey }));
    } catch (error) {
      report(error);
      process.exitCode = 1;
    }
  }
}

/** An option parser for whole numbers in [min, max]; commander reports a bad one as `error: option ... is invalid`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected a whole number ${range}.`);
    }
    return value;
  };
}

/**
 * What `none` parses to. It stands for the API's null (no limit), which is
 * put in only when the request body is built: commander turns a parser's
 * null into ''.
 */
export const NONE = Symbol('none');

/** As `integer`, or `none`. */
export function integerOrNone(min: number): (raw: string) => number | typeof NONE {
  const parse = integer(min);
  return (raw) => (raw === 'none' ? NONE : parse(raw));
}
