import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setPriority } from 'node:os';

/**
 * Times GET /healthz from a process of its own, over one kept-alive connection, so that what is
 * measured is the gateway's answer and not this test process being busy sending a flood.
 */
const SCRIPT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = process.argv[1];
let stopping = false;
process.stdin.on('data', () => { stopping = true; });
function probe() {
  const started = process.hrtime.bigint();
  http.get(url, { agent }, (res) => {
    res.resume();
    res.on('end', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      process.stdout.write((res.statusCode === 200 ? ms.toFixed(1) : 'fail') + '\\n');
      if (stopping) { agent.destroy(); process.exit(0); }
      setTimeout(probe, 5);
    });
  }).on('error', () => { process.stdout.write('fail\\n'); setTimeout(probe, 5); });
}
probe();
`;

export class HealthProbe {
  readonly #child: ChildProcess;
  #out = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout?.on('data', (c: Buffer) => (this.#out += c.toString('utf8')));
  }

  /** Starts probing and resolves after the first answer (the connection is then open and warm). */
  static async start(healthUrl: string): Promise<HealthProbe> {
    const child = spawn(process.execPath, ['-e', SCRIPT, healthUrl], { stdio: ['pipe', 'pipe', 'inherit'] });
    // The probe is the instrument, not the subject: on a busy machine it should not add its own wait
    // for a turn on a CPU to what it measures. Raising its priority needs root; without, it runs as is.
    try {
      if (child.pid !== undefined) setPriority(child.pid, -10);
    } catch {
      // not permitted here: measured at normal priority
    }
    const probe = new HealthProbe(child);
    while (!probe.#out.includes('\n')) await once(child.stdout as NodeJS.ReadableStream, 'data');
    probe.#out = '';
    return probe;
  }

  /** Stops after one more answer; resolves with every time measured since start (ms; Infinity for a failure). */
  async stop(): Promise<number[]> {
    const exited = once(this.#child, 'exit');
    this.#child.stdin?.end('stop\n');
    await exited;
    return this.#out
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (line === 'fail' ? Infinity : Number(line)));
  }
}
