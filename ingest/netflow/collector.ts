/**
 * The NetFlow/IPFIX collector: one UDP socket (IPv4 or IPv6), every datagram decoded by its version
 * (5, 9 or 10; anything else counted `unknown_version`) and the records handed on in batches through
 * an async iterator or a callback. Decoding never throws; bad input is counted by reason.
 *
 * Receive path, per datagram: one 'message' event, decode synchronously into records, append them
 * to the open batch (or hand the decoder's array straight to `onBatch`). The iterator's consumer gets
 * a full batch (`maxBatch`) at once and a part-filled one at most 5 ms after its first record, so it
 * does not run once per datagram when datagrams arrive one per event-loop turn. The
 * per-datagram counters (datagrams by version, records by exporter, bytes, records handed on,
 * fidelity notes, sequence gaps, the template gauge) are summed locally and written to `Metrics` at
 * most every 100 ms (and on `close`), since a labelled `Metrics.add` costs about as much as decoding a
 * small datagram and at low rates every datagram is its own event-loop turn. `stats` and the error
 * metrics (with their rate-limited log line) are updated at once.
 *
 * Socket buffer: the kernel caps SO_RCVBUF at net.core.rmem_max (Linux reports twice the value
 * granted). When it grants less than `recvBufferSize`, `open` logs a warning naming the sysctl; see
 * README.md "Operating at high rates".
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { systemClock, type Clock } from '../../core/clock.ts';
import { PipelineError, errorMessage } from '../../core/errors.ts';
import { cidrContains, ipToBig, parseCidr, type Cidr } from '../../core/net.ts';
import type { FlowRecord } from '../../core/records.ts';
import { createEvents, Metrics, silentLogger, type Logger, type UnitEvents } from '../../core/telemetry.ts';
import { defineUnit } from '../../core/unit.ts';
import { duration } from '../../core/units.ts';
import { DEFAULT_DECODER_OPTIONS, PairKey, countError, emptyResult, type DecodeError, type DecodeResult } from './common.ts';
import { IpfixDecoder } from './ipfix.ts';
import { DEFAULT_TEMPLATE_STORE_OPTIONS } from './templates.ts';
import { V5Decoder } from './v5.ts';
import { V9Decoder } from './v9.ts';

export const CollectorConfig = z.object({
  listen: z.string().default('udp://0.0.0.0:2055')
    .describe('Where to listen: udp://host:port; IPv6 as udp://[::]:2055. Port 0 picks a free port.'),
  allowedExporters: z.array(z.string()).default([])
    .describe('Exporter addresses or CIDR blocks allowed to send; others are dropped and counted. Empty = any (not recommended: UDP has no authentication).'),
  recvBufferSize: z.number().int().positive().default(32 * 1024 * 1024)
    .describe('Socket receive buffer in bytes (SO_RCVBUF); large enough to ride out bursts while the event loop is busy (32 MiB ≈ 24k datagrams of 1,400 B). The kernel caps it at net.core.rmem_max: raise that sysctl to match.'),
  templateLifetime: duration.default('1800s')
    .describe('Templates not refreshed within this time expire (RFC 6728 default 1800 s).'),
  clockSkew: duration.default('5m')
    .describe('Export time further than this from the receive time is flagged clock_skew (values are not changed).'),
  maxTemplatesPerDomain: z.number().int().positive().default(DEFAULT_TEMPLATE_STORE_OPTIONS.maxPerDomain)
    .describe('Template cache cap per (exporter, observation domain); least recently used evicted.'),
  maxTemplatesPerExporter: z.number().int().positive().default(DEFAULT_TEMPLATE_STORE_OPTIONS.maxPerSession)
    .describe('Template cache cap per exporter transport session (ip:port).'),
  maxTemplatesPerAddress: z.number().int().positive().default(DEFAULT_TEMPLATE_STORE_OPTIONS.maxPerExporter)
    .describe('Template cache cap per exporter address over all its source ports; a full address evicts from its own biggest session, never from another address.'),
  maxTemplates: z.number().int().positive().default(DEFAULT_TEMPLATE_STORE_OPTIONS.maxTotal)
    .describe('Template cache cap over all exporters; when full, the address holding the most templates gives one up.'),
  maxRecordsPerDatagram: z.number().int().positive().default(DEFAULT_DECODER_OPTIONS.maxRecordsPerDatagram)
    .describe('Records decoded from one datagram at most; the rest is counted iteration_cap.'),
  maxBatch: z.number().int().positive().default(1000)
    .describe('Records per emitted batch at most.'),
  maxQueued: z.number().int().positive().default(100_000)
    .describe('Records waiting for the consumer at most; beyond it datagrams are dropped and counted queue_full.'),
}).strict();
export type CollectorConfig = z.output<typeof CollectorConfig>;

/** What the collector reports to; `testContext()` from core/testing.ts fits. */
export interface CollectorDeps {
  id: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  events: UnitEvents;
}

