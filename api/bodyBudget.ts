import type { RequestHandler } from 'express';
import { GatewayError } from '../queue/errors';
import { hasJsonBody } from './jsonType';

/**
 * The memory request bodies take at once, across all connections: a body is
 * held from the moment it is read until its request is answered (a JSON one
 * counts three times its size, for its text while it is parsed).
 * Past `max`, a request is refused `503 overloaded` (with `Retry-After`)
 * without reading its body: one that declares its length is refused before
 * a byte is read, a chunked one as soon as its bytes would pass the budget.
 * Nothing it carried was stored, so the client can send it again.
 */
export class BodyBudget {
  private held = 0;

  constructor(readonly max: number) {}

  /** Bytes of bodies held now. */
  get bytes(): number {
    return this.held;
  }

  take(bytes: number): boolean {
    if (this.held + bytes > this.max) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }

  overloaded(): GatewayError {
    return new GatewayError('overloaded', `The gateway holds as many request bodies as it may (${this.max} bytes); nothing was done, send it again shortly.`);
  }
}

/**
 * What a body of `bytes` costs while it is parsed: a JSON body is held as
 * bytes, then as a string of twice as many (UTF-16) while JSON.parse reads it.
 */
const JSON_COST = 3;

/**
 * Runs right before an operation's body parser, so that it sees every chunk
 * the parser reads. `largest` is the most the parser reads: a longer declared
 * body is refused by the parser unread (413), so it takes nothing here.
 */
export function budgeted(budget: BodyBudget, largest: number): RequestHandler {
  return (req, res, next) => {
    const cost = hasJsonBody(req) ? JSON_COST : 1;
    let held = 0;
    res.once('close', () => budget.give(held));
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      const bytes = Number(declared) * cost;
      if (!(Number(declared) <= largest)) {
        next();
        return;
      }
      if (!budget.take(bytes)) {
        // The body is left unread: the connection goes with the answer.
        res.set('Connection', 'close');
        next(budget.overloaded());
        return;
      }
      held = bytes;
      next();
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) {
      next();
      return;
    }
    const count = (chunk: Buffer): void => {
      if (budget.take(chunk.length * cost)) {
        held += chunk.length * cost;
        return;
      }
      req.off('data', count);
      res.set('Connection', 'close');
      // The parser reading this stream fails with it, and its request is answered with this error.
      req.emit('error', budget.overloaded());
    };
    req.on('data', count);
    req.once('end', () => req.off('data', count));
    next();
  };
}
