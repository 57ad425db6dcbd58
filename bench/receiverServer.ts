import { startReceiver } from './receiver';

/**
 * The receiver of the push throughput scenario as a process of its own, so
 * that it has a core to itself while the gateway (or the baseline's client in
 * the bench process) sends: it only counts, and GET /count tells the bench
 * how many deliveries arrived. Runs like the other child servers (prints its
 * URL, exits 0 on SIGTERM).
 */
async function main(): Promise<void> {
  const receiver = await startReceiver(() => undefined);
  process.stdout.write(`push receiver listening on ${receiver.url}\n`);
  process.on('SIGTERM', () => {
    void receiver.close().then(() => process.exit(0));
  });
}

void main();
