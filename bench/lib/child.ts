/**
 * Child processes of the benchmark: every server under test, the load generator and the store
 * benchmarks run in their own Node process, so none shares an event loop with another. They talk to
 * the orchestrator over the IPC channel: a child sends `{ type: 'ready', ... }` once it is serving,
 * then answers `{ id, cmd, args }` requests with `{ id, ok, result | error }`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface ChildOptions {
  /** Where the child's stdout and stderr go (a file), or 'inherit'. */
  output: string | 'inherit';
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long the child may take to become ready. */
  readyTimeoutMs?: number;
}

export interface BenchChild {
  readonly pid: number;
  readonly ready: Record<string, unknown>;
  call<T>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop (cmd 'stop'), then waits for it to exit; kills it after a grace period. */
  stop(timeoutMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

interface Reply {
  id?: number;
  type?: string;
  ok?: boolean;
  result?: unknown;
  error?: string;
}

/**
 * Starts a child with its parameters as JSON in argv: `servers/<name>.mjs` (the servers under test,
 * plain node) or `children/<name>.ts` (the load generator and the store benchmarks, through tsx).
 */
export async function startChild(name: string, params: unknown, options: ChildOptions): Promise<BenchChild> {
  const plain = name.endsWith('.mjs');
  const script = plain ? `${BENCH_DIR}servers/${name}` : `${BENCH_DIR}children/${name}.ts`;
  const fd = options.output === 'inherit' ? null : openSync(options.output, 'a');
  const proc: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...(plain ? [] : ['--import', 'tsx']), script, JSON.stringify(params ?? {})],
    {
      stdio: ['ignore', fd ?? 'inherit', fd ?? 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    },
  );
  if (fd !== null) closeSync(fd);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`could not start ${name}`);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const tail = (): string => (options.output === 'inherit' ? '' : `\n--- ${options.output} (end) ---\n${readTail(options.output)}`);

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${options.readyTimeoutMs ?? 60_000} ms${tail()}`)), options.readyTimeoutMs ?? 60_000);
    const onMessage = (m: Reply): void => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        proc.off('message', onMessage);
        resolve(m as Record<string, unknown>);
      }
    };
    proc.on('message', onMessage);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${String(code)}) before it was ready${tail()}`));
    });
  });

  proc.on('message', (m: Reply) => {
    if (typeof m.id !== 'number') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
  });
  void exited.then((code) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${String(code)})${tail()}`));
    pending.clear();
  });

  const call = <T>(cmd: string, args?: unknown, timeoutMs = 600_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: ${cmd} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      proc.send({ id, cmd, args });
    });

  let stopping: Promise<void> | null = null;
  const stop = (timeoutMs = 30_000): Promise<void> => {
    stopping ??= (async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      try {
        if (proc.connected) proc.send({ id: 0, cmd: 'stop' });
        else proc.kill('SIGTERM');
      } catch {
        proc.kill('SIGTERM');
      }
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  return { pid, ready, call, stop, exited };
}

function readTail(file: string): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-3000);
  } catch {
    return '(no output)';
  }
}

/** The child side: announce readiness, answer commands, exit on 'stop' or when the parent goes away. */
export function serveParent(
  readyInfo: Record<string, unknown>,
  handlers: Record<string, (args: unknown) => unknown>,
  onStop: () => Promise<void> | void,
): void {
  const send = (msg: unknown): void => {
    if (process.connected) process.send?.(msg);
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await onStop();
    } finally {
      process.disconnect?.();
      process.exit(0);
    }
  };
  process.on('message', (m: { id: number; cmd: string; args?: unknown }) => {
    if (m.cmd === 'stop') {
      void stop();
      return;
    }
    const handler = handlers[m.cmd];
    if (!handler) {
      send({ id: m.id, ok: false, error: `unknown command ${m.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(m.args))
      .then(
        (result) => send({ id: m.id, ok: true, result }),
        (err: unknown) => send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  send({ type: 'ready', ...readyInfo });
}

/** The parameters a child was started with. */
export function childParams<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

/** Resident set size of a process in bytes (Linux /proc), or null where it cannot be read. */
export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak and the last sample. */
export function sampleRss(pid: number, everyMs = 250): { stop(): { peak: number | null; last: number | null; samples: number } } {
  let peak: number | null = null;
  let last: number | null = null;
  let samples = 0;
  const take = (): void => {
    const v = rssOf(pid);
    if (v === null) return;
    samples++;
    last = v;
    peak = peak === null ? v : Math.max(peak, v);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { peak, last, samples };
    },
  };
}
