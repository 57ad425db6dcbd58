import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * Baseline of scenario (a): the least an express app does for a produce —
 * parse the same JSON body with express.json and answer 201 — configured like
 * the gateway's app (no x-powered-by, no ETag) and run the same way (own
 * process, port 0, URL printed).
 */
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/v1/queues/:queue/messages', express.json({ limit: '10mb' }), (req, res) => {
  // Answering with the message count proves the body was parsed, not just read.
  const { messages } = req.body as { messages: unknown[] };
  res.status(201).json({ received: messages.length });
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`baseline listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
