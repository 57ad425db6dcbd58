import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqliteStore';
import { interpretError } from './interpretError';
import { type CallMessage, type ReplyMessage, reviveBuffers, serializeError } from './workerProtocol';

/**
 * The SQLite store on its own thread: the connection, its group commit and
 * every fsync live here, so the HTTP thread keeps parsing and answering while
 * a commit waits for the disk.
 */
const port = parentPort;
if (port === null) throw new Error('storeWorker must run as a worker thread');

const store = new SqliteStore(workerData as SqliteStoreOptions);
const reply = (message: ReplyMessage): void => port.postMessage(message);
store.onAvailable((queue) => reply({ kind: 'available', queue }));

port.on('message', ({ id, method, args }: CallMessage) => {
  const call =
    method === 'commitStats'
      ? Promise.resolve(store.commitStats)
      : (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, reviveBuffers(args) as unknown[]);
  call.then(
    (value) => {
      reply({ kind: 'result', id, value });
      if (method === 'close') port.close();
    },
    (error: unknown) => reply({ kind: 'error', id, error: serializeError(interpretError(error)) }),
  );
});
