import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import getRawBody from 'raw-body';
import type { Limits } from '../queue/limits';
import { GatewayError } from '../queue/errors';
import { authorize } from './auth';
import { BodyBudget, budgeted } from './bodyBudget';
import { createHandlers, type HandlerDeps } from './handlers';
import { type Logger, requestLog } from './logging';
import type { Metrics } from './metrics';
import { type BrowserPolicy, browserGuard } from './origins';
import { HotRoutes, HOT_OPERATIONS } from './hotRoutes';
import { hasJsonBody } from './jsonType';
import { notJson, problemMiddleware } from './problem';
import type { SpecOperation } from './spec';
import { compileValidators } from './validation';

export interface AppDeps extends HandlerDeps {
  logger: Logger;
  metrics: Pick<Metrics, 'render' | 'requestMetrics' | 'streamOpened'>;
  browsers: BrowserPolicy;
}

/** Where express takes each request in: the app function calls it. */
interface ExpressEntry {
  handle(req: IncomingMessage, res: ServerResponse, callback?: NextFunction): void;
}

/** `/v1/queues/{queue}` → `/v1/queues/:queue` */
export function toExpressPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

/** Records the body's size for the key's byte rate (api/auth.ts). */
function countBytes(_req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  (res as Response).locals.bodyBytes = body.length;
}

/**
 * Counts a JSON body, and refuses one that is not UTF-8 before it is decoded:
 * the decoder would turn bad bytes inside a string into U+FFFD, and a
 * gateway must store what it was sent or nothing (a JSON text is UTF-8, RFC 8259).
 */
function checkJsonBytes(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  countBytes(req, res, body);
  if (!isUtf8(body)) throw new GatewayError('malformed_json', 'The request body is not valid UTF-8, so it is not JSON; nothing was stored.');
  // Without a backslash no string in it holds an escape: a produce writes its strings back as they are (queue/messages.ts).
  (res as Response).locals.escapeFree = !body.includes(0x5c);
}

/**
 * An operation without a body still reads (and drops) one it is sent, before
 * it runs: a body that turns out broken or too large is then refused with
 * nothing done, never after the operation was carried out. Its bytes are not
 * decoded, so any content type or encoding will do.
 */
function discardBody(limits: Limits): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) {
      next();
      return;
    }
    getRawBody(req, { limit: limits.maxBatchBytes, length: req.headers['content-length'] }).then((body) => {
      res.locals.bodyBytes = body.length;
      next();
    }, next);
  };
}

/** The largest message the queue or topic a request produces to takes (its maxMessageBytes). */
type TargetLimit = (req: Request) => Promise<{ name: string; maxMessageBytes: number }>;

/** Bodies up to this size are read before their target's own limit is checked: reading them costs less than the lookup. */
const LOOKUP_ABOVE_BYTES = 64 * 1024;

/**
 * A body that would be one message (any type but JSON, where an operation
 * takes raw bodies) and declares more bytes than the largest message (the
 * server's, or over 64 KiB its queue's or topic's), but no more than a batch
 * (the parser refuses those unread), is refused before it is read.
 */
function rawMessageLimit(op: SpecOperation, limits: Limits, target: TargetLimit | undefined): RequestHandler[] {
  const content = op.operation.requestBody?.content ?? {};
  if (!('*/*' in content)) return [];
  const json = 'application/json' in content;
  const refuse = (res: Response, next: NextFunction, declared: number, limit: number, of: string): void => {
    // The body is left unread: the connection goes with the answer.
    res.set('Connection', 'close');
    next(new GatewayError('message_too_large', `The body is ${declared} bytes; ${of} accepts messages of at most ${limit}.`));
  };
  return [
    (req, res, next) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > limits.maxBatchBytes || (json && hasJsonBody(req))) {
        next();
        return;
      }
      if (declared > limits.maxMessageBytes) {
        refuse(res, next, declared, limits.maxMessageBytes, 'the server');
        return;
      }
      if (target === undefined || declared <= LOOKUP_ABOVE_BYTES) {
        next();
        return;
      }
      target(req).then(({ name, maxMessageBytes }) => {
        if (declared > maxMessageBytes) refuse(res, next, declared, maxMessageBytes, `'${name}'`);
        else next();
      }, next);
    },
  ];
}

/** Where a raw body is one message of a queue or topic: how to find that target's limit. */
function targetLimits(deps: AppDeps): Record<string, TargetLimit> {
  const queue: TargetLimit = (req) => deps.queues.settings(req.params.queue as string);
  return {
    produceMessages: queue,
    sendRequest: queue,
    produceToTopic: (req) => deps.topics.settings(req.params.topic as string),
  };
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** JSON.parse, failing as the express JSON parser does. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw notJson();
  }
}

