/**
 * Values on the bus.
 *
 * - Flows: `flows-col/2` (bus/flowcodec.ts), typed-array columns built in one pass; `decodeFlowMessage`
 *   dispatches on the schema header and still reads the older format below.
 * - Flows, before flows-col/2: one Apache Arrow IPC stream (schema message + one record batch) per bus message,
 *   holding a batch of `FlowRecord`s of one conduit. Header `cw-schema: flows-arrow/1`. Columns
 *   follow `FlowRecord` field names; optional fields are nullable columns (null = absent), maps are
 *   `Map<Utf8, Float64>`, `l7Units` is `List<Uint32>`, `requestIntervalsMs` is a nullable struct
 *   `{count, mean, m2, min, max}` of Float64 (min/max may be ±Infinity for an empty summary).
 *   `id` (FlowRecord.id, nullable) may be missing from batches written before it existed.
 * - Scores and alerts: one JSON object per message (`score-json/1`, `alert-json/1`), the
 *   `WindowScore` / `Alert` of core/records.ts as is, so a SIEM can read the alerts topic directly.
 *   Non-finite numbers (JSON has no spelling for them) are written as the strings 'inf', '-inf',
 *   'nan' and read back as numbers.
 * - Decoding never throws: it returns `{ ok: false, reason }` for the caller to dead-letter.
 */
import {
  Field, Float64, Int32, List, makeBuilder, Map_, Schema, Struct, Table, tableFromIPC, tableToIPC, Uint32,
  Utf8, type Builder, type DataType,
} from 'apache-arrow';
import type { Alert, EdgeSeries, FlowRecord, FlowSource, Incident, IntervalSummary, WindowScore } from '../core/records.ts';
import { HEADERS, type Decoded, type InMessage } from './bus.ts';
import { decodeFlowRecords } from './flowcodec.ts';

export const SCHEMAS = {
  /** What the collector publishes (bus/flowcodec.ts). */
  flowsCol: 'flows-col/2',
  /** Read still, for values published before flows-col/2. */
  flows: 'flows-arrow/1',
  score: 'score-json/1',
  alert: 'alert-json/1',
  state: 'state-json/1',
  /** A conduit's readiness (the engine's status of one conduit) on the scores topic, for the sink's `conduits` rows. */
  conduit: 'conduit-json/1',
  /** An edge-window's series (core/records.ts `EdgeSeries`) on the scores topic, for the sink's `series` rows. */
  series: 'series-json/1',
  /** An incident as it now stands (core/records.ts `Incident`) on the alerts topic, for the sink's `incidents` rows. */
  incident: 'incident-json/1',
} as const;

export type { Decoded };

const mapType = (): Map_<Utf8, Float64> =>
  new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Float64(), true)]), false), false);

const SUMMARY_FIELDS = ['count', 'mean', 'm2', 'min', 'max'] as const;

/** Column name, Arrow type, nullable. Order is the wire order. */
const COLUMNS: [keyof FlowRecord, () => DataType, boolean][] = [
  ['id', () => new Utf8(), false],
  ['tsStart', () => new Float64(), false],
  ['tsEnd', () => new Float64(), false],
  ['srcIp', () => new Utf8(), false],
  ['srcPort', () => new Int32(), false],
  ['dstIp', () => new Utf8(), false],
  ['dstPort', () => new Int32(), false],
  ['proto', () => new Int32(), false],
  ['packets', () => new Float64(), false],
  ['bytes', () => new Float64(), false],
  ['packetsRev', () => new Float64(), false],
  ['bytesRev', () => new Float64(), false],
  ['tcpFlags', () => new Int32(), false],
  ['exporter', () => new Utf8(), false],
  ['observationDomain', () => new Float64(), false],
  ['source', () => new Utf8(), false],
  ['l7', () => new Utf8(), true],
  ['l7Ops', mapType, true],
  ['l7OpsRev', mapType, true],
  ['l7Errors', mapType, true],
  ['l7Units', () => new List(new Field('item', new Uint32(), true)), true],
  ['l7Violations', mapType, true],
  ['requestIntervalsMs', () => new Struct(SUMMARY_FIELDS.map((f) => new Field(f, new Float64(), false))), true],
  ['fidelity', () => new List(new Field('item', new Utf8(), true)), true],
  ['srcMac', () => new Utf8(), true],
  ['dstMac', () => new Utf8(), true],
  // Identity reports (rare) travel as one JSON text per record.
  ['identity', () => new Utf8(), true],
];

