/**
 * `conduitwatch serve --role collector|detector|sink|all`: the distributed mode (DESIGN.md
 * "Embedded default and distributed mode"). Roles talk only through the bus (Kafka with --kafka,
 * else the in-process bus, which only makes sense with --role all).
 *
 * Options (for the help text):
 *   --role R          collector | detector | sink | all (default all). Repeatable: --role detector --role sink.
 *   --kafka H:P       Kafka bootstrap broker(s), comma-separated; without it the in-process bus.
 *   --site FILE       site.yaml (zones, conduits, detection). Required.
 *   --listen URL      collector: udp://HOST:PORT for NetFlow v5/v9 and IPFIX (default udp://0.0.0.0:2055).
 *                     Positional files (pcap, pcapng, flow CSV) are published instead, then the collector stops.
 *   --allow-exporter CIDR  collector: only these exporter addresses/blocks may send (repeatable); others dropped, counted.
 *   --data DIR        sink: chDB data directory (default conduitwatch-data).
 *   --http H:P        /healthz, /readyz, /metrics (default 127.0.0.1:9464; "off" disables).
 *   --run-id ID       run_id stamped on stored rows (default serve-<site>); keep it stable across restarts.
 *   --prefix P        topic and consumer group name prefix (tests, several deployments on one cluster).
 *   --query-listen U  sink: the read-only ClickHouse HTTP endpoint on the chDB store (default
 *                     http://127.0.0.1:8123; "off" disables). --role query serves a finished store
 *                     alone, on --listen. Credentials: CONDUITWATCH_QUERY_USER/_PASSWORD/_TOKEN.
 *   --siem URL        alerts also to a SIEM as syslog: udp://H:P, tcp://H:P or tls://H:P (its own
 *                     consumer group); --siem-format rfc5424|cef, --siem-ca FILE for TLS.
 *   --spool DIR       collector: on-disk queue for publishes the bus refuses (default conduitwatch-spool).
 *   --spool-max SIZE  collector: most bytes the spool keeps, e.g. 512MiB (default 1GiB); oldest dropped past it.
 *   --spool-age DUR   collector: spooled publishes older than this are dropped (default 24h).
 *
 * Shutdown (SIGTERM/SIGINT) is bounded (`STOP_LIMIT_MS` per role): a collector that cannot reach the
 * bus leaves what it holds in the spool, a sink whose store refuses writes leaves its batch
 * uncommitted on the bus (the next sink inserts it); each says so in one log line.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { SiteMap } from '../../core/config.ts';
import { errorMessage, PipelineError } from '../../core/errors.ts';
import { loadSiteChecked } from '../registry.ts';
import { createLogger, Metrics, type Logger } from '../../core/telemetry.ts';
import { duration } from '../../core/units.ts';
import { z } from 'zod';
import type { Bus } from '../../bus/bus.ts';
import { KafkaBus } from '../../bus/kafka.ts';
import { MemoryBus } from '../../bus/memory.ts';
import { Spool } from '../../bus/spool.ts';
import { Collector, CollectorConfig } from '../../ingest/netflow/collector.ts';
import { openChdb } from '../../store/chdb.ts';
import { migrate } from '../../store/migrate.ts';
import type { Store } from '../../store/store.ts';
import { QueryEndpointConfig, serveStore, type QueryEndpoint } from '../../dashboards/http/server.ts';
import { usageError } from '../args.ts';
import { allowedExporters, openInput } from '../inputs.ts';
import { FlowPublisher } from './collector.ts';
import { DETECTOR_GROUP, DetectorRole } from './detector.ts';
import { BaselineOverrides } from '../../enforce/workflow/learn.ts';
import { startHealthServer, type HealthServer } from './http.ts';
import { SiemRole } from './siem.ts';
import { SINK_GROUP, SinkRole } from './sink.ts';
import { reach, ReachConfig } from './reach.ts';
import { serveFigures, summaryText } from './summary.ts';
import { TOPICS } from '../../bus/bus.ts';
import { formatDuration } from '../../core/units.ts';
import { modelDetectorSetup, type ModelUse } from '../../models/use.ts';
import { modelUseArg } from '../models-args.ts';
import { SiemConfig } from '../../bus/siem/sender.ts';
import { Inventory } from '../../inventory/inventory.ts';
import { DEFAULT_SECURITY_PATTERNS, securityMatcher } from '../../detectors/security.ts';
import { protocolSecurityOp } from '../security-ops.ts';

export { DetectorRole } from './detector.ts';
export { SinkRole } from './sink.ts';
export { flowMessages, FlowPublisher, publishFlows, watermarkMessages } from './collector.ts';

export { SERVE_OPTIONS } from './options.ts';

export type Role = 'collector' | 'detector' | 'sink';
const ROLES: Role[] = ['collector', 'detector', 'sink'];

/** `1073741824`, `512MiB`, `1GiB`, `64KiB`: bytes. */
const byteSize = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(String(v).trim());
  if (!m) { ctx.addIssue({ code: 'custom', message: `"${v}" is not a size; write bytes or e.g. 512MiB, 1GiB` }); return z.NEVER; }
  return Math.floor(Number(m[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(m[2] ?? 'B'));
});

