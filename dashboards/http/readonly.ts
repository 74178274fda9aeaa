/**
 * The read-only gate of the HTTP endpoint, before the engine's own: one statement, of a kind
 * ClickHouse's `readonly=1` allows (SELECT, WITH … SELECT, SHOW, DESCRIBE, EXISTS, EXPLAIN).
 * The engine then runs it with `readonly=1`, which refuses table functions such as file() and
 * url() and any change of settings inside the query — but not `INTO OUTFILE`, refused here.
 */

/** The query with comments and string/identifier literals blanked (same length, same offsets). */
export const blankLiterals = (sql: string): string => {
  let out = '';
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    const n = sql[i + 1];
    if (c === '-' && n === '-' || c === '#' && (n === ' ' || n === '!')) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop - 1;
    } else if (c === '/' && n === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += ' '.repeat(stop - i);
      i = stop - 1;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '\\') j++;
        else if (sql[j] === c) {
          if (sql[j + 1] === c) j++;
          else break;
        }
      }
      const stop = Math.min(j + 1, sql.length);
      out += c + ' '.repeat(Math.max(stop - i - 2, 0)) + (stop - i >= 2 ? c : '');
      i = stop - 1;
    } else out += c;
  }
  return out;
};

const ALLOWED = new Set(['SELECT', 'WITH', 'SHOW', 'DESC', 'DESCRIBE', 'EXISTS', 'EXPLAIN']);

export type Gate = { ok: true; sql: string; format?: string } | { ok: false; reason: string };

/**
 * Checks one query: returns it without a trailing `;` (and the FORMAT it names, if any), or why
 * it is refused.
 */
export const readOnlyGate = (sql: string): Gate => {
  const blank = blankLiterals(sql);
  const body = blank.replace(/[\s;]+$/, '');
  if (!body.trim()) return { ok: false, reason: 'Empty query.' };
  if (body.includes(';')) return { ok: false, reason: 'Multi-statements are not allowed: send one query per request.' };
  const first = /^[\s(]*([A-Za-z]+)/.exec(body)?.[1]?.toUpperCase();
  if (!first || !ALLOWED.has(first)) {
    return { ok: false, reason: `Cannot execute query in readonly mode: ${first ?? 'this statement'} is not allowed; this endpoint answers SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN.` };
  }
  // readonly=1 does not stop SELECT … INTO OUTFILE from writing a file.
  if (/\bINTO\s+OUTFILE\b/i.test(body)) return { ok: false, reason: 'Cannot execute query in readonly mode: INTO OUTFILE writes a file.' };
  const format = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*$/i.exec(body)?.[1];
  return { ok: true, sql: sql.slice(0, body.length), ...(format ? { format } : {}) };
};
