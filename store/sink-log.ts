/**
 * The sink's intent log: before a consumer inserts the rows of Kafka offsets [first, last] with the
 * dedup token `group:topic:partition:first-last`, it records that range here. After a crash the
 * next owner of the partition reads the last range, re-cuts its first batch at exactly that range
 * and inserts it with the same token, so ClickHouse skips it if the first attempt landed
 * (RELIABILITY.md B2.1, B1.3). Without it a redelivered batch could end at another offset and get
 * another token. The table is migration infra/clickhouse/ddl/006_sink_batches.sql.
 */
import { migrate } from './migrate.ts';
import type { Store } from './store.ts';

export const SINK_LOG_TABLE = 'sink_batches';

export interface SinkRange {
  first: bigint;
  last: bigint;
}

/** The table comes from migration 006; applying the migrations is idempotent and cheap. */
export const ensureSinkLog = async (store: Store): Promise<void> => {
  await migrate(store);
};

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The newest range recorded for a partition, or undefined. */
export const lastSinkRange = async (store: Store, group: string, topic: string, partition: number): Promise<SinkRange | undefined> => {
  // The aliases must differ from the columns: ClickHouse resolves ORDER BY against an alias first,
  // and ordering the text '9' after '10' picked the wrong range (duplicates after 9 → 10).
  const rows = await store.query<{ first_s: string; last_s: string }>(
    `SELECT toString(first) AS first_s, toString(last) AS last_s FROM ${SINK_LOG_TABLE} WHERE consumer_group = ${quote(group)} AND topic = ${quote(topic)} AND partition = ${partition} ORDER BY first DESC LIMIT 1`);
  const r = rows[0];
  return r ? { first: BigInt(r.first_s), last: BigInt(r.last_s) } : undefined;
};

export const recordSinkRange = async (store: Store, group: string, topic: string, partition: number, r: SinkRange, at: number): Promise<void> => {
  await store.insertRows(SINK_LOG_TABLE, [{ consumer_group: group, topic, partition, first: r.first.toString(), last: r.last.toString(), written_at: Math.floor(at) }],
    { dedupToken: `${group}:${topic}:${partition}:${r.first}-${r.last}:intent` });
};
