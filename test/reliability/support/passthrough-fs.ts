import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './push-client.ts';

const SCRIPT = fileURLToPath(new URL('./passthrough-fs.py', import.meta.url));
/** Debian's interpreter, where apt installs python3-fusepy (another python3 on the PATH may not see it). */
const PYTHON = '/usr/bin/python3';

/**
 * The FUSE pass-through of passthrough-fs.py: the files of `backing` served at `mountpoint`, each
 * backing file opened only for the length of one operation, so that `backing` can be remounted
 * read-only while a process keeps files on `mountpoint` open for writing (see the script).
 */
export class PassthroughFs {
  readonly #child: ChildProcess;
  readonly mountpoint: string;
  #output = '';
  readonly #exited: Promise<number | null>;

  private constructor(child: ChildProcess, mountpoint: string) {
    this.#child = child;
    this.mountpoint = mountpoint;
    this.#exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  }

  /** Mounts it; or the reason it cannot be mounted here (no python3-fusepy, no /dev/fuse, not allowed). */
  static async mount(backing: string, mountpoint: string): Promise<PassthroughFs | string> {
    try {
      execFileSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' });
    } catch {
      return `${PYTHON} cannot import fusepy (the Debian package python3-fusepy is not installed)`;
    }
    const child = spawn(PYTHON, [SCRIPT, backing, mountpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
    const fs = new PassthroughFs(child, mountpoint);
    // The script prints "mounted" from the file system's init, once the kernel has sent it FUSE_INIT.
    const up = await new Promise<true | string>((resolve) => {
      const timer = setTimeout(() => resolve(`the FUSE file system did not come up within 10 s: ${fs.#output.trim()}`), 10_000);
      const onData = (c: Buffer): void => {
        fs.#output += c.toString('utf8');
        if (/^mounted$/m.test(fs.#output)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void fs.#exited.then((code) => {
        clearTimeout(timer);
        resolve(`the FUSE file system could not be mounted (exit ${code}): ${fs.#output.trim()}`);
      });
    });
    if (up === true) return fs;
    child.kill('SIGKILL');
    try {
      execFileSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
    } catch {
      // it was not mounted
    }
    return up;
  }

  /** Unmounts it (every file on it must be closed by then) and waits for the server to exit. */
  async unmount(): Promise<void> {
    try {
      execFileSync('umount', [this.mountpoint], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', this.mountpoint], { stdio: 'ignore' });
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * `mount -o remount,<mode> dir`. Going read-only is refused (EBUSY) during the instant the
 * pass-through holds a backing file open for a write, so that is tried again until a deadline.
 */
export async function remount(dir: string, mode: 'ro' | 'rw'): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mount -o remount,${mode} ${dir}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
      await sleep(10);
    }
  }
}