/** The collector's spool (bus/spool.ts). */
export const SpoolConfig = z.object({
  dir: z.string().min(1).default('conduitwatch-spool')
    .describe('Directory of the collector\'s on-disk queue: publishes the bus refuses wait there and are published in order once it is back.'),
  maxBytes: byteSize.default('1GiB')
    .describe('Most bytes the spool keeps; past it the oldest entries are dropped and counted (conduitwatch_spool_dropped_records_total{reason="size"}).'),
  maxAge: duration.default('24h')
    .describe('Spooled publishes older than this are dropped and counted (reason "age") instead of published.'),
}).strict();
export type SpoolConfig = z.output<typeof SpoolConfig>;

/** How long each role may take to stop before the process gives up on it and says what was left. */
export const STOP_LIMIT_MS = 15_000;

export interface ServeOptions {
  roles: Role[];
  siteMap: SiteMap;
  bus: Bus;
  runId: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Sink: the store (opened by the caller). */
  store?: Store;
  /** Collector: publish these files instead of listening. */
  inputs?: string[];
  listen?: string;
  /** Forward alerts to a SIEM (bus/siem/). */
  siem?: SiemConfig;
  /** Detector: trained models to run beside the detectors (`--model`). */
  models?: ModelUse;
  /** Detector: the data directory whose baseline overrides (`rules learn`/`unlearn`) the engines take. */
  overridesDir?: string;
  /** Collector: exporter addresses or CIDR blocks allowed to send (`--allow-exporter`); others are dropped and counted. */
  allowedExporters?: string[];
  /** Collector: the spool; without one a publish the bus refuses ends the collector. */
  spool?: SpoolConfig;
  /** Per-role stop bound, ms (default STOP_LIMIT_MS). */
  stopLimitMs?: number;
  /** Prepended to the consumer group ids (--prefix: deployments sharing a cluster share no group). */
  groupPrefix?: string;
}

/** Running roles. */
export interface Serving {
  detector?: DetectorRole;
  sink?: SinkRole;
  siem?: SiemRole;
  collector?: Collector;
  /** Resolves when a file-fed collector finished publishing (with the flow count). */
  published?: Promise<number>;
  publisher?: FlowPublisher;
  ready(): boolean;
  stop(): Promise<void>;
}

/** The learned edges of a data directory's baseline overrides, read afresh on each call. */
const learnedFrom = (dir: string) => () => new BaselineOverrides(dir).learnedEdges();

