import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import getRawBody from 'raw-body';
import type { SpecOperation } from './spec';
import { PLAIN_JSON } from './jsonType';

/**
 * The operations a caller sends one message at a time, over and over:
 * produce, fetch and ack of a queue. Each is served by the same steps as its
 * express route (access, limits, body budget, validation, handler, and the
 * app's logging, metrics and problem answers around them), but found without
 * walking express's router and read without its body parser, which such a
 * request does not need (README, "The one-message path").
 */
export const HOT_OPERATIONS: ReadonlySet<string> = new Set(['produceMessages', 'fetchMessages', 'ackMessages']);

const DECIMAL = /^\d{1,15}$/;

/** What a JSON body parser does with bytes it was given as UTF-8 JSON: `parse` throws the parser's own error for anything else. */
export interface JsonBody {
  /** Called with the bytes before they are decoded (the express parser's `verify`). */
  verify: (req: Request, res: Response, body: Buffer) => void;
  parse: (text: string) => unknown;
  limit: number;
}

interface HotRoute {
  /** The path's segments after the first `/`: a literal, or null where a parameter goes (named in `params`). */
  segments: Array<string | null>;
  params: string[];
  steps: RequestHandler[];
}

function routeOf(op: SpecOperation, steps: RequestHandler[]): HotRoute {
  const params: string[] = [];
  const segments = op.path
    .slice(1)
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (param === undefined) return segment;
      params.push(param);
      return null;
    });
  return { segments, params, steps };
}

/** The route's parameters, decoded, if `path` is exactly its path; null otherwise (or where a parameter is not valid percent-encoding). */
function match(route: HotRoute, parts: string[]): Record<string, string> | null {
  if (parts.length !== route.segments.length) return null;
  const values: string[] = [];
  for (let i = 0; i < parts.length; i += 1) {
    const literal = route.segments[i];
    const part = parts[i];
    if (literal === null) {
      if (part === '') return null;
      values.push(part);
    } else if (literal !== part) {
      return null;
    }
  }
  const params: Record<string, string> = {};
  try {
    route.params.forEach((name, i) => {
      params[name] = decodeURIComponent(values[i]);
    });
  } catch {
    return null;
  }
  return params;
}

/** Runs `steps` as express runs a route's handlers: in turn on `next()`, a throw or a rejection going to `done`. */
function run(steps: RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let at = 0;
  const next = (error?: unknown): void => {
    if (error !== undefined) {
      done(error);
      return;
    }
    const step = steps[at];
    at += 1;
    try {
      const result: unknown = step(req, res, next);
      // As express's router: a promise rejected with nothing still fails.
      if (result instanceof Promise) result.catch((error: unknown) => next(error ?? new Error('Rejected promise')));
    } catch (thrown) {
      next(thrown);
    }
  };
  next();
}

/** Reads a plain JSON body (see PLAIN_JSON) as the express JSON parser would, into `req.body`. */
function readJson(json: JsonBody): RequestHandler {
  return (req, res, next) => {
    getRawBody(req, { limit: json.limit, length: req.headers['content-length'] })
      .then((body) => {
        json.verify(req, res, body);
        // The parser's decoder drops a byte order mark; so does this.
        const text = body.toString('utf8');
        req.body = body.length === 0 ? {} : json.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      })
      .then(() => next(), next);
  };
}

/** Whether the request's body is one this path reads itself: JSON in UTF-8, as is, of a declared length. Anything else takes the express route. */
function plainJson({ headers }: IncomingMessage): boolean {
  const type = headers['content-type'];
  return (
    type !== undefined &&
    PLAIN_JSON.has(type.toLowerCase()) &&
    headers['content-encoding'] === undefined &&
    headers['transfer-encoding'] === undefined &&
    DECIMAL.test(headers['content-length'] ?? '')
  );
}

/** The steps every request takes before its route's (logging, metrics, the browser guard), and the app's error handler. */
export interface AppSteps {
  front: RequestHandler[];
  problems: ErrorRequestHandler;
}

/**
 * The hot operations' routes. Added with the steps of their express route
 * before and after its body parsers; `serve` takes a request that is one of
 * them with a plain JSON body through the app's steps and the route's, with
 * the request and response set up as express sets them up, and leaves any
 * other request to express.
 */
export class HotRoutes {
  private readonly routes: HotRoute[] = [];

  constructor(
    private readonly app: Express,
    private readonly json: JsonBody,
    private readonly steps: AppSteps,
  ) {}

  add(op: SpecOperation, before: RequestHandler[], after: RequestHandler[]): void {
    this.routes.push(routeOf(op, [...this.steps.front, ...before, readJson(this.json), ...after]));
  }

  /** Whether the request was taken: false when it is for express. */
  serve(incoming: IncomingMessage, response: ServerResponse): boolean {
    if (incoming.method !== 'POST' || !plainJson(incoming)) return false;
    const url = incoming.url ?? '';
    const query = url.indexOf('?');
    const parts = (query === -1 ? url : url.slice(0, query)).slice(1).split('/');
    for (const route of this.routes) {
      const params = match(route, parts);
      if (params !== null) {
        const { req, res } = this.asExpress(incoming, response);
        req.params = params;
        run(route.steps, req, res, (error) => this.failed(error, req, res));
        return true;
      }
    }
    return false;
  }

  /** What express's app.handle and router do to a request before its first step. */
  private asExpress(incoming: IncomingMessage, response: ServerResponse): { req: Request; res: Response } {
    const req = Object.setPrototypeOf(incoming, this.app.request) as Request;
    const res = Object.setPrototypeOf(response, this.app.response) as Response;
    req.res = res;
    res.req = req;
    // Every field the app's steps set, named up front: express's null-prototype object is a hash table to V8.
    res.locals = { operationId: undefined, principal: undefined, validated: undefined, bodyBytes: undefined, escapeFree: undefined, soap: undefined };
    req.originalUrl = req.url;
    return { req, res };
  }

  /** A step failed: the app's error handler answers; if it cannot (an answer was under way), the connection goes, as express's final handler does. */
  private failed(error: unknown, req: Request, res: Response): void {
    this.steps.problems(error, req, res, () => req.socket.destroy());
  }
}