/** Running totals, readable at any time. */
export interface CollectorStats {
  datagrams: number;
  records: number;
  errors: Record<string, number>;
  fidelity: Record<string, number>;
  /** Lost units per exporter IP, as the sequence numbers say. */
  sequenceGaps: Record<string, number>;
  /** SO_RCVBUF the kernel granted (as it reports it: twice the usable size on Linux); 0 before `open`. */
  recvBufferBytes: number;
}

/** Per-datagram counters summed between two writes to `Metrics`. */
interface PendingCounts {
  byVersion: Map<string, number>;
  byExporter: Map<string, number>;
  fidelity: Map<string, number>;
  /** Sequence gaps by exporter label. */
  gaps: Map<string, number>;
  records: number;
  bytes: number;
  /** Records handed to the iterator's consumer. */
  sent: number;
  /** Templates learned: the template gauge needs an update. */
  templates: boolean;
}

const MAX_EXPORTER_LABELS = 64;
/** Longest the summed per-datagram counters wait before they are written to `Metrics`, ms. */
const METRICS_FLUSH_MS = 100;
/** Longest a part-filled batch waits for more records before a waiting consumer gets it, ms. */
const PARTIAL_BATCH_MS = 5;
/** Exporter IP → metric label ('denied', the IP or 'other'); cleared when this big. */
const MAX_LABEL_CACHE = 4096;

/** Parses udp://host:port (IPv6 in brackets). */
export const parseListen = (listen: string): { host: string; port: number; family: 4 | 6 } => {
  // WHATWG URL refuses a port above 65535 as "Invalid URL": say what is wrong with it instead.
  const port5 = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:]*):(\d+)\/?$/i.exec(listen)?.[1];
  if (port5 !== undefined && Number(port5) > 65535) {
    throw new PipelineError('config_invalid', `listen "${listen}": port ${port5} is out of range; UDP ports run 1 to 65535 (0 = any free port), e.g. udp://0.0.0.0:2055`);
  }
  let u: URL;
  try {
    u = new URL(listen);
  } catch {
    throw new PipelineError('config_invalid', `listen "${listen}" is not a URL; write udp://0.0.0.0:2055 or udp://[::]:2055`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port);
  if (u.protocol !== 'udp:' || !host || u.port === '' || !Number.isInteger(port) || port > 65535) {
    throw new PipelineError('config_invalid', `listen "${listen}" must be udp://host:port, e.g. udp://0.0.0.0:2055`);
  }
  return { host, port, family: isIPv6(host) ? 6 : 4 };
};

/**
 * A socket that cannot bind: an address in use, a privileged port or an address this host does not
 * have is the operator's to fix (`config_invalid`, exit 2), with the fix; anything else may pass
 * (`not_connected`).
 */
export const bindError = (listen: string, host: string, port: number, e: unknown): PipelineError => {
  const code = (e as NodeJS.ErrnoException).code;
  const fixes: Record<string, string> = {
    EADDRINUSE: `UDP port ${port} on ${host} is already in use (another collector or softflowd/nfcapd?). Pick another port (--listen udp://${host.includes(':') ? `[${host}]` : host}:PORT, 0 = any free port) or stop the process holding it (ss -ulpn 'sport = :${port}')`,
    EACCES: `binding port ${port} needs root or CAP_NET_BIND_SERVICE; use a port of 1024 or above, e.g. udp://${host.includes(':') ? `[${host}]` : host}:2055`,
    EADDRNOTAVAIL: `${host} is not an address of this host; use one it has, or 0.0.0.0 / [::] for all`,
  };
  const fix = code ? fixes[code] : undefined;
  return new PipelineError(fix ? 'config_invalid' : 'not_connected', `cannot listen on ${listen}: ${fix ?? errorMessage(e)}`, { listen, code }, { cause: e });
};