export const startRoles = async (o: ServeOptions): Promise<Serving> => {
  const s: Serving = { ready: () => true, stop: async () => {} };
  if (o.roles.includes('sink')) {
    if (!o.store) throw new PipelineError('config_invalid', 'The sink role needs a store (--data DIR).');
    const inventory = new Inventory({ zoneOf: (ip) => o.siteMap.zoneOf(ip), learnMs: o.siteMap.baselineMs, isSecurityOp: securityMatcher(DEFAULT_SECURITY_PATTERNS, protocolSecurityOp) });
    s.sink = new SinkRole({
      bus: o.bus, store: o.store, siteMap: o.siteMap, runId: o.runId, clock: o.clock, log: o.log, metrics: o.metrics,
      groupId: `${o.groupPrefix ?? ''}${SINK_GROUP}`,
      inventory: { inventory, writer: `sink:${process.pid}:${o.clock.now()}` },
    });
    await s.sink.start();
  }
  if (o.siem) {
    s.siem = new SiemRole({ bus: o.bus, config: o.siem, log: o.log, metrics: o.metrics });
    await s.siem.start();
  }
  if (o.roles.includes('detector')) {
    s.detector = new DetectorRole({ bus: o.bus, siteMap: o.siteMap, runId: o.runId, log: o.log, metrics: o.metrics, groupId: `${o.groupPrefix ?? ''}${DETECTOR_GROUP}`, ...(o.models ? { models: o.models } : {}),
      ...(o.overridesDir ? { learned: learnedFrom(o.overridesDir) } : {}) });
    await s.detector.start();
  }
  if (o.roles.includes('collector')) {
    const spool = o.spool
      ? await Spool.open({ dir: o.spool.dir, maxBytes: o.spool.maxBytes, maxAgeMs: o.spool.maxAge, clock: o.clock, log: o.log, metrics: o.metrics })
      : undefined;
    // One publisher for all files: they replay as one stream with one end of input.
    const pub = new FlowPublisher(o.bus, o.siteMap, o.clock, o.metrics, { ...(spool ? { spool } : {}), log: o.log });
    s.publisher = pub;
    if (o.inputs?.length) {
      const inputs = o.inputs;
      s.published = (async () => {
        for (const f of inputs) await pub.publishAll(openInput(f, { sliceMs: o.siteMap.site.detection.window }).flows);
        await pub.end();
        o.metrics.set('conduitwatch_collector_inputs_done', {}, 1);
        o.log.info({ event: 'inputs_done', inputs, flows: pub.published },
          `Inputs done: ${pub.published.toLocaleString('en-US')} flows from ${inputs.join(', ')} published, end of input marked.`);
        return pub.published;
      })();
    } else {
      const c = new Collector(CollectorConfig.parse({ listen: o.listen ?? 'udp://0.0.0.0:2055', ...(o.allowedExporters ? { allowedExporters: o.allowedExporters } : {}) }),
        { clock: o.clock, log: o.log, metrics: o.metrics });
      await c.open();
      s.collector = c;
      s.published = pub.publishAll(c.records());
    }
    // A publish the bus refused with no spool to take it: the collector stops publishing, says why
    // and the process stays up for its health endpoint to report it (never an unhandled rejection).
    s.published.catch((e: unknown) => o.log.error({ err: errorMessage(e), event: 'collector_failed' }, 'The collector stopped publishing.'));
  }
  s.ready = () => (s.sink?.ready ?? true) && (s.detector?.ready ?? true) && (s.siem?.ready ?? true);
  const limit = o.stopLimitMs ?? STOP_LIMIT_MS;
  s.stop = async () => {
    await bounded(o.log, 'collector', limit, async () => {
      await s.collector?.close();
      await s.published?.catch(() => 0);
      await s.publisher?.close(limit / 2);
    });
    await bounded(o.log, 'detector', limit, async () => s.detector?.stop());
    await bounded(o.log, 'sink', limit, async () => s.sink?.stop());
    await bounded(o.log, 'siem', limit, async () => s.siem?.stop());
  };
  return s;
};

/** The query endpoint's config from a listen address and CONDUITWATCH_QUERY_USER/_PASSWORD/_TOKEN. */
export const queryEndpointConfig = (listen: string, env: NodeJS.ProcessEnv = process.env): QueryEndpointConfig =>
  QueryEndpointConfig.parse({
    listen,
    ...(env.CONDUITWATCH_QUERY_USER ? { user: env.CONDUITWATCH_QUERY_USER } : {}),
    ...(env.CONDUITWATCH_QUERY_PASSWORD ? { password: env.CONDUITWATCH_QUERY_PASSWORD } : {}),
    ...(env.CONDUITWATCH_QUERY_TOKEN ? { token: env.CONDUITWATCH_QUERY_TOKEN } : {}),
  });

const siemConfig = (v: Record<string, unknown>): SiemConfig => {
  const r = SiemConfig.safeParse({
    url: v.siem, ...(typeof v['siem-format'] === 'string' ? { format: v['siem-format'] } : {}),
    ...(typeof v['siem-ca'] === 'string' ? { caFile: v['siem-ca'] } : {}),
  });
  if (!r.success) throw usageError('serve', `--siem: ${r.error.issues.map((i) => `${i.path.join('.') || 'url'}: ${i.message}`).join('; ')}`);
  return r.data;
};

/** `serve --role query`: a finished store served read-only until SIGINT/SIGTERM. */
const runQueryRole = async (v: Record<string, unknown>): Promise<number> => {
  const log = createLogger(process.env.CONDUITWATCH_LOG ?? 'info');
  const dir = typeof v.data === 'string' ? v.data : 'conduitwatch-data';
  const store = await openChdb(dir);
  let ep: QueryEndpoint | undefined;
  try {
    ep = await serveStore(store, queryEndpointConfig(typeof v.listen === 'string' ? v.listen : 'http://127.0.0.1:8123'), { log, metrics: new Metrics() });
    process.stdout.write(`Serving ${store.dir} read-only on ${ep.url} (ClickHouse HTTP interface). Ctrl-C stops.\n`);
    await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  } finally {
    await ep?.close();
    await store.close();
  }
  return 0;
};

