import type { Request } from 'express';
import { admit, EVERYONE, Principal } from '../auth';
import type { Handler } from '../handler';
import { toGatewayError } from '../problem';
import { requestSignal } from '../requestSignal';
import type { SqsAction, SqsDeps } from './context';
import { fromGatewayError, SQS_ERRORS, SqsError } from './errors';
import { moveTaskActions } from './moveTasks';
import { actionOf, Input, sendError, sendResult } from './protocol';
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

/** The raw body: only application/x-amz-json-1.0 is read, as bytes (api/app.ts refuses other types); none is `{}`. */
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
 * operationId sqsRequest: one SQS action (AWS JSON 1.0). Authenticates the
 * signature over the raw body, admits the caller within its rates, runs the
 * action named by X-Amz-Target, and answers as SQS does — errors included,
 * which never leave as problem+json.
 */
export function sqsEndpoint(deps: SqsDeps): Handler {
  const actions: Record<string, SqsAction> = {
    ...queueActions(deps),
    ...sendActions(deps),
    ...receiveActions(deps),
    ...moveTaskActions(deps),
  };
  return async (req, res) => {
    try {
      const body = bodyOf(req);
      const principal = authenticate(req, body, deps);
      res.locals.principal = principal;
      admit(principal, deps.auth.rates, res);
      const name = actionOf(req.get('X-Amz-Target'));
      const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
      if (action === undefined) throw new SqsError('UnsupportedOperation', `mqgate does not support the action ${name}.`);
      const result = await action({
        input: Input.parse(body),
        principal,
        origin: `${req.protocol}://${req.get('Host') ?? 'localhost'}`,
        // Built only for the action that waits (ReceiveMessage): it hooks the response and the shutdown.
        get signal() {
          return requestSignal(res, deps.shutdown);
        },
      });
      sendResult(res, result);
    } catch (error) {
      sendError(res, toSqsError(error, deps.onInternalError));
    }
  };
}