export class Collector {
  readonly stats: CollectorStats = { datagrams: 0, records: 0, errors: {}, fidelity: {}, sequenceGaps: {}, recvBufferBytes: 0 };
  private readonly v5: V5Decoder;
  private readonly v9: V9Decoder;
  private readonly ipfix: IpfixDecoder;
  private readonly allowed: Cidr[];
  private readonly deps: CollectorDeps;
  private readonly labels: Record<string, string>;
  private readonly exporterLabels = new Set<string>();
  private readonly labelCache = new Map<string, string>();
  private readonly pending: PendingCounts = {
    byVersion: new Map(), byExporter: new Map(), fidelity: new Map(), gaps: new Map(), records: 0, bytes: 0, sent: 0, templates: false,
  };
  /** Pending counters are written to `Metrics` when this fires (at most every METRICS_FLUSH_MS). */
  private flushTimer: NodeJS.Timeout | undefined;
  /** Wakes the consumer for a part-filled batch at most PARTIAL_BATCH_MS after its first record. */
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly sessions = new PairKey();
  private readonly listen: { host: string; port: number; family: 4 | 6 };
  private socket: Socket | undefined;
  private closed = false;
  /** Full batches waiting for the consumer, from `head` on. */
  private queue: FlowRecord[][] = [];
  private head = 0;
  /** The batch being filled (< maxBatch records). */
  private filling: FlowRecord[] = [];
  private queued = 0;
  private wake: (() => void) | undefined;

  /**
   * @param config parsed {@link CollectorConfig}: `CollectorConfig.parse({ listen: 'udp://127.0.0.1:0' })`
   * @param onBatch when given, every datagram's records go here instead of the iterator
   */
  constructor(
    readonly config: CollectorConfig,
    deps: Partial<CollectorDeps> = {},
    private readonly onBatch?: (records: FlowRecord[]) => void,
  ) {
    const c = config;
    this.listen = parseListen(c.listen);
    const metrics = deps.metrics ?? new Metrics();
    const log = deps.log ?? silentLogger();
    const id = deps.id ?? 'netflow';
    const labels = { component_kind: 'source' as const, component_type: 'netflow', component_id: id };
    this.deps = { id, metrics, log, clock: deps.clock ?? systemClock, events: deps.events ?? createEvents(log, metrics, labels) };
    this.labels = labels;
    this.allowed = c.allowedExporters.map((s) => {
      try { return parseCidr(s); } catch (e) { throw new PipelineError('config_invalid', `allowedExporters: ${errorMessage(e)}`); }
    });
    const templates = {
      lifetimeMs: c.templateLifetime, maxPerDomain: c.maxTemplatesPerDomain,
      maxPerSession: c.maxTemplatesPerExporter, maxPerExporter: c.maxTemplatesPerAddress, maxTotal: c.maxTemplates,
    };
    const opts = { clockSkewMs: c.clockSkew, maxRecordsPerDatagram: c.maxRecordsPerDatagram, templates };
    this.v5 = new V5Decoder(opts);
    this.v9 = new V9Decoder(this.deps.clock, opts);
    this.ipfix = new IpfixDecoder(this.deps.clock, opts);
    metrics.describe('conduitwatch_netflow_datagrams_total', 'counter', 'Datagrams received, by export version.');
    metrics.describe('conduitwatch_netflow_records_total', 'counter', 'Flow records decoded.');
    metrics.describe('conduitwatch_netflow_errors_total', 'counter', 'Malformed or unusable input, by reason.');
    metrics.describe('conduitwatch_netflow_fidelity_total', 'counter', 'Records or datagrams flagged (values unchanged), by reason.');
    metrics.describe('conduitwatch_netflow_sequence_gaps_total', 'counter', 'Units lost per the sequence numbers (v5 flows, v9 packets, IPFIX records).');
    metrics.describe('conduitwatch_netflow_templates', 'gauge', 'Templates held (v9 + IPFIX).');
  }

