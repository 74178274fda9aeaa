/**
 * The store interface every backend implements: chDB embedded (`chdb.ts`) today, a ClickHouse
 * server client later. Callers see rows as plain objects and errors as `PipelineError`s.
 */
import type { Receipt } from '../core/unit.ts';
import type { NativeBlock } from './native.ts';

export type { Receipt };

/** Per-insert options. */
export interface InsertOptions {
  /**
   * ClickHouse `insert_deduplication_token`: a second insert with the same token into a table with
   * a deduplication window (`non_replicated_deduplication_window` here) is skipped and still
   * succeeds, whatever its rows. Derive it from the input's identity (e.g. Kafka
   * `topic:partition:first-last` offsets) so a retried or replayed batch never duplicates rows.
   */
  dedupToken?: string;
}

/** Options of `Store.raw`. */
export interface RawOptions {
  /** Values for the query's {name:Type} placeholders. */
  params?: Record<string, string>;
  /** Settle with an error after this long (the engine's own max_execution_time stops the work). */
  timeoutMs?: number;
}

export interface Store {
  /** Where the data lives: the chDB data directory, or the server URL for a server client. */
  readonly dir: string;
  /**
   * Runs a read query and returns its rows as the engine prints them in JSONEachRow:
   * DateTime64 as 'YYYY-MM-DD hh:mm:ss.sss' (UTC), maps as objects, arrays as arrays.
   * Engine errors reject with `unrecoverable` (a bad query stays bad); a closed store with
   * `not_connected`.
   */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * Runs a query and returns the engine's output in any ClickHouse output format
   * (e.g. 'PrettyCompactMonoBlock', 'CSVWithNames'), for `conduitwatch sql`.
   */
  text(sql: string, format: string): Promise<string>;
  /**
   * Runs a query and returns the engine's output bytes in any format, binary ones too (Native,
   * Parquet), with optional query parameters ({name:Type} placeholders) and a timeout. For the
   * read-only HTTP endpoint that a one-box install serves (dashboards/http/); chDB implements it.
   */
  raw?(sql: string, format: string, opts?: RawOptions): Promise<Uint8Array>;
  /** Runs one statement that returns no rows (DDL, ALTER, OPTIMIZE, INSERT … SELECT). */
  exec(sql: string): Promise<void>;
  /**
   * Inserts one block and resolves only once the engine has written it: rows as objects keyed
   * by column name (JSON), or a Native block built from typed arrays (store/native.ts,
   * store/blocks.ts), the fast path for the hot tables. Unknown columns are rejected, never
   * skipped. A refused batch rejects with `write_rejected` naming the table and quoting the
   * engine. The one insert API of the store: every writer (BatchWriter, the Kafka sink) uses it.
   */
  insertRows(table: string, rows: readonly object[] | NativeBlock, opts?: InsertOptions): Promise<Receipt>;
  /** Releases the engine. Calling it twice is harmless; later calls reject `not_connected`. */
  close(): Promise<void>;
}

/** The rows of a `JSONEachRow` answer (one JSON object per line), as both stores' `query` returns them. */
export const jsonEachRow = <T>(text: string): T[] => {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line) rows.push(JSON.parse(line) as T);
  return rows;
};
