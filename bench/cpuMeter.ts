import fs from 'node:fs';
import type { LoopRun } from './loops';

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU time a process has used, in microseconds (Linux /proc). */
function processCpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The name (field 2) may hold spaces; utime and stime are fields 14 and 15, the 12th and 13th after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

export interface CpuUse {
  /** Server CPU per message handled, µs. */
  serverPerMessage: number;
  /** The load generator's (this process's) CPU per message handled, µs. */
  clientPerMessage: number;
  /** Share of one core the server used while measured (1 = a whole core). */
  serverCores: number;
  /** Share of one core the load generator used while measured. */
  clientCores: number;
}

/**
 * What the server (process `pid`) and the load generator spent on the CPU
 * during the runs it was given, summed over them: which of the two
 * a rate was bound by, and what a message costs each of them. (The steps
 * still in flight when a run's time is up are in the CPU times, not in the
 * messages: 16 requests in thousands.)
 */
export class CpuMeter {
  private server = 0;
  private client = 0;
  private messages = 0;
  private seconds = 0;

  constructor(private readonly pid: number) {}

  async during(run: () => Promise<LoopRun>): Promise<LoopRun> {
    const server = processCpuMicros(this.pid);
    const client = process.cpuUsage();
    const result = await run();
    const used = process.cpuUsage(client);
    this.server += processCpuMicros(this.pid) - server;
    this.client += used.user + used.system;
    this.messages += result.handled;
    this.seconds += result.seconds;
    return result;
  }

  use(): CpuUse {
    const micros = this.seconds * 1e6;
    return {
      serverPerMessage: this.server / this.messages,
      clientPerMessage: this.client / this.messages,
      serverCores: this.server / micros,
      clientCores: this.client / micros,
    };
  }
}
