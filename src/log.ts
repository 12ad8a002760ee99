import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear. */
const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
];

/**
 * Creates the process logger: one JSON line per entry. Besides key-based redaction, every line is
 * scrubbed of the configured secret values themselves, so a secret that slips into a message or an
 * error text is still not written.
 */
export function createLogger(options: {
  level: LevelWithSilent;
  secrets: () => readonly string[];
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'omgw' },
      redact: { paths: REDACT_PATHS, censor: '***' },
      hooks: {
        streamWrite: (line: string) => scrubSecrets(line, options.secrets()),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Replaces each secret (and its JSON-escaped form) with ***. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue; // too short to search for without destroying ordinary text
    out = out.split(secret).join('***');
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.split(escaped).join('***');
  }
  return out;
}