/**
 * Body parsing as the operation's requestBody says: JSON where it takes JSON
 * (size checked before parsing), raw bytes where it also takes any other
 * type, 415 for a non-JSON body where only JSON is accepted.
 */
function bodyParsers(op: SpecOperation, limits: Limits): RequestHandler[] {
  const content = op.operation.requestBody?.content;
  if (content === undefined) return [discardBody(limits)];
  // JSON only where the operation takes it: the SQS face signs its bodies, so it must get them as bytes, whatever they claim to be.
  const json = 'application/json' in content;
  const parsers: RequestHandler[] = json
    ? // Not strict: `null` or `[]` is JSON of the wrong type, which validation names, not a parse error.
      [express.json({ limit: limits.maxBatchBytes, type: 'application/json', strict: false, verify: checkJsonBytes })]
    : [];
  if ('*/*' in content) {
    // Any other type as bytes; where JSON is not listed (a request–reply's request or reply), JSON too.
    const raw = json ? (req: Request) => !hasJsonBody(req) : () => true;
    parsers.push(express.raw({ limit: limits.maxBatchBytes, type: (req) => raw(req as Request), verify: countBytes }));
  } else {
    // Other listed types (the SQS face's application/x-amz-json-1.0) arrive as bytes: the operation parses them its own way.
    const rawTypes = Object.keys(content).filter((type) => type !== 'application/json');
    if (rawTypes.length > 0) parsers.push(express.raw({ limit: limits.maxBatchBytes, type: rawTypes, verify: countBytes }));
    const accepted = Object.keys(content);
    parsers.push((req, _res, next) => {
      if (hasBody(req) && !req.is(accepted)) {
        next(new GatewayError('unsupported_media_type', `This operation takes ${accepted.join(' or ')} bodies only.`));
        return;
      }
      next();
    });
  }
  return parsers;
}

/**
 * Routes are registered from openapi.yaml: each operation's path and method,
 * its access check (before the body is read), its body parser, its compiled
 * validator, and the handler named by its operationId. A spec operation
 * without a handler fails at start.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Nothing here has validators (no ETags, no Last-Modified): `If-None-Match: *` must not turn a 200 into a 304.
  Object.defineProperty(app.request, 'fresh', { get: () => false });
  const front = [requestLog(deps.logger), deps.metrics.requestMetrics(), browserGuard(deps.browsers)];
  for (const step of front) app.use(step);
  const problems = problemMiddleware(deps.onInternalError);
  const hot = new HotRoutes(app, { verify: checkJsonBytes, parse: parseJson, limit: deps.limits.maxBatchBytes }, { front, problems });
  const handlers = createHandlers(deps);
  const budget = new BodyBudget(deps.limits.maxBodyBytesInFlight);
  const targets = targetLimits(deps);
  const validators = compileValidators(deps.spec);
  const byPath = new Map<string, SpecOperation[]>();
  for (const op of deps.spec.operations) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);

  for (const [path, operations] of byPath) {
    const route = app.route(toExpressPath(path));
    for (const op of operations) {
      const { operationId } = op.operation;
      const handler = handlers[operationId];
      const validate = validators.get(operationId);
      if (handler === undefined || validate === undefined) throw new Error(`no handler for operation ${operationId}`);
      // Whether a SOAP caller of this operation is answered in SOAP (api/soap.ts): as openapi.yaml documents.
      const soap = op.operation['x-mqgate-soap-responses'] !== undefined;
      const named: RequestHandler = (_req, res, next) => {
        res.locals.operationId = operationId;
        res.locals.soap = soap;
        next();
      };
      // The budget right before the parser: it counts every chunk the parser reads.
      const before = [named, authorize(op, deps.auth), ...rawMessageLimit(op, deps.limits, targets[operationId]), budgeted(budget, deps.limits.maxBatchBytes)];
      const after = [
        (req: Request, res: Response, next: NextFunction) => {
          res.locals.validated = validate(req);
          next();
        },
        handler,
      ];
      route[op.method](...before, ...bodyParsers(op, deps.limits), ...after);
      if (HOT_OPERATIONS.has(operationId)) hot.add(op, before, after);
    }
    const allowed = operations.map((op) => op.method.toUpperCase()).join(', ');
    route.all((_req: Request, res: Response) => {
      res.set('Allow', allowed);
      throw new GatewayError('method_not_allowed', `This path allows ${allowed}.`);
    });
  }
  app.use((req: Request) => {
    throw new GatewayError('route_not_found', `No route ${req.method} ${req.path}.`);
  });
  app.use(problems);
  // Every request enters by app.handle, whether the app is a server's listener or called directly: the hot routes first.
  const entry = app as unknown as ExpressEntry;
  const viaRouter = entry.handle.bind(app);
  entry.handle = (req, res, callback) => {
    if (!hot.serve(req, res)) viaRouter(req, res, callback);
  };
  return app;
}