  /** Binds the socket. Throws `not_connected` when the address cannot be bound. Idempotent. */
  async open(): Promise<void> {
    if (this.socket || this.closed) return;
    const { host, port, family } = this.listen;
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: this.config.recvBufferSize });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(bindError(this.config.listen, host, port, e)));
      socket.bind(port, host, () => resolve());
    });
    socket.on('error', (e) => this.deps.events.error({ errorCode: 'socket_error', stage: 'receiving', message: errorMessage(e) }));
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    this.socket = socket;
    const a = socket.address();
    this.stats.recvBufferBytes = socket.getRecvBufferSize();
    if (this.stats.recvBufferBytes < this.config.recvBufferSize) {
      this.deps.log.warn({ requested: this.config.recvBufferSize, granted: this.stats.recvBufferBytes },
        `The kernel granted a smaller UDP receive buffer than asked; bursts may be dropped. Raise it: sysctl -w net.core.rmem_max=${this.config.recvBufferSize}`);
    }
    this.deps.log.info({ address: a.address, port: a.port, recvBufferBytes: this.stats.recvBufferBytes }, 'NetFlow/IPFIX collector listening.');
  }

  /** The bound address (after `open`). */
  address(): { address: string; port: number } {
    if (!this.socket) throw new PipelineError('not_connected', 'collector is not open');
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Unbinds and ends the iterator after what is queued. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    clearTimeout(this.flushTimer);
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.flushCounts();
    this.deps.metrics.set('conduitwatch_netflow_templates', this.labels, this.v9.templates.size + this.ipfix.templates.size);
    this.wake?.();
  }

  /** Record batches until `close()` and the queue is drained. */
  async *records(): AsyncGenerator<FlowRecord[]> {
    while (true) {
      const out = this.take();
      if (out) {
        this.pending.sent += out.length;
        this.scheduleFlush();
        yield out;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }

  /** The next full batch, else the batch being filled, else undefined. */
  private take(): FlowRecord[] | undefined {
    let out: FlowRecord[] | undefined;
    if (this.head < this.queue.length) {
      out = this.queue[this.head]!;
      this.queue[this.head++] = [];
      if (this.head === this.queue.length) { this.queue = []; this.head = 0; }
    } else if (this.filling.length > 0) {
      out = this.filling;
      this.filling = [];
    }
    if (out) this.queued -= out.length;
    return out;
  }

  /** Drops templates past their lifetime; the collector's owner may call it on a timer. */
  sweep(): number {
    return this.v9.templates.sweep() + this.ipfix.templates.sweep();
  }

  /** Handles one datagram as if it came from `rinfo` (the socket calls this; tests and benches may too). */
  receive(msg: Uint8Array, rinfo: Pick<RemoteInfo, 'address' | 'port'>): DecodeResult {
    const exporter = rinfo.address;
    const label = this.exporterLabel(exporter);
    let r: DecodeResult;
    let version = 'unknown';
    if (label === 'denied') {
      r = emptyResult();
      countError(r, 'exporter_denied');
    } else {
      const session = this.sessionOf(exporter, rinfo.port);
      const now = this.deps.clock.now();
      const v = msg.length >= 2 ? (msg[0]! << 8) | msg[1]! : -1;
      version = v === 5 ? '5' : v === 9 ? '9' : '10';
      if (v === 5) r = this.v5.decode(msg, exporter, now, session);
      else if (v === 9) r = this.v9.decode(msg, exporter, now, session);
      else if (v === 10) r = this.ipfix.decode(msg, exporter, now, session);
      else { r = emptyResult(); countError(r, 'unknown_version'); version = 'unknown'; }
    }
    this.account(r, version, label, msg.length);
    if (r.records.length > 0) this.emit(r.records);
    return r;
  }

  private account(r: DecodeResult, version: string, exporter: string, bytes: number): void {
    const { metrics, events } = this.deps;
    const n = r.records.length;
    this.stats.datagrams++;
    this.stats.records += n;
    const p = this.pending;
    p.byVersion.set(version, (p.byVersion.get(version) ?? 0) + 1);
    if (n > 0) {
      p.byExporter.set(exporter, (p.byExporter.get(exporter) ?? 0) + n);
      p.records += n;
      p.bytes += bytes;
    }
    this.scheduleFlush();
    for (const reason in r.errors) {
      const n = r.errors[reason as DecodeError]!;
      this.stats.errors[reason] = (this.stats.errors[reason] ?? 0) + n;
      metrics.add('conduitwatch_netflow_errors_total', { ...this.labels, exporter, reason }, n);
      events.violation({ code: reason, where: 'netflow', details: { exporter, version } });
    }
    for (const reason in r.fidelity) {
      const n = r.fidelity[reason as keyof DecodeResult['fidelity']]!;
      this.stats.fidelity[reason] = (this.stats.fidelity[reason] ?? 0) + n;
      p.fidelity.set(reason, (p.fidelity.get(reason) ?? 0) + n);
    }
    if (r.sequenceGap > 0) {
      this.stats.sequenceGaps[exporter] = (this.stats.sequenceGaps[exporter] ?? 0) + r.sequenceGap;
      p.gaps.set(exporter, (p.gaps.get(exporter) ?? 0) + r.sequenceGap);
    }
    if (r.templates > 0) p.templates = true;
  }

  /**
   * The exporter session key `ip|port`. The last one is reused: an exporter sends runs of datagrams,
   * and the decoders find their per-session state faster with the same string.
   */
  private sessionOf(ip: string, port: number): string {
    return this.sessions.of(ip, port);
  }

  private scheduleFlush(): void {
    if (this.flushTimer === undefined) this.flushTimer = setTimeout(this.flushCounts, METRICS_FLUSH_MS).unref();
  }

  /** Writes the summed per-datagram counters to `Metrics` (bound: it runs from a timer). */
  private readonly flushCounts = (): void => {
    this.flushTimer = undefined;
    const { metrics, events } = this.deps;
    const p = this.pending;
    for (const [version, n] of p.byVersion) metrics.add('conduitwatch_netflow_datagrams_total', { ...this.labels, version }, n);
    for (const [exporter, n] of p.byExporter) metrics.add('conduitwatch_netflow_records_total', { ...this.labels, exporter }, n);
    if (p.records > 0) events.received({ records: p.records, bytes: p.bytes });
    if (p.sent > 0) events.sent({ records: p.sent });
    for (const [reason, n] of p.fidelity) metrics.add('conduitwatch_netflow_fidelity_total', { ...this.labels, reason }, n);
    for (const [exporter, n] of p.gaps) metrics.add('conduitwatch_netflow_sequence_gaps_total', { ...this.labels, exporter }, n);
    if (p.templates) metrics.set('conduitwatch_netflow_templates', this.labels, this.v9.templates.size + this.ipfix.templates.size);
    p.byVersion.clear();
    p.byExporter.clear();
    p.fidelity.clear();
    p.gaps.clear();
    p.records = p.bytes = p.sent = 0;
    p.templates = false;
  };

  /** Wakes a waiting consumer for the part-filled batch (bound: it runs from a timer). */
  private readonly wakeConsumer = (): void => {
    this.wakeTimer = undefined;
    this.wake?.();
  };

  /** Appends to the open batch; a batch that reaches `maxBatch` waits whole for the consumer. */
  private emit(records: FlowRecord[]): void {
    if (this.onBatch) { this.onBatch(records); return; }
    if (this.queued + records.length > this.config.maxQueued) {
      this.deps.events.dropped({ records: records.length, reason: 'queue_full', intentional: false });
      return;
    }
    const max = this.config.maxBatch;
    let filling = this.filling;
    for (let i = 0; i < records.length; i++) {
      filling.push(records[i]!);
      if (filling.length >= max) { this.queue.push(filling); filling = []; }
    }
    this.filling = filling;
    this.queued += records.length;
    // A full batch goes at once; a part-filled one within PARTIAL_BATCH_MS, so that the consumer
    // does not run once per datagram when datagrams arrive one per event-loop turn.
    if (this.head < this.queue.length) this.wake?.();
    else if (this.wakeTimer === undefined && this.wake) this.wakeTimer = setTimeout(this.wakeConsumer, PARTIAL_BATCH_MS);
  }

  private isAllowed(ip: string): boolean {
    if (this.allowed.length === 0) return true;
    const v = ipToBig(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
    if (v === undefined) return false;
    for (const c of this.allowed) if (cidrContains(c, v)) return true;
    return false;
  }

  /**
   * Exporter as a metric label, bounded: denied senders ('denied') and exporters past the cap
   * ('other') share one label. Decisions are cached per IP (the CIDR check parses the address).
   */
  private exporterLabel(ip: string): string {
    const cached = this.labelCache.get(ip);
    if (cached !== undefined) return cached;
    let label: string;
    if (!this.isAllowed(ip)) label = 'denied';
    else if (this.exporterLabels.has(ip)) label = ip;
    else if (this.exporterLabels.size >= MAX_EXPORTER_LABELS) label = 'other';
    else { this.exporterLabels.add(ip); label = ip; }
    if (this.labelCache.size >= MAX_LABEL_CACHE) this.labelCache.clear();
    this.labelCache.set(ip, label);
    return label;
  }
}

/** The collector as a pipeline source unit (`type: netflow`); the CLI registers it. */
export const netflowSource = defineUnit({
  kind: 'source',
  type: 'netflow',
  summary: 'NetFlow v5/v9 and IPFIX collector on a UDP socket.',
  config: CollectorConfig,
  create: (config, ctx) => {
    const c = new Collector(config, ctx);
    return {
      open: () => c.open(),
      close: () => c.close(),
      run: () => {
        ctx.signal.addEventListener('abort', () => { void c.close(); }, { once: true });
        return c.records();
      },
    };
  },
});
