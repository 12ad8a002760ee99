import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { cliArgs } from '../helpers/cli-entry.ts';


export interface ChildGateway {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote, stdout (JSON log lines) and stderr together. */
  output(): string;
  /** Resolves when the output contains `needle` (already or later). */
  waitFor(needle: string): Promise<void>;
  exited: Promise<number | null>;
}

/** Runs `omgw start` as a child process (the real CLI, real signals) and waits until it listens. */
export async function spawnGateway(configDir: string, env: NodeJS.ProcessEnv): Promise<ChildGateway> {
  const child = spawn(process.execPath, [...cliArgs(), 'start', '--config', configDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const changes = new EventEmitter();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    changes.emit('data');
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // 'close' rather than 'exit': the output pipes are drained by then, so a process that dies at
  // start has said why.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  const waitFor = (needle: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!text.includes(needle)) return;
        changes.off('data', check);
        resolve();
      };
      changes.on('data', check);
      void exited.then((code) => {
        changes.off('data', check);
        if (!text.includes(needle)) reject(new Error(`gateway exited (${code ?? child.signalCode}) before printing "${needle}":\n${text}`));
      });
      check();
    });

  // The CLI's banner (the log line before it says what is bound, without a scheme).
  await waitFor('omgw listening on');
  const url = /omgw listening on (https?:\/\/[^\s]+)/.exec(text)?.[1];
  if (!url) throw new Error(`no URL in: ${text}`);
  return { child, url, output: () => text, waitFor, exited };
}
