/**
 * The CLI's HTTP client: JSON requests to a running gateway over Node's
 * global fetch, every failure turned into one `CliError` with a code and a
 * detail, whether the gateway answered with a problem (api/problem.ts) or
 * could not be reached at all.
 */
import type { FieldError } from '../../queue/errors';

/** What the CLI prints as `error: <code>: <detail>` (then a line per entry of `errors`) before it exits 1. */
export class CliError extends Error {
  override name = 'CliError';

  constructor(
    readonly code: string,
    readonly detail: string,
    /** A problem's `errors`: each offending field, failing message or compatibility reason. */
    readonly errors: FieldError[] = [],
  ) {
    super(`${code}: ${detail}`);
  }
}

/** True when `error` is the gateway's problem `code`. */
export function isProblem(error: unknown, code: string): boolean {
  return error instanceof CliError && error.code === code;
}

export interface ClientSettings {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Sent as `Authorization: Bearer`; undefined for a gateway without keys. */
  apiKey: string | undefined;
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** A 2xx answer: its status (201 tells created from updated) and its JSON body (undefined for 204). */
export interface Answer<T> {
  status: number;
  body: T;
}

/** A path whose interpolated names are percent-encoded: api`/v1/queues/${name}`. */
export function api(parts: TemplateStringsArray, ...names: (string | number)[]): string {
  return parts.reduce((path, part, i) => path + encodeURIComponent(String(names[i - 1])) + part);
}

/** An entry of a problem's `errors` as openapi.yaml's Problem has them: a pointer and a detail at least. */
function isFieldError(entry: unknown): entry is FieldError {
  return entry !== null && typeof entry === 'object' && 'pointer' in entry && 'detail' in entry && typeof entry.detail === 'string';
}

/** `code`, `detail` and `errors` of a problem+json body, or null for any other body. */
function problemOf(text: string): CliError | null {
  try {
    const body: unknown = JSON.parse(text);
    if (body !== null && typeof body === 'object' && 'code' in body && 'detail' in body) {
      const { code, detail } = body;
      const errors = 'errors' in body && Array.isArray(body.errors) ? body.errors.filter(isFieldError) : [];
      if (typeof code === 'string' && typeof detail === 'string') return new CliError(code, detail, errors);
    }
  } catch {
    // Not JSON: a proxy's error page, say. The caller reports the status instead.
  }
  return null;
}

/** Why fetch failed to get an answer, e.g. `connect ECONNREFUSED 127.0.0.1:8080`. */
function transportCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}

export class GatewayClient {
  private readonly base: string;

  constructor(private readonly settings: ClientSettings) {
    this.base = settings.url.replace(/\/+$/, '');
  }

  /** Sends `body` as JSON (none when undefined). */
  json<T>(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<Answer<T>> {
    return this.send<T>(method, path, body === undefined ? undefined : JSON.stringify(body), signal);
  }

  /**
   * Sends `text`, already JSON, and resolves with the 2xx answer; rejects
   * with a CliError for any other status or when the gateway cannot be
   * reached, and with the abort error itself once `signal` is aborted.
   */
  async send<T>(method: Method, path: string, text: string | undefined, signal?: AbortSignal): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    if (this.settings.apiKey !== undefined) headers.authorization = `Bearer ${this.settings.apiKey}`;
    let status: number;
    let answer: string;
    try {
      const response = await fetch(`${this.base}${path}`, { method, headers, body: text, signal });
      status = response.status;
      answer = await response.text();
    } catch (error) {
      if (signal?.aborted === true) throw error;
      throw new CliError('unreachable', `cannot reach the gateway at ${this.base}: ${transportCause(error)}`);
    }
    if (status < 200 || status > 299) {
      const problem = problemOf(answer);
      if (problem !== null) throw problem;
      throw new CliError(`http_${status}`, `${method} ${path} answered ${status}: ${answer.slice(0, 200).trim() || '(no body)'}`);
    }
    if (answer === '') return { status, body: undefined as T };
    try {
      // The shape is openapi.yaml's; each caller names the type it relies on.
      return { status, body: JSON.parse(answer) as T };
    } catch {
      throw new CliError('bad_response', `${method} ${path} answered ${status} with a body that is not JSON`);
    }
  }
}
