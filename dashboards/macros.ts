/**
 * What Grafana and the `grafana-clickhouse-datasource` plugin (v4) do to a panel's SQL before
 * ClickHouse sees it, so that tests, the pictures and the bench run exactly the query an analyst's
 * panel runs. Three steps, in the plugin's order:
 *
 * 1. `$__conditionalAll(condition, $var)` (plugin frontend, `applyConditionalAll`): the condition,
 *    or `1=1` when the variable's current value is `$__all` or empty.
 * 2. Template variables (Grafana's templateSrv with the plugin's `format`): `${name}` / `$name`
 *    become the value as is for a single value, and `'a','b'` for a multi value (the plugin joins
 *    with `','` and does not escape quotes). "All" without an `allValue` is every option.
 * 3. Backend macros (plugin `pkg/macros/macros.go`, on the time range and the panel interval):
 *
 *    macro                         expands to
 *    $__timeFilter(c)              c >= toDateTime(from_s) AND c <= toDateTime(to_s)
 *    $__timeFilter_ms(c)           c >= fromUnixTimestamp64Milli(from_ms) AND c <= fromUnixTimestamp64Milli(to_ms)
 *    $__fromTime / $__toTime       toDateTime(from_s) / toDateTime(to_s)
 *    $__fromTime_ms / $__toTime_ms fromUnixTimestamp64Milli(from_ms) / (to_ms)
 *    $__dateFilter(c)              c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')
 *    $__timeInterval(c)            toStartOfInterval(toDateTime(c), INTERVAL max(interval_s, 1) second)
 *    $__timeInterval_ms(c)         toStartOfInterval(toDateTime64(c, 3), INTERVAL max(interval_ms, 1) millisecond)
 *    $__interval_s                 max(interval_s, 1)
 *
 *    Seconds are truncated, as Go's `time.Unix()` and `int(seconds)` do.
 *
 * The panel interval is Grafana's: (to − from) / maxDataPoints rounded by `roundInterval`, and
 * never below the panel's minimum interval.
 */
import { PipelineError } from '../core/errors.ts';

/** A variable's current value: one string, several, or every option ("All"). */
export type VarValue = string | string[] | { all: true; options: string[] };

export interface ExpandOptions {
  /** Time range, epoch ms. */
  from: number;
  to: number;
  /** The panel interval in ms (see `panelIntervalMs`). */
  intervalMs: number;
  /** Template variables by name. */
  vars: Record<string, VarValue>;
}

/** Grafana's `rangeutil.roundInterval`: a raw interval (ms) to the nearest "nice" one. */
export const roundInterval = (ms: number): number => {
  const steps: [number, number][] = [
    [10, 1], [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1_500, 1_000], [3_500, 2_000],
    [7_500, 5_000], [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000],
    [210_000, 120_000], [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000],
    [2_700_000, 1_800_000], [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000],
    [32_400_000, 21_600_000], [86_400_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000],
    [3_628_800_000, 2_592_000_000],
  ];
  for (const [upTo, nice] of steps) if (ms <= upTo) return nice;
  return 31_536_000_000;
};

/** Grafana's panel interval: range / maxDataPoints, rounded, at least `minIntervalMs`. */
export const panelIntervalMs = (from: number, to: number, maxDataPoints = 1_000, minIntervalMs = 0): number =>
  Math.max(roundInterval((to - from) / maxDataPoints), minIntervalMs);

/** Parses Grafana's interval spelling ('10s', '1m', '500ms') to ms. */
export const parseInterval = (text: string): number => {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new PipelineError('config_invalid', `Panel interval "${text}" is not like 10s, 1m, 500ms.`);
  return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
};

/** The arguments of a macro call whose "(" is at `open`; commas inside parentheses or quotes do not split. */
const macroArgs = (sql: string, open: number): { args: string[]; end: number } => {
  const args: string[] = [];
  let depth = 0;
  let quote = '';
  let start = open + 1;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, i).trim());
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new PipelineError('config_invalid', `Unclosed macro call at offset ${open}: ${sql.slice(open - 20, open + 40)}`);
};

const isAll = (v: VarValue | undefined): boolean =>
  v === undefined || v === '' || (typeof v === 'object' && !Array.isArray(v)) || (Array.isArray(v) && (v.length === 0 || v[0] === '$__all'));