/** Runs a role's stop; past `limitMs` it logs that the role was left running and returns. */
const bounded = async (log: Logger, role: string, limitMs: number, stop: () => Promise<unknown>): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), limitMs); });
  const done = stop().then(() => 'done' as const, (e: unknown) => { log.warn({ role, err: errorMessage(e) }, 'Stopping a role failed.'); return 'done' as const; });
  const how = await Promise.race([done, late]);
  clearTimeout(timer);
  if (how === 'late') log.warn({ role, limitMs, event: 'stop_timeout' }, `The ${role} role did not stop within ${limitMs} ms; leaving it (what it had not written stays on the bus or in the spool).`);
};

export const runServeCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  if (v.role === 'query' || (Array.isArray(v.role) && v.role.length === 1 && v.role[0] === 'query')) return runQueryRole(v);
  const rawRoles = (Array.isArray(v.role) ? v.role : v.role ? [v.role] : ['all']) as string[];
  const roles = rawRoles.flatMap((r) => (r === 'all' ? ROLES : [r]));
  const badRole = roles.find((r) => !ROLES.includes(r as Role));
  if (badRole) throw usageError('serve', `Unknown role "${badRole}"; use collector, detector, sink, all, or query (alone).`);
  if (typeof v.site !== 'string') throw usageError('serve', 'Missing --site: the site config, e.g. --site examples/lemay/site.yaml.');
  const site = loadSiteChecked(v.site);
  const siteMap = new SiteMap(site);
  const models = modelUseArg('serve', v);
  const reachConfig = parseReach(v);
  // Refuse a missing model or a feature-spec mismatch at start, not at the first partition assignment.
  const pinned = models ? modelDetectorSetup(models, {}, site.detection.window).config ?? {} : {};
  const log = createLogger(process.env.CONDUITWATCH_LOG ?? 'info');
  const metrics = new Metrics();
  if (typeof v.kafka !== 'string' && roles.length < ROLES.length) {
    throw usageError('serve', 'Separate roles need a shared bus: pass --kafka HOST:PORT (or run --role all with the in-process bus).');
  }
  const collecting = roles.includes('collector');
  // The in-process bus never refuses a publish: only a collector on Kafka gets a spool.
  const spool = collecting && typeof v.kafka === 'string' ? parseSpool(v) : undefined;
  const startedAt = systemClock.now();
  if (typeof v.kafka === 'string') {
    const brokers = v.kafka.split(',');
    await reach({
      service: 'Kafka', address: brokers.join(','), probe: () => KafkaBus.probe(brokers),
      fix: 'Start the broker, or pass --kafka HOST:PORT of a listener it advertises (its advertised.listeners).',
    }, { config: reachConfig, clock: systemClock, log, metrics });
  }
  const bus: Bus = typeof v.kafka === 'string'
    ? await KafkaBus.connect({
      brokers: v.kafka.split(','), clientId: `conduitwatch-${roles.join('-')}`, log, ...(typeof v.prefix === 'string' ? { prefix: v.prefix } : {}),
      // With a spool behind it the collector gives up on a publish after a few seconds, not minutes.
      ...(roles.length === 1 && collecting ? { retries: 4 } : {}),
    })
    : new MemoryBus();
  const store = roles.includes('sink') ? await openChdb(typeof v.data === 'string' ? v.data : 'conduitwatch-data') : undefined;
  if (store) await migrate(store);
  const serving = await startRoles({
    roles: roles as Role[], siteMap, bus, clock: systemClock, log, metrics,
    runId: typeof v['run-id'] === 'string' ? v['run-id'] : `serve-${site.site}`,
    ...(store ? { store } : {}), inputs: positionals,
    ...(typeof v.listen === 'string' ? { listen: v.listen } : {}),
    ...(typeof v.siem === 'string' ? { siem: siemConfig(v) } : {}),
    ...(models ? { models } : {}),
    overridesDir: typeof v.data === 'string' ? v.data : 'conduitwatch-data',
    ...(allowedExporters(v) ? { allowedExporters: allowedExporters(v)! } : {}),
    ...(spool ? { spool } : {}),
    ...(typeof v.prefix === 'string' ? { groupPrefix: v.prefix } : {}),
  });
  const querySpec = typeof v['query-listen'] === 'string' ? v['query-listen'] : 'http://127.0.0.1:8123';
  const queryEp = store && querySpec !== 'off' ? await serveStore(store, queryEndpointConfig(querySpec), { log, metrics }) : undefined;
  let http: HealthServer | undefined;
  const httpSpec = typeof v.http === 'string' ? v.http : '127.0.0.1:9464';
  if (httpSpec !== 'off') http = await startHealthServer(httpSpec, metrics, serving.ready);
  log.info({ roles, http: http?.address, query: queryEp?.url, ...(models ? { models: Object.fromEntries(Object.entries(pinned).map(([k, c]) => [k, (c as { model: string }).model])) } : {}) }, 'Serving.');
  const stopping = new AbortController();
  // Signal handlers do not hold the event loop: with the in-process bus idle and no listener
  // (--http off, --query-listen off) Node would end the process as an unsettled await (exit 13).
  const alive = setInterval(() => {}, 60_000);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (roles.length === 1 && roles[0] === 'collector' && positionals.length) void serving.published?.then(done, done);
    // Files through a detector and a sink of this process: say when all of it is scored and stored.
    if (positionals.length && serving.detector && serving.sink && serving.published) {
      const groups: [string, typeof TOPICS[keyof typeof TOPICS]][] = [
        [serving.detector.groupId, TOPICS.flows], [serving.sink.groupId, TOPICS.flows], [serving.sink.groupId, TOPICS.scores], [serving.sink.groupId, TOPICS.alerts]];
      void serving.published.then(async () => {
        if (!(await caughtUp(bus, groups, stopping.signal))) return;
        const f = serveFigures(metrics, { collector: false, udp: false, detector: false, sink: true, siem: false }, systemClock.now() - startedAt);
        log.info({ event: 'inputs_stored', runId: typeof v['run-id'] === 'string' ? v['run-id'] : `serve-${site.site}`, ...f.sink },
          `Inputs scored and stored: ${f.sink!.flows.toLocaleString('en-US')} flows, ${f.sink!.alerts.toLocaleString('en-US')} alerts, ` +
          `${f.sink!.incidents.toLocaleString('en-US')} incident versions after ${formatDuration(Math.max(1000, Math.round(f.uptimeMs / 1000) * 1000))}. Still serving${queryEp ? ` (the store answers read-only on ${queryEp.url})` : ''}; Ctrl-C stops.`);
      }, () => {});
    }
  });
  stopping.abort();
  clearInterval(alive);
  await serving.stop();
  await queryEp?.close();
  await http?.close();
  await bus.close();
  await store?.close();
  const figures = serveFigures(metrics, {
    collector: collecting, udp: collecting && positionals.length === 0, detector: roles.includes('detector'), sink: roles.includes('sink'), siem: serving.siem !== undefined,
  }, systemClock.now() - startedAt);
  log.info({ event: 'serve_stopped', ...figures }, summaryText(figures));
  return 0;
};

