import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { scrubberFor } from './domain/secrets-scrub.ts';

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
 * scrubbed of the configured secret values themselves, in every form a target may echo them
 * (src/domain/secrets-scrub.ts, the same rule as for what the store keeps), so a secret that slips
 * into a message or an error text is still not written.
 */
export function createLogger(options: {
  level: LevelWithSilent;
  secrets: () => readonly string[];
  destination?: DestinationStream;
  /** The instance id (src/domain/instance.ts), on every line: which of a cluster's processes wrote it. */
  instance?: string;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'omgw', ...(options.instance !== undefined ? { instance: options.instance } : {}) },
      redact: { paths: REDACT_PATHS, censor: '***' },
      hooks: {
        // The scrubber is cached per secrets list: a reload brings a new list, every other line reuses it.
        streamWrite: (line: string) => scrubberFor(options.secrets()).scrub(line),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
