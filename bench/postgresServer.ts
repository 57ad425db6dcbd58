import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, escapeIdentifier } from 'pg';

/**
 * A throw-away PostgreSQL server: its own cluster in a fresh temp dir, on a
 * free loopback port, trusted without a password, gone once stopped. The
 * tests of the PostgreSQL backend get one for the whole jest run
 * (test/globalSetup.ts); `npm run pg:server` starts one for a developer;
 * `npm run bench` one for its PostgreSQL scenarios (bench/backend.ts). It
 * lives in bench/ because the build (tsconfig.build.json, the Dockerfile's
 * too) compiles bench/ and not test/. `startReplicatedPostgres` starts a
 * primary with a synchronous standby, for failover tests.
 *
 * The server is started through `setpriv --pdeathsig INT`, which execs it in
 * place: its parent is this node process, and when this process dies however
 * it dies (Ctrl-C, SIGKILL, a crash) the kernel sends the server SIGINT, its
 * fast shutdown. So an aborted run leaves no server behind; it leaves its
 * temp dir, which the next start removes (`removeAbandoned`). As root,
 * setpriv also switches to the unprivileged `postgres` user first (the server
 * refuses to run as root); unlike `runuser`, which forks and stays in
 * between, it leaves no process in between that would take the parent's place.
 */

/** The superuser initdb makes, and the database the URL names. */
const SUPERUSER = 'postgres';
const DATABASE = 'mqgate';
/** The temp dirs' prefix: what `removeAbandoned` looks for. */
const DIR_PREFIX = 'mqgate-pg-';
/** The pid of the process that made the dir: while it lives, the dir is in use. */
const OWNER_FILE = 'owner.pid';
/** Crash recovery after `crash()` replays the WAL before the server takes connections. */
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;
/** The programs of the server's bin directory used here. */
const PROGRAMS = ['initdb', 'postgres', 'pg_isready', 'createdb', 'pg_basebackup', 'pg_ctl'];
/** Where Debian installs each major version's server (`/usr/lib/postgresql/15/bin`). */
const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * Settings for a test machine of 2 cores. Durability as in production
 * (fsync, synchronous commit, full page writes): the backend's crash tests
 * need it real. The rest keeps the server small: 200 connections, so that
 * several test files with pools of their own fit at once; shared_buffers at
 * PostgreSQL's modest default; no parallel query, whose workers would only
 * compete for the 2 cores on test-sized tables; no JIT, whose compiling costs
 * more than it saves on short queries.
 */
const SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_connections: '200',
  shared_buffers: '128MB',
  max_parallel_workers_per_gather: '0',
  jit: 'off',
};

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/mqgate */
  url: string;
  port: number;
  /** The temp dir: the cluster, the unix socket, the server's log. */
  dir: string;
  /** The cluster (initdb's directory), inside `dir`. */
  dataDir: string;
  /** What the server wrote to stderr, every start appended. */
  logFile: string;
  /** The postmaster's pid while it runs; null after `crash()` or `stop()`. */
  pid(): number | null;
  /** Fast shutdown (sessions end, a checkpoint is written), then the dir is removed. Idempotent. */
  stop(): Promise<void>;
  /**
   * Immediate shutdown, as `pg_ctl stop -m immediate` does it (SIGQUIT to the
   * postmaster): every process quits at once, without a checkpoint, so the
   * next start recovers from the WAL as after a crash.
   */
  crash(): Promise<void>;
  /**
   * SIGKILL of the postmaster, as a machine's death would end it: no
   * shutdown at all; its other processes quit as they notice. For failovers:
   * `restart()` after it is not supported.
   */
  kill(): Promise<void>;
  /** Starts the server again on the same cluster and port after `crash()`, once it takes connections. */
  restart(): Promise<void>;
}

