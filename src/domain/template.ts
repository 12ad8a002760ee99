/**
 * `{{path.to.value}}` templates, used for idempotency keys (`{{delivery.id}}`,
 * `{{event.orderKey}}-{{event.eventCode}}`) and header values.
 *
 * A placeholder is `{{`, optional whitespace, a path without whitespace or braces, optional
 * whitespace, `}}`. Anything else (`{{}}`, `{{ a b }}`, a single brace) is left as written.
 * The path is looked up in the variables (see lookupPath); the value is written as a string:
 * missing/null → '', strings as they are, numbers/booleans/bigints stringified, Dates as ISO
 * strings, other objects and arrays as JSON.
 */

const PLACEHOLDER = /\{\{\s*([^\s{}]+)\s*\}\}/g;

function own(target: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(target, key);
}

/**
 * The value at a dotted path. A key that itself contains dots (`{"event.orderKey": ...}`, as in
 * flat path variables) is matched first, then the path is walked one segment at a time; array
 * elements are reached by index (`lines.0.sku`). Only own properties count, so `constructor` or
 * `__proto__` never reach into prototypes. Undefined when the path leads nowhere.
 */
function lookupPath(vars: Record<string, unknown>, path: string): unknown {
  if (own(vars, path)) return vars[path];
  let current: unknown = vars;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !own(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** A value as the text a template writes for it. */
function stringifyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return '';
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
      try {
        return JSON.stringify(value) ?? '';
      } catch {
        // Cycles or bigints inside: nothing sensible to write.
        return '';
      }
    default:
      // undefined, functions, symbols
      return '';
  }
}

/** Replaces each `{{path}}` with its value as text ('' when missing). */
export function renderTemplate(template: string, vars: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_match, path: string) => stringifyValue(lookupPath(vars, path)));
}
