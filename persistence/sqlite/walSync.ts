import fs from 'node:fs';

/** Makes what is already written to a file durable, off the event loop. */
export interface FileSync {
  /** Resolves once everything written to the file before the call is on disk. */
  sync(): Promise<void>;
  close(): void;
}

/** fs.fsync's shape: how a FileSync asks the OS to make a descriptor's data durable. */
export type Fsync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;

/**
 * fsync of the database's write-ahead log, run on libuv's thread pool. The
 * connection commits with synchronous=NORMAL (frames written, not synced);
 * this sync is the one synchronous=FULL would run inside COMMIT, on the
 * event loop. Linux syncs a file's data whatever descriptor asks, so a
 * read-only descriptor of our own does it. The log keeps its inode while the
 * connection is open: SQLite rewinds and truncates it, never replaces it.
 * `fsync` is fs.fsync unless a test holds it, to see what waits for it. The
 * default looks fs.fsync up at each sync, so that a spy on it set after the
 * store opened still sees every call.
 */
export function walSync(walPath: string, fsync: Fsync = (fd, callback) => fs.fsync(fd, callback)): FileSync {
  const fd = fs.openSync(walPath, 'r');
  return {
    sync: () =>
      new Promise<void>((resolve, reject) => {
        fsync(fd, (error) => (error === null ? resolve() : reject(error)));
      }),
    close: () => fs.closeSync(fd),
  };
}
