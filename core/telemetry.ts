/**
 * Logs and metrics. One helper per thing that happens writes the log line and the metric
 * together (STYLE.md §5). Metrics are in-process counters rendered as Prometheus text.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export type Labels = Record<string, string>;

const labelKey = (l: Labels): string =>
  Object.keys(l).sort().map((k) => `${k}="${String(l[k]).replace(/["\\\n]/g, '_')}"`).join(',');

/** Counters and gauges by name and label set. */
export class Metrics {
  private readonly series = new Map<string, Map<string, { labels: Labels; value: number }>>();
  private readonly help = new Map<string, { help: string; type: 'counter' | 'gauge' }>();

  describe(name: string, type: 'counter' | 'gauge', help: string): void {
    this.help.set(name, { type, help });
  }

  add(name: string, labels: Labels, n = 1): void {
    let byLabels = this.series.get(name);
    if (!byLabels) this.series.set(name, (byLabels = new Map()));
    const k = labelKey(labels);
    const s = byLabels.get(k);
    if (s) s.value += n;
    else byLabels.set(k, { labels, value: n });
  }

  set(name: string, labels: Labels, value: number): void {
    this.add(name, labels, 0);
    this.series.get(name)!.get(labelKey(labels))!.value = value;
  }

  /** Sum of a metric over every label set that includes `match`. */
  get(name: string, match: Labels = {}): number {
    let total = 0;
    for (const s of this.series.get(name)?.values() ?? []) {
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  /** Prometheus text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const [name, byLabels] of [...this.series].sort(([a], [b]) => a.localeCompare(b))) {
      const h = this.help.get(name);
      if (h) out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} ${h.type}`);
      for (const [k, s] of byLabels) out.push(`${name}${k ? `{${k}}` : ''} ${s.value}`);
    }
    return out.join('\n') + '\n';
  }
}

export interface ComponentLabels {
  component_kind: 'source' | 'detector' | 'sink' | 'bus' | 'cli';
  component_type: string;
  component_id: string;
}

/** Events a unit reports; each writes one log line (where it logs at all) and one metric. */
export interface UnitEvents {
  received(e: { records: number; bytes?: number }): void;
  sent(e: { records: number; bytes?: number }): void;
  dropped(e: { records: number; reason: string; intentional: boolean }): void;
  error(e: { errorCode: string; stage: string; message?: string; details?: Record<string, unknown> }): void;
  /** Malformed input counted and skipped (a "weird", in Zeek's words). Logged with a rate limit. */
  violation(e: { code: string; where: string; details?: Record<string, unknown> }): void;
}

/** Allows `perKey` log lines per key, then counts the rest silently; `summary()` reports them. */
export class LogLimiter {
  private readonly seen = new Map<string, number>();
  constructor(private readonly perKey = 5) {}
  allow(key: string): boolean {
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, n);
    return n <= this.perKey;
  }
  suppressed(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, n] of this.seen) if (n > this.perKey) out[k] = n - this.perKey;
    return out;
  }
}

export const createEvents = (log: Logger, metrics: Metrics, labels: ComponentLabels): UnitEvents => {
  const limiter = new LogLimiter(5);
  const l = labels as unknown as Labels;
  return {
    received: ({ records, bytes }) => {
      metrics.add('conduitwatch_component_received_records_total', l, records);
      if (bytes) metrics.add('conduitwatch_component_received_bytes_total', l, bytes);
    },
    sent: ({ records, bytes }) => {
      metrics.add('conduitwatch_component_sent_records_total', l, records);
      if (bytes) metrics.add('conduitwatch_component_sent_bytes_total', l, bytes);
    },
    dropped: ({ records, reason, intentional }) => {
      metrics.add('conduitwatch_component_discarded_records_total', { ...l, reason, intentional: String(intentional) }, records);
      if (limiter.allow(`drop:${reason}`)) {
        (intentional ? log.info.bind(log) : log.error.bind(log))({ records, reason }, 'Records dropped.');
      }
    },
    error: ({ errorCode, stage, message, details }) => {
      metrics.add('conduitwatch_component_errors_total', { ...l, error_code: errorCode, stage }, 1);
      if (limiter.allow(`err:${errorCode}`)) log.error({ errorCode, stage, ...details }, message ?? 'Component error.');
    },
    violation: ({ code, where, details }) => {
      metrics.add('conduitwatch_component_violations_total', { ...l, violation: code }, 1);
      if (limiter.allow(`vio:${code}`)) log.warn({ violation: code, where, ...details }, 'Malformed input skipped.');
    },
  };
};

const LEVEL_WORDS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/**
 * One pino JSON line as a person reads it: `conduitwatch: warning: Message. (key=value, …)`.
 * Keys are printed in their order; nested values as JSON.
 */
export const textLogLine = (json: string): string => {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time: _time, msg, ...rest } = o;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `conduitwatch: ${LEVEL_WORDS[Number(level)] ?? String(level)}: ${String(msg ?? '')}${fields.length ? ` (${fields.join(', ')})` : ''}\n`;
};

/** `json` when CONDUITWATCH_LOG_FORMAT says so or stderr is not a terminal (a file, a pipe, journald), else `text`. */
export const logFormat = (env: NodeJS.ProcessEnv = process.env, tty = process.stderr.isTTY === true): 'json' | 'text' => {
  const asked = env.CONDUITWATCH_LOG_FORMAT;
  if (asked === 'json' || asked === 'text') return asked;
  return tty ? 'text' : 'json';
};

/**
 * pino to stderr (stdout is for reports and records). Level from CONDUITWATCH_LOG, default 'warn'
 * for CLI runs. JSON lines when asked (CONDUITWATCH_LOG_FORMAT=json) or when stderr is not a
 * terminal; on a terminal, one readable line per event, so logs do not read as JSON in the middle
 * of a report.
 */
export const createLogger = (level = process.env.CONDUITWATCH_LOG ?? 'warn', format = logFormat()): Logger => {
  const opts = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'json') return pino(opts, pino.destination(2));
  return pino(opts, { write: (line: string) => { process.stderr.write(textLogLine(line)); } });
};

/** A logger that writes nothing: for unit tests of logic. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