/** The bin directory with the server's programs: `pg_config --bindir`, else Debian's newest; null when not installed. */
export function findServerBinaries(): string | null {
  const candidates: string[] = [];
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  // Debian's pg_config comes with libpq-dev and names the bin dir even when no server is installed: checked below.
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  if (fs.existsSync(DEBIAN_ROOT)) {
    const versions = fs
      .readdirSync(DEBIAN_ROOT)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(DEBIAN_ROOT, version, 'bin')));
  }
  return candidates.find((dir) => PROGRAMS.every((program) => isExecutable(path.join(dir, program)))) ?? null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process exists (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid on the first line of a pid file; null when there is none. */
function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0], 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Removes the temp dirs of servers whose starting process is gone and whose
 * postmaster is not running: what a killed run leaves (its server shut
 * itself down when its parent died). A dir without an owner file yet is being
 * made by another start, and stays.
 */
export function removeAbandoned(tmp = os.tmpdir()): void {
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, name);
    const owner = readPid(path.join(dir, OWNER_FILE));
    const postmaster = readPid(path.join(dir, 'data', 'postmaster.pid'));
    if (owner === null || alive(owner) || (postmaster !== null && alive(postmaster))) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The account the server runs as when this process is root: the Debian package's `postgres` user. */
function serverAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => {
    try {
      return Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8' }).trim());
    } catch (error) {
      throw new Error(`PostgreSQL refuses to run as root, and there is no '${SUPERUSER}' user to run it as`, { cause: error });
    }
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** The server's programs run as the server's account, and without the caller's PG* variables (PGDATA, PGPORT, …). */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG')));
}

