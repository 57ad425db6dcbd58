import type { AddressInfo } from 'node:net';
import { createSqsServer } from 'local-aws-sqs';

/**
 * The baseline of scenario (i): local-aws-sqs, an in-memory SQS emulator, in
 * its own process so that it has a core to itself as the gateway does.
 * Prints the line withChildServer waits for; SIGTERM stops it.
 */
async function main(): Promise<void> {
  // No 60 s lock between deleting and recreating a queue: SQS has one, a bench does not want it.
  const server = await createSqsServer({ port: 0, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

void main();
