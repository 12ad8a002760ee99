/**
 * SQL text with its values written in as literals, for the ingest batch (batch.ts): node-sqlite3's
 * `exec` runs many statements in one trip to the thread pool but takes no parameters. Every value
 * the batch stores is a string, a finite number or null; anything else is refused rather than
 * guessed at.
 */

export type SqlValue = string | number | null | undefined;

export function identifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * One value as an SQLite literal. Text is quoted with its quotes doubled; text holding a NUL (which
 * would end the SQL text early for SQLite's C API) goes in as its UTF-8 bytes, cast back to text.
 */
export function literal(value: SqlValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot store the number ${String(value)}`);
    return String(value);
  }
  if (typeof value !== 'string') throw new TypeError(`cannot write a ${typeof value} as an SQL literal`);
  if (value.includes('\u0000')) return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * `INSERT INTO table (columns) VALUES (...), (...)` for rows that all have the columns of the first
 * row (the batch builds them with one shape per table), followed by `suffix` (an ON CONFLICT clause).
 */
function insertSql(table: string, rows: ReadonlyArray<Record<string, SqlValue>>, suffix = ''): string {
  const first = rows[0];
  if (first === undefined) return '';
  const columns = Object.keys(first);
  let sql = `INSERT INTO ${identifier(table)} (${columns.map(identifier).join(', ')}) VALUES `;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Record<string, SqlValue>;
    sql += r === 0 ? '(' : ', (';
    for (let c = 0; c < columns.length; c++) sql += (c === 0 ? '' : ', ') + literal(row[columns[c] as string]);
    sql += ')';
  }
  return suffix ? `${sql} ${suffix};\n` : `${sql};\n`;
}

/** insertSql for any number of rows, as one statement per `chunk` rows. */
export function insertScript(table: string, rows: ReadonlyArray<Record<string, SqlValue>>, chunk: number, suffix = ''): string {
  let sql = '';
  for (let i = 0; i < rows.length; i += chunk) sql += insertSql(table, rows.slice(i, i + chunk), suffix);
  return sql;
}