/** Asks the OS for a free loopback port: listens on port 0, notes the port, lets it go. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs a program to its end; resolves with its exit code and what it printed. */
function run(file: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

async function runOrThrow(file: string, args: string[], cwd: string): Promise<void> {
  const { code, output } = await run(file, args, cwd);
  if (code !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} failed (${code}):\n${output}`);
}

function logTail(logFile: string): string {
  try {
    return fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a server program as the server's account when this process is root; `pdeathsig`: sent SIGINT when this process dies. */
type ServerProgram = (pdeathsig: boolean, program: string, args: string[]) => [string, string[]];

/** What a server is started from: its programs, the account it runs as, a temp dir of its own. */
interface ServerPlace {
  bin: string;
  asServer: ServerProgram;
  dir: string;
  dataDir: string;
  logFile: string;
}

/**
 * A fresh temp dir for one server, owned by its account. setpriv execs the
 * program in place: as root after switching user, and with the
 * parent-death signal when asked.
 */
function makePlace(): ServerPlace {
  const bin = findServerBinaries();
  if (bin === null) throw new Error("PostgreSQL's server programs (initdb, postgres) are not installed: apt-get install postgresql");
  removeAbandoned();
  const account = serverAccount();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  fs.chmodSync(dir, 0o700);
  if (account !== null) fs.chownSync(dir, account.uid, account.gid);
  const asServer: ServerProgram = (pdeathsig, program, args) => [
    'setpriv',
    [
      ...(account === null ? [] : [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups']),
      ...(pdeathsig ? ['--pdeathsig', 'INT'] : []),
      '--',
      path.join(bin, program),
      ...args,
    ],
  ];
  return { bin, asServer, dir, dataDir: path.join(dir, 'data'), logFile: path.join(dir, 'server.log') };
}

/** Removes a server's temp dir; a few tries, for a killed server's processes may still be writing as they notice and quit. */
function removePlace(place: ServerPlace): void {
  fs.rmSync(place.dir, { recursive: true, force: true, maxRetries: 5 });
}

/** Fills the place with a fresh cluster; the place is removed when that fails. */
async function initCluster(place: ServerPlace): Promise<void> {
  try {
    // --no-sync: a cluster that is thrown away need not survive a power loss while it is being made; the server itself runs with fsync on.
    await runOrThrow(
      ...place.asServer(false, 'initdb', [
        '--pgdata',
        place.dataDir,
        '--username',
        SUPERUSER,
        '--auth',
        'trust',
        '--encoding',
        'UTF8',
        '--locale',
        'C',
        '--no-sync',
        '--no-instructions',
      ]),
      place.dir,
    );
  } catch (error) {
    removePlace(place);
    throw error;
  }
}

/**
 * Runs the cluster of `place` on a free port with `settings` (SETTINGS and
 * the extra ones given), and resolves once it takes connections. The server
 * it resolves with can be stopped, crashed, killed and restarted.
 */
async function serve(place: ServerPlace, extraSettings: Record<string, string>): Promise<PostgresServer> {
  const { bin, asServer, dir, dataDir, logFile } = place;
  const port = await freePort();
  const settings = Object.entries({ ...SETTINGS, ...extraSettings, listen_addresses: '127.0.0.1', port: String(port), unix_socket_directories: dir });
  const serverArgs = ['-D', dataDir, ...settings.flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  let running: { process: ChildProcess; exited: Promise<string> } | null = null;

  const launch = async (): Promise<void> => {
    const log = fs.openSync(logFile, 'a');
    const [file, args] = asServer(true, 'postgres', serverArgs);
    const started = spawn(file, args, { cwd: dir, env: serverEnv(), stdio: ['ignore', log, log] });
    fs.closeSync(log);
    let exit: string | null = null;
    const exited = new Promise<string>((resolve) => {
      const ended = (how: string): void => {
        exit ??= how;
        if (running?.process === started) running = null;
        resolve(exit);
      };
      started.once('exit', (code, signal) => ended(signal ?? `exit code ${code}`));
      // A program that cannot be run at all (no setpriv) ends here, not with 'exit'.
      started.once('error', (error) => ended(error.message));
    });
    running = { process: started, exited };
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const probe = await run(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, '-d', 'postgres'], dir);
      if (probe.code === 0) return;
      if (exit !== null) throw new Error(`PostgreSQL exited (${exit}) before taking connections; its log:\n${logTail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`PostgreSQL took no connections within ${READY_TIMEOUT_MS} ms; its log:\n${logTail(logFile)}`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  };

  /** Sends the postmaster a signal and waits for it to exit: SIGINT is its fast shutdown, SIGQUIT its immediate one, SIGKILL no shutdown at all. */
  const shutDown = async (signal: NodeJS.Signals): Promise<void> => {
    const server = running;
    if (server === null) return;
    server.process.kill(signal);
    await server.exited;
  };

  const stop = async (): Promise<void> => {
    await shutDown('SIGINT');
    removePlace(place);
  };

  try {
    await launch();
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`,
    port,
    dir,
    dataDir,
    logFile,
    pid: () => running?.process.pid ?? null,
    stop,
    crash: () => shutDown('SIGQUIT'),
    kill: () => shutDown('SIGKILL'),
    restart: async () => {
      if (running !== null) throw new Error('the server is running: crash() it first');
      await launch();
    },
  };
}

/** Starts a throw-away server and resolves once it takes connections and has its database. */
export async function startPostgres(extraSettings: Record<string, string> = {}): Promise<PostgresServer> {
  const place = makePlace();
  await initCluster(place);
  const server = await serve(place, extraSettings);
  try {
    await runOrThrow(path.join(place.bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(server.port), '-U', SUPERUSER, DATABASE], place.dir);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------- a primary and its synchronous standby

/** The standby's name: its `application_name` on the primary, which `synchronous_standby_names` names. */
const STANDBY_NAME = 'standby1';

/**
 * What a primary with a standby needs beyond SETTINGS: WAL that a standby
 * can replay, and senders to stream it. initdb's pg_hba.conf (made with
 * `--auth trust`) already trusts replication connections from 127.0.0.1.
 */
const PRIMARY_SETTINGS: Record<string, string> = { wal_level: 'replica', max_wal_senders: '4' };

export interface StandbyServer extends PostgresServer {
  /** `pg_ctl promote`: the standby ends its recovery and takes writes; resolves once it does. */
  promote(): Promise<void>;
}

export interface ReplicatedPostgres {
  primary: PostgresServer;
  standby: StandbyServer;
  /**
   * Both servers in one URL, the primary first, libpq's way, asking for the
   * one that takes writes: postgres://postgres@127.0.0.1:P1,127.0.0.1:P2/<database>?target_session_attrs=read-write
   */
  url(database?: string): string;
  /** Stops both (a killed primary is only removed). */
  stop(): Promise<void>;
}

/** Polls `query` on the server at `url` until its first row's first value is `expected`; fails after READY_TIMEOUT_MS. */
async function waitFor(url: string, query: string, values: unknown[], expected: unknown, what: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const { rows } = await client.query<Record<string, unknown>>(query, values);
      if (rows.length > 0 && Object.values(rows[0])[0] === expected) return;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  } finally {
    await client.end();
  }
}

/**
 * A standby of `primary`: its cluster copied by `pg_basebackup -R` (which
 * leaves standby.signal, so the server starts in recovery), streaming from
 * the primary under STANDBY_NAME, on a port of its own.
 */
async function startStandby(primary: PostgresServer): Promise<StandbyServer> {
  const place = makePlace();
  const source = `host=127.0.0.1 port=${primary.port} user=${SUPERUSER} application_name=${STANDBY_NAME}`;
  try {
    // --no-sync as initdb's; --checkpoint=fast: the copy starts at once instead of at the primary's next checkpoint.
    await runOrThrow(
      ...place.asServer(false, 'pg_basebackup', ['--dbname', source, '--pgdata', place.dataDir, '-R', '--checkpoint=fast', '--no-sync']),
      place.dir,
    );
  } catch (error) {
    removePlace(place);
    throw error;
  }
  // The connection given here, not the one -R wrote: it names the standby, and no password file of the calling user.
  const server = await serve(place, { primary_conninfo: source, hot_standby: 'on' });
  return {
    ...server,
    promote: () => runOrThrow(...place.asServer(false, 'pg_ctl', ['promote', '--wait', '--pgdata', place.dataDir]), place.dir),
  };
}

/**
 * A primary and a synchronous standby, both throw-away: once the standby
 * streams, the primary's `synchronous_standby_names` names it, so that every
 * commit the primary acknowledges (`synchronous_commit = on`) is on the
 * standby's disk too, and survives the primary's death. The setting is
 * made with ALTER SYSTEM on the primary after the standby was copied: a
 * promoted standby then waits for no standby of its own.
 */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const primary = await startPostgres(PRIMARY_SETTINGS);
  let standby: StandbyServer | null = null;
  try {
    standby = await startStandby(primary);
    await onServer(primary.url, `ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAME}'`);
    await onServer(primary.url, 'SELECT pg_reload_conf()');
    await waitFor(primary.url, 'SELECT sync_state FROM pg_stat_replication WHERE application_name = $1', [STANDBY_NAME], 'sync', 'the standby streaming as synchronous');
  } catch (error) {
    await Promise.all([primary.stop(), standby?.stop()]);
    throw error;
  }
  const { port: standbyPort } = standby;
  const servers = [primary, standby];
  return {
    primary,
    standby,
    url: (database = DATABASE) => `postgres://${SUPERUSER}@127.0.0.1:${primary.port},127.0.0.1:${standbyPort}/${database}?target_session_attrs=read-write`,
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

/** A database made for one user of a server: a test file, a gateway under bench. */
export interface Database {
  url: string;
  name: string;
  /** Drops the database, ending whatever sessions are still on it. */
  drop(): Promise<void>;
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** A fresh, empty database with a random name starting `prefix` on the server at `serverUrl`. */
export async function createDatabase(serverUrl: string, prefix: string): Promise<Database> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${escapeIdentifier(name)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`) };
}