const MAP_FIELDS = new Set<keyof FlowRecord>(['l7Ops', 'l7OpsRev', 'l7Errors', 'l7Violations']);
/**
 * Columns a flows batch may lack: `id`, `srcMac`, `dstMac` and `identity` came later (values written
 * before them decode without those fields).
 */
const OPTIONAL_COLUMNS = new Set<keyof FlowRecord>(['id', 'srcMac', 'dstMac', 'identity']);

/** The Arrow schema of the flows topic, version 1. */
export const FLOW_SCHEMA = new Schema(
  COLUMNS.map(([name, type, nullable]) => new Field(name, type(), nullable)),
  new Map([[HEADERS.schema, SCHEMAS.flows]]),
);

/** Encodes flows as one Arrow IPC stream (one record batch). */
export const encodeFlows = (flows: readonly FlowRecord[]): Buffer => {
  const columns: Record<string, ReturnType<Builder['toVector']>> = {};
  for (const [name, type] of COLUMNS) {
    const b = makeBuilder({ type: type(), nullValues: [null, undefined] });
    for (const f of flows) {
      const v = f[name];
      if (v === undefined) b.append(null);
      else if (MAP_FIELDS.has(name)) b.append(new Map(Object.entries(v as Record<string, number>)));
      else if (name === 'identity') b.append(JSON.stringify(v));
      else b.append(v);
    }
    columns[name] = b.finish().toVector();
  }
  const table = new Table(columns);
  const withMeta = new Table(new Schema(table.schema.fields, FLOW_SCHEMA.metadata), table.batches);
  return Buffer.from(tableToIPC(withMeta, 'stream'));
};

const toRecord = (m: unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [k, v] of m as Iterable<[string, number]>) out[k] = v;
  return out;
};

/** Decodes an Arrow IPC flows value; a wrong schema or corrupt bytes give a reason, never a throw. */
export const decodeFlows = (value: Buffer): Decoded<FlowRecord[]> => {
  let table: Table;
  try {
    table = tableFromIPC(value);
  } catch (e) {
    return { ok: false, reason: `not an Arrow IPC stream: ${(e as Error).message.split('\n')[0]}` };
  }
  const version = table.schema.metadata.get(HEADERS.schema);
  if (version !== SCHEMAS.flows) return { ok: false, reason: `flows schema "${version ?? 'none'}" is not ${SCHEMAS.flows}` };
  const vectors = COLUMNS.map(([name]) => [name, table.getChild(name)] as const);
  const missing = vectors.filter(([n, v]) => !v && !OPTIONAL_COLUMNS.has(n)).map(([n]) => n);
  if (missing.length) return { ok: false, reason: `flows batch lacks column(s) ${missing.join(', ')}` };
  const out: FlowRecord[] = [];
  try {
    for (let i = 0; i < table.numRows; i++) {
      const f: Record<string, unknown> = {};
      for (const [name, vec] of vectors) {
        if (!vec) continue;
        const v: unknown = vec.get(i);
        if (v === null || v === undefined) continue;
        if (MAP_FIELDS.has(name)) f[name] = toRecord(v);
        else if (name === 'l7Units' || name === 'fidelity') f[name] = [...(v as Iterable<unknown>)];
        else if (name === 'identity') f[name] = JSON.parse(v as string);
        else if (name === 'requestIntervalsMs') {
          const s = v as Record<string, number>;
          f[name] = Object.fromEntries(SUMMARY_FIELDS.map((k) => [k, s[k]])) as unknown as IntervalSummary;
        } else f[name] = v;
      }
      if (typeof f.srcIp !== 'string' || typeof f.tsStart !== 'number') return { ok: false, reason: `row ${i} lacks srcIp or tsStart` };
      f.source = f.source as FlowSource;
      out.push(f as unknown as FlowRecord);
    }
  } catch (e) {
    return { ok: false, reason: `corrupt Arrow record batch: ${(e as Error).message.split('\n')[0]}` };
  }
  return { ok: true, value: out };
};

