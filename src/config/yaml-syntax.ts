import { YAMLParseError } from 'yaml';

/**
 * Why a config file is not YAML, and where: `not valid YAML at line 4, column 5: Map keys must be
 * unique`. The parser runs with prettyErrors off (on, its message carries an excerpt of the file,
 * which may hold a secret), so the line and column are counted here from the error's offset.
 */
export function yamlSyntaxReason(text: string, err: unknown): string {
  const what = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  if (!(err instanceof YAMLParseError)) return `not valid YAML: ${what}`;
  const before = text.slice(0, err.pos[0]);
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `not valid YAML at line ${line}, column ${column}: ${what}`;
}
