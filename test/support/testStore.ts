import { SqliteStore } from '../../persistence/sqlite/sqliteStore';
import type { Fsync } from '../../persistence/sqlite/walSync';
import type { Store } from '../../persistence/store';
import { rules } from '../../queue/rules';

export interface TestStoreOptions {
  /** Where the data is: reopening the same place finds the same data. */
  dataDir: string;
  /** Cap on the database file, to run out of space on purpose. */
  maxStorageBytes?: number;
  /** The store's fsync of its log (default: fs.fsync); a test holds it to see what waits for it. */
  fsync?: Fsync;
  /** Told of each commit's duration and size (the gateway's metrics). */
  onCommit?: (seconds: number, operations: number) => void;
}

/** The store a test gateway runs on, opened as the gateway opens it (with queue/'s rules). */
export function openTestStore(options: TestStoreOptions): Store {
  return new SqliteStore({
    dataDir: options.dataDir,
    synchronous: 'FULL',
    maxDatabaseBytes: options.maxStorageBytes,
    fsync: options.fsync,
    onCommit: options.onCommit,
    rules,
  });
}

/** The SQLite store under a test gateway, for the tests of what only SQLite does (group commit, its files). */
export function sqliteStoreOf(gateway: { store: Store }): SqliteStore {
  if (!(gateway.store instanceof SqliteStore)) throw new Error('This test is about the SQLite backend; the gateway runs on another.');
  return gateway.store;
}