/** Step 1: `$__conditionalAll(cond, $var)`. */
export const applyConditionalAll = (sql: string, vars: Record<string, VarValue>): string => {
  const macro = '$__conditionalAll(';
  let at = sql.lastIndexOf(macro);
  while (at !== -1) {
    const { args, end } = macroArgs(sql, at + macro.length - 1);
    if (args.length !== 2) throw new PipelineError('config_invalid', `$__conditionalAll takes 2 arguments, got ${args.length}: ${sql.slice(at, end)}`);
    const name = /^\$\{?(\w+)\}?$/.exec(args[1]!)?.[1];
    if (!name) throw new PipelineError('config_invalid', `$__conditionalAll's second argument must be a variable, got "${args[1]}"`);
    sql = sql.slice(0, at) + (isAll(vars[name]) ? '1=1' : args[0]) + sql.slice(end);
    at = sql.lastIndexOf(macro);
  }
  return sql;
};

const formatValue = (v: VarValue): string => {
  if (typeof v === 'string') return v;
  const list = Array.isArray(v) ? v : v.options;
  return `'${list.join("','")}'`;
};

/** Step 2: `${name}` and `$name` (Grafana's `$__…` globals other than the plugin macros are refused). */
export const applyVariables = (sql: string, vars: Record<string, VarValue>): string =>
  sql.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name.startsWith('__')) return whole;
    const v = vars[name];
    if (v === undefined) throw new PipelineError('config_invalid', `Query uses template variable "${name}", which the dashboard does not define.`);
    return formatValue(v);
  });

const sec = (ms: number): number => Math.floor(ms / 1_000);
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Step 3: the backend macros on a time range and interval. */
export const applyTimeMacros = (sql: string, o: Pick<ExpandOptions, 'from' | 'to' | 'intervalMs'>): string => {
  const fromS = `toDateTime(${sec(o.from)})`;
  const toS = `toDateTime(${sec(o.to)})`;
  const fromMs = `fromUnixTimestamp64Milli(${Math.floor(o.from)})`;
  const toMs = `fromUnixTimestamp64Milli(${Math.floor(o.to)})`;
  const intervalS = Math.max(Math.floor(o.intervalMs / 1_000), 1);
  const intervalMs = Math.max(Math.floor(o.intervalMs), 1);
  const withArg: Record<string, (c: string) => string> = {
    timeFilter: (c) => `${c} >= ${fromS} AND ${c} <= ${toS}`,
    timeFilter_ms: (c) => `${c} >= ${fromMs} AND ${c} <= ${toMs}`,
    dateFilter: (c) => `${c} >= toDate('${day(o.from)}') AND ${c} <= toDate('${day(o.to)}')`,
    timeInterval: (c) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${intervalS} second)`,
    timeInterval_ms: (c) => `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${intervalMs} millisecond)`,
  };
  const plain: Record<string, string> = {
    fromTime: fromS, toTime: toS, fromTime_ms: fromMs, toTime_ms: toMs, interval_s: String(intervalS),
  };
  let out = '';
  let i = 0;
  const re = /\$__(\w+)/g;
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const name = m[1]!;
    out += sql.slice(i, m.index);
    const fn = withArg[name];
    if (fn) {
      const open = m.index + m[0].length;
      if (sql[open] !== '(') throw new PipelineError('config_invalid', `Macro $__${name} needs one argument, e.g. $__${name}(ts_start).`);
      const { args, end } = macroArgs(sql, open);
      if (args.length !== 1) throw new PipelineError('config_invalid', `Macro $__${name} takes 1 argument, got ${args.length}.`);
      out += fn(args[0]!);
      i = end;
      re.lastIndex = end;
    } else if (name in plain) {
      out += plain[name];
      i = m.index + m[0].length;
    } else {
      throw new PipelineError('config_invalid', `Unknown macro $__${name}: the ClickHouse plugin would send it to the server as is.`);
    }
  }
  return out + sql.slice(i);
};

/** All three steps: the SQL the server receives for one panel. */
export const expandQuery = (sql: string, o: ExpandOptions): string =>
  applyTimeMacros(applyVariables(applyConditionalAll(sql, o.vars), o.vars), o);