const replacer = (_k: string, v: unknown): unknown =>
  typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : v;

const NON_FINITE: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
const reviver = (_k: string, v: unknown): unknown => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v);

/** JSON with non-finite numbers spelt as strings. */
export const encodeJson = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, replacer), 'utf8');

const parseJson = <T>(value: Buffer, check: (v: Record<string, unknown>) => string | undefined): Decoded<T> => {
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'), reviver);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'not a JSON object' };
  const why = check(v as Record<string, unknown>);
  return why ? { ok: false, reason: why } : { ok: true, value: v as T };
};

const need = (fields: Record<string, 'string' | 'number' | 'boolean' | 'object'>) => (v: Record<string, unknown>): string | undefined => {
  for (const [k, t] of Object.entries(fields)) if (typeof v[k] !== t) return `field "${k}" is not a ${t}`;
  return undefined;
};

export const decodeScore = (value: Buffer): Decoded<WindowScore> => parseJson(value, need({
  conduit: 'string', edge: 'string', windowStart: 'number', windowEnd: 'number', detector: 'string', score: 'number',
  learning: 'boolean', explanation: 'string', features: 'object',
}));

/** A conduit status (core/records.ts `ConduitReadiness`) as the detector role publishes it. */
export const decodeConduitStatus = (value: Buffer): Decoded<Record<string, unknown> & { conduit: string }> => parseJson(value, need({
  conduit: 'string', declared: 'boolean', learning: 'boolean', coverage: 'number', flows: 'number', state: 'string',
}));

/** An `EdgeSeries` as the detector role publishes it (NaN spelt 'nan', see `encodeJson`). */
export const decodeSeries = (value: Buffer): Decoded<EdgeSeries> => parseJson(value, need({
  conduit: 'string', edge: 'string', windowStart: 'number', windowEnd: 'number', learning: 'boolean', unit: 'string',
  observed: 'number', expected: 'number', expectedStd: 'number', periodMs: 'number', jitterMs: 'number',
  expectedPeriodMs: 'number', expectedJitterMs: 'number', intervals: 'number', score: 'number',
}));

export const decodeAlert = (value: Buffer): Decoded<Alert> => parseJson(value, need({
  id: 'string', conduit: 'string', src: 'string', dst: 'string', proto: 'number', dstPort: 'number', l7: 'string',
  tsStart: 'number', tsEnd: 'number', score: 'number', detector: 'string', explanation: 'string',
}));

/** An incident version as the detector role publishes it beside its alerts. */
export const decodeIncident = (value: Buffer): Decoded<Incident> => parseJson(value, need({
  id: 'string', severity: 'string', risk: 'number', firstSeen: 'number', lastSeen: 'number', alerts: 'number', alertIds: 'object',
  conduits: 'object', sources: 'object', targets: 'object', detectors: 'object', topAlert: 'string', summary: 'string',
}));

/** Decodes `message` by its schema header; unknown headers are a reason, not a throw. */
export const schemaOf = (m: InMessage): string => m.headers[HEADERS.schema] ?? '';

/** The flows of a flows-topic message, by its schema header: flows-col/2, or the older flows-arrow/1. */
export const decodeFlowMessage = (m: Pick<InMessage, 'value' | 'headers'>): Decoded<FlowRecord[]> => {
  const schema = m.headers[HEADERS.schema];
  if (schema === SCHEMAS.flowsCol) return decodeFlowRecords(m.value);
  if (schema === SCHEMAS.flows || schema === undefined) return decodeFlows(m.value);
  return { ok: false, reason: `flows schema "${schema}" is neither ${SCHEMAS.flowsCol} nor ${SCHEMAS.flows}` };
};
