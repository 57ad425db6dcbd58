import type { Request } from 'express';
import { admit, EVERYONE, Principal } from '../auth';
import type { Handler } from '../handler';
import { toGatewayError } from '../problem';
import { requestSignal } from '../requestSignal';
import type { SqsAction, SqsDeps } from './context';
import { fromGatewayError, SQS_ERRORS, SqsError } from './errors';
import { moveTaskActions } from './moveTasks';
import { permissionActions } from './permissions';
import { jsonProtocol, type SqsProtocol } from './protocol';
import { QUERY_CONTENT_TYPE, queryProtocol } from './query';
import { queueActions } from './queueActions';
import { receiveActions } from './receiveActions';
import { sendActions } from './sendActions';
import { verifySigV4 } from './sigv4';

/**
 * Who signed the request. With no keys the gateway is open (on loopback
 * only), and any credentials will do, as for /v1. With keys, the access key
 * id names a key, and the signature must verify with that key's SQS secret.
 */
function authenticate(req: Request, body: Buffer, deps: SqsDeps): Principal {
  const { keys } = deps.auth;
  if (keys.empty) return EVERYONE;
  const query = req.originalUrl.indexOf('?');
  const key = verifySigV4(
    {
      method: req.method,
      path: query < 0 ? req.originalUrl : req.originalUrl.slice(0, query),
      query: query < 0 ? '' : req.originalUrl.slice(query + 1),
      headers: req.headers,
      body,
    },
    (accessKeyId) => keys.signingKey(accessKeyId),
    deps.wallClock(),
  );
  return new Principal(key);
}

/** The raw body: only the two protocols' types are read, as bytes (api/app.ts refuses other types). */
function bodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** Any failure as the SQS error a client sees. */
function toSqsError(error: unknown, onInternalError: SqsDeps['onInternalError']): SqsError {
  if (error instanceof SqsError) return error;
  const gatewayError = toGatewayError(error);
  const sqsError = fromGatewayError(gatewayError);
  // As problemMiddleware does for /v1: whatever the server (not the client) caused goes to the log.
  if (SQS_ERRORS[sqsError.sqsName].status >= 500) onInternalError(gatewayError);
  return sqsError;
}

/**
 * The protocol a request speaks, by its content type: JSON 1.0's own, or a
 * form (the query protocol). A request without a body is JSON 1.0 when it
 * names its action in X-Amz-Target, and otherwise the query protocol with its
 * members in the query string (a presigned URL).
 */
function protocolOf(req: Request, body: Buffer): SqsProtocol {
  if (body.length > 0) return req.is(QUERY_CONTENT_TYPE) === false ? jsonProtocol : queryProtocol;
  return req.get('X-Amz-Target') === undefined ? queryProtocol : jsonProtocol;
}

/**
 * operationIds sqsRequest and sqsQueueRequest: one SQS action, in either
 * protocol. Authenticates the signature over the raw body, admits the caller
 * within its rates, runs the action the request names, and answers as SQS
 * does — errors included, which never leave as problem+json. A request sent
 * to a queue's URL (as older SDKs send them) is about that queue when its
 * members name no QueueUrl.
 */
export function sqsEndpoint(deps: SqsDeps): Handler {
  const actions: Record<string, SqsAction> = {
    ...queueActions(deps),
    ...sendActions(deps),
    ...receiveActions(deps),
    ...moveTaskActions(deps),
    ...permissionActions(deps),
  };
  return async (req, res) => {
    const body = bodyOf(req);
    const protocol = protocolOf(req, body);
    try {
      const principal = authenticate(req, body, deps);
      res.locals.principal = principal;
      admit(principal, deps.auth.rates, res);
      const { action: name, input } = protocol.read(req, body);
      const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
      if (action === undefined) throw new SqsError('UnsupportedOperation', `mqgate does not support the action ${name}.`);
      const result = await action({
        // The path alone names the queue, as a bare QueueUrl does.
        input: typeof req.params.queue === 'string' ? input.withQueueUrl(req.path) : input,
        principal,
        origin: `${req.protocol}://${req.get('Host') ?? 'localhost'}`,
        // Built only for the action that waits (ReceiveMessage): it hooks the response and the shutdown.
        get signal() {
          return requestSignal(res, deps.shutdown);
        },
      });
      protocol.answer(res, name, result);
    } catch (error) {
      protocol.fail(res, toSqsError(error, deps.onInternalError));
    }
  };
}
