import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

/**
 * A secret value from config. It prints as "***" everywhere (JSON, util.inspect, template strings),
 * so passing it to a logger or an error message by mistake leaks nothing; code that needs the value
 * calls reveal().
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '***';
  }

  toJSON(): string {
    return '***';
  }

  [inspect.custom](): string {
    return 'Secret(***)';
  }
}

/** `${env:NAME}`, `${env:NAME:-default}`, `${file:/path}` or `${server:url}` (the gateway's own URL). */
const REF = /\$\{(env|file|server):([^}:]+)(?::-([^}]*))?\}/g;

export function containsReference(text: string): boolean {
  REF.lastIndex = 0;
  return REF.test(text);
}

/** True when the whole string is one reference (what a secret field must be). */
export function isWholeReference(text: string): boolean {
  return /^\$\{(env|file):[^}:]+(?::-[^}]*)?\}$/.test(text.trim());
}

/**
 * Replaces every reference in `text`. Problems (unset variable without default, unreadable file)
 * are returned, not thrown, so the loader can list them all at once. `serverUrl` is what
 * `${server:url}` stands for: the gateway's own base URL from gateway.yaml (connector files only;
 * null when it cannot be known, undefined where the reference does not apply).
 */
export function resolveReferences(
  text: string,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  serverUrl?: string | null,
): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = text.replace(REF, (_match, kind: string, name: string, fallback: string | undefined) => {
    if (kind === 'server') {
      if (name !== 'url') problems.push(`\${server:${name}} is not a reference (the one server reference is \${server:url})`);
      else if (typeof serverUrl === 'string') return serverUrl;
      else if (fallback !== undefined) return fallback;
      else if (serverUrl === undefined) problems.push('${server:url} is for connector files only');
      else problems.push("${server:url} is not known: gateway.yaml's server.port is 0 (any free port) or gateway.yaml is invalid");
      return '';
    }
    if (kind === 'env') {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`environment variable ${name} is not set`);
      return '';
    }
    const path = name.startsWith('/') ? name : `${baseDir}/${name}`;
    try {
      // A trailing newline is what editors and `echo` add; it is never part of a secret.
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      if (fallback !== undefined) return fallback;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`file ${name} cannot be read (${code})`);
      return '';
    }
  });
  return { value, problems };
}
