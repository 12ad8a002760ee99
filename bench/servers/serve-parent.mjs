// The child side of bench/lib/child.ts for the servers under test, in plain JavaScript: they run
// with plain `node` (no TypeScript loader in the process, as `omgw start` runs from dist/), so their
// RSS and start-up are what production has. Same protocol as serveParent() in bench/lib/child.ts.

/**
 * @param {Record<string, unknown>} readyInfo
 * @param {Record<string, (args: unknown) => unknown>} handlers
 * @param {() => Promise<void> | void} onStop
 */
export function serveParent(readyInfo, handlers, onStop) {
  const send = (msg) => {
    if (process.connected) process.send?.(msg);
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await onStop();
    } finally {
      process.disconnect?.();
      process.exit(0);
    }
  };
  process.on('message', (m) => {
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
        (err) => send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  send({ type: 'ready', ...readyInfo });
}

/** @returns {any} the parameters the child was started with (JSON in argv[2]). */
export function childParams() {
  return JSON.parse(process.argv[2] ?? '{}');
}
