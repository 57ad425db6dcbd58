import fs from 'node:fs';

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU time (user plus system) some processes have used so far, in microseconds. */
export type CpuClock = () => number;

/** What /proc/<pid>/stat says of a process's CPU time (or a thread's stat of the thread's), in microseconds. */
interface ProcessTimes {
  parent: number;
  /** utime + stime: its own. */
  own: number;
  /** cutime + cstime: its children's that ended and that it waited for, theirs included. */
  endedChildren: number;
}

/** The times in `file`, a process's /proc/<pid>/stat or a thread's /proc/<pid>/task/<tid>/stat; null once it is gone. */
function statTimes(file: string): ProcessTimes | null {
  let stat: string;
  try {
    stat = fs.readFileSync(file, 'utf8');
  } catch {
    // Ended between the listing of /proc and this read.
    return null;
  }
  // The name (field 2) may hold spaces; after it come state (3), ppid (4), …, utime, stime, cutime, cstime (14–17).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const micros = (...indexes: number[]): number => (indexes.reduce((sum, index) => sum + Number(fields[index]), 0) * 1e6) / TICKS_PER_SECOND;
  return { parent: Number(fields[1]), own: micros(11, 12), endedChildren: micros(13, 14) };
}

function processTimes(pid: number): ProcessTimes | null {
  return statTimes(`/proc/${pid}/stat`);
}

/** The own CPU time that `file` (statTimes) gives, of process `pid` or one of its threads. */
function statClock(pid: number, file: string): CpuClock {
  return () => {
    const times = statTimes(file);
    if (times === null) throw new Error(`process ${pid} is gone`);
    return times.own;
  };
}

/** Process `pid`'s own CPU time (Linux /proc). */
export function processClock(pid: number): CpuClock {
  return statClock(pid, `/proc/${pid}/stat`);
}

/**
 * The CPU time of process `pid`'s main thread alone (its thread id is the
 * process's): for Node, the event loop's, without the thread pool's and the
 * worker threads'.
 */
export function mainThreadClock(pid: number): CpuClock {
  return statClock(pid, `/proc/${pid}/task/${pid}/stat`);
}

/**
 * The CPU time of process `root` and of every process under it, those that
 * have ended included: for a server that forks a process per connection and
 * for its work (PostgreSQL's postmaster). A child that ends and is waited for
 * moves its time into its parent's cutime and cstime, so their sum over the
 * tree only grows, whichever children came and went between two readings.
 */
export function processTreeClock(root: number): CpuClock {
  return () => {
    const children = new Map<number, number[]>();
    const times = new Map<number, ProcessTimes>();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const read = processTimes(pid);
      if (read === null) continue;
      times.set(pid, read);
      const siblings = children.get(read.parent);
      if (siblings === undefined) children.set(read.parent, [pid]);
      else siblings.push(pid);
    }
    if (!times.has(root)) throw new Error(`process ${root} is gone`);
    let micros = 0;
    const pending = [root];
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      const read = times.get(pid);
      if (read !== undefined) micros += read.own + read.endedChildren;
      pending.push(...(children.get(pid) ?? []));
    }
    return micros;
  };
}

/** This process's CPU time: the load generator's, or an in-process gateway's. */
export const ownClock: CpuClock = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** What a measured run did: messages handled, in how many seconds. */
export interface Counted {
  handled: number;
  seconds: number;
}

/** Wraps the measured part of a side's run (what the rate is taken over, not its unmeasured top-ups). */
export interface Meter {
  during<T extends Counted>(run: () => Promise<T>): Promise<T>;
}

/** The meter of a side nobody asked the CPU of. */
export const unmetered: Meter = { during: (run) => run() };

/** One clock's CPU time per message handled and share of a core while measured. */
export interface CpuShare {
  /** µs per message. */
  perMessage: number;
  /** 1 = a whole core. */
  cores: number;
}

/** CPU time per clock over some runs, and the messages and seconds of those runs. */
interface Tally<Name extends string> {
  used: Map<Name, number>;
  messages: number;
  seconds: number;
}

function shareOf<Name extends string>(tally: Tally<Name>, name: Name): CpuShare {
  const micros = tally.used.get(name) ?? 0;
  return { perMessage: micros / tally.messages, cores: micros / (tally.seconds * 1e6) };
}

/**
 * What the processes behind each of `clocks` spent on the CPU during the runs
 * it was given, summed over them and for the latest alone: which process a
 * rate was bound by, and what a message costs each. (The steps still in
 * flight when a run's time is up are in the CPU times, not in the messages:
 * 16 requests in thousands.)
 */
export class CpuMeter<Name extends string> implements Meter {
  private readonly total: Tally<Name> = { used: new Map(), messages: 0, seconds: 0 };
  private last: Tally<Name> | null = null;

  constructor(private readonly clocks: Record<Name, CpuClock>) {}

  async during<T extends Counted>(run: () => Promise<T>): Promise<T> {
    const names = Object.keys(this.clocks) as Name[];
    const before = names.map((name) => this.clocks[name]());
    const result = await run();
    const used = new Map(names.map((name, index) => [name, this.clocks[name]() - before[index]]));
    for (const [name, micros] of used) this.total.used.set(name, (this.total.used.get(name) ?? 0) + micros);
    this.total.messages += result.handled;
    this.total.seconds += result.seconds;
    this.last = { used, messages: result.handled, seconds: result.seconds };
    return result;
  }

  /** Over every run. */
  use(name: Name): CpuShare {
    return shareOf(this.total, name);
  }

  /** Over the latest run alone: a side's figure for one round. */
  latest(name: Name): CpuShare {
    if (this.last === null) throw new Error('no run metered yet');
    return shareOf(this.last, name);
  }
}
