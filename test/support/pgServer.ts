import { startPostgres } from '../../bench/postgresServer';

/**
 * `npm run pg:server`: a throw-away PostgreSQL server in the foreground, for
 * a developer's runs against one server (`MQGATE_TEST_PG_URL=… npm test`
 * starts none of its own). Ctrl-C stops it and removes its files.
 */
async function main(): Promise<void> {
  const server = await startPostgres();
  process.stdout.write(
    [
      `PostgreSQL ${server.url} (pid ${server.pid()}, files in ${server.dir})`,
      'In another terminal:',
      `  export MQGATE_TEST_PG_URL=${server.url}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stopping PostgreSQL failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`pg:server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