/**
 * True once every (group, topic) committed the topic's end (polled every 500 ms); false when
 * `signal` aborts first.
 */
const caughtUp = async (bus: Bus, groups: [string, typeof TOPICS[keyof typeof TOPICS]][], signal: AbortSignal): Promise<boolean> => {
  while (!signal.aborted) {
    let all = true;
    for (const [group, topic] of groups) {
      const [end, done] = await Promise.all([bus.endOffsets(topic), bus.committed(group, topic)]).catch(() => [new Map([[0, '1']]), new Map()] as const);
      if (![...end].every(([p, e]) => e === '0' || done.get(p) === e)) { all = false; break; }
    }
    if (all) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
};

const parseReach = (v: Record<string, unknown>): ReachConfig => {
  const res = ReachConfig.safeParse(typeof v['connect-timeout'] === 'string' ? { connectTimeout: v['connect-timeout'] } : {});
  if (!res.success) throw usageError('serve', `--connect-timeout: ${res.error.issues.map((i) => i.message).join('; ')}.`);
  return res.data;
};

const parseSpool = (v: Record<string, unknown>): SpoolConfig => {
  const res = SpoolConfig.safeParse({
    ...(typeof v.spool === 'string' ? { dir: v.spool } : {}),
    ...(typeof v['spool-max'] === 'string' ? { maxBytes: v['spool-max'] } : {}),
    ...(typeof v['spool-age'] === 'string' ? { maxAge: v['spool-age'] } : {}),
  });
  if (!res.success) throw usageError('serve', `Bad spool option: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`);
  return res.data;
};
