/**
 * CPU time of the PostgreSQL server on this machine, from /proc: what each push costs the database
 * that every instance of a cluster shares. Linux only; a database on another machine has no process
 * here, and the caller then reports nothing.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux almost everywhere). */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

interface ProcStat {
  pid: number;
  comm: string;
  /** utime + stime: the process's own CPU. */
  own: number;
  /** cutime + cstime: its children's CPU, once it has waited for them. */
  children: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone since the directory was listed
  }
  // The command name is in parentheses and may hold spaces or parentheses: the fields follow the last ')'.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Fields from the 3rd (state) on; utime, stime, cutime, cstime are the 14th to 17th.
  const f = text.slice(close + 2).split(' ');
  const at = (field: number): number => Number(f[field - 3] ?? 0);
  return { pid, comm: text.slice(open + 1, close), own: at(14) + at(15), children: at(16) + at(17) };
}

function isPostgres(s: ProcStat): boolean {
  if (s.comm === 'postgres') return true;
  try {
    return readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').startsWith('postgres:');
  } catch {
    return false;
  }
}

export interface ServerCpu {
  /** Ticks of every postgres process: its own, plus what the postmaster collected from backends that exited. */
  ticks: number;
  processes: number;
}

/**
 * Every postgres process's utime+stime, plus cutime+cstime: a backend that exits (a connection
 * closed) is reaped by the postmaster, whose children's times then hold it, so a difference of two
 * readings counts the backends that came and went between them too. null: no postgres process.
 */
export function serverCpu(): ServerCpu | null {
  let ticks = 0;
  let processes = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s || !isPostgres(s)) continue;
    ticks += s.own + s.children;
    processes++;
  }
  return processes === 0 ? null : { ticks, processes };
}

/** utime+stime of the given processes (those still there). */
export function processTicks(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) out.set(pid, s.own);
  }
  return out;
}
