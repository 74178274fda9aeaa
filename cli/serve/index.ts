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
 *   --data DIR        sink: chDB data directory (default conduitwatch-data).
 *   --http H:P        /healthz, /readyz, /metrics (default 127.0.0.1:9464; "off" disables).
 *   --run-id ID       run_id stamped on stored rows (default serve-<site>); keep it stable across restarts.
 *   --prefix P        topic name prefix (tests, several deployments on one cluster).
 *   --query-listen U  sink: the read-only ClickHouse HTTP endpoint on the chDB store (default
 *                     http://127.0.0.1:8123; "off" disables). --role query serves a finished store
 *                     alone, on --listen. Credentials: CONDUITWATCH_QUERY_USER/_PASSWORD/_TOKEN.
 *   --siem URL        alerts also to a SIEM as syslog: udp://H:P, tcp://H:P or tls://H:P (its own
 *                     consumer group); --siem-format rfc5424|cef, --siem-ca FILE for TLS.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { SiteMap } from '../../core/config.ts';
import { loadSiteChecked } from '../registry.ts';
import { PipelineError } from '../../core/errors.ts';
import { createLogger, Metrics, type Logger } from '../../core/telemetry.ts';
import type { Bus } from '../../bus/bus.ts';
import { KafkaBus } from '../../bus/kafka.ts';
import { MemoryBus } from '../../bus/memory.ts';
import { Collector, CollectorConfig } from '../../ingest/netflow/collector.ts';
import { openChdb } from '../../store/chdb.ts';
import { migrate } from '../../store/migrate.ts';
import type { Store } from '../../store/store.ts';
import { QueryEndpointConfig, serveStore, type QueryEndpoint } from '../../dashboards/http/server.ts';
import { usageError } from '../args.ts';
import { openInput } from '../inputs.ts';
import { FlowPublisher, publishFlows } from './collector.ts';
import { DetectorRole } from './detector.ts';
import { startHealthServer, type HealthServer } from './http.ts';
import { SiemRole } from './siem.ts';
import { SinkRole } from './sink.ts';
import { SiemConfig } from '../../bus/siem/sender.ts';

export { DetectorRole } from './detector.ts';
export { SinkRole } from './sink.ts';
export { flowMessages, FlowPublisher, publishFlows, watermarkMessages } from './collector.ts';

export { SERVE_OPTIONS } from './options.ts';

export type Role = 'collector' | 'detector' | 'sink';
const ROLES: Role[] = ['collector', 'detector', 'sink'];

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
}

/** Running roles. */
export interface Serving {
  detector?: DetectorRole;
  sink?: SinkRole;
  siem?: SiemRole;
  collector?: Collector;
  /** Resolves when a file-fed collector finished publishing (with the flow count). */
  published?: Promise<number>;
  ready(): boolean;
  stop(): Promise<void>;
}

export const startRoles = async (o: ServeOptions): Promise<Serving> => {
  const s: Serving = { ready: () => true, stop: async () => {} };
  if (o.roles.includes('sink')) {
    if (!o.store) throw new PipelineError('config_invalid', 'The sink role needs a store (--data DIR).');
    s.sink = new SinkRole({ bus: o.bus, store: o.store, siteMap: o.siteMap, runId: o.runId, clock: o.clock, log: o.log, metrics: o.metrics });
    await s.sink.start();
  }
  if (o.siem) {
    s.siem = new SiemRole({ bus: o.bus, config: o.siem, log: o.log, metrics: o.metrics });
    await s.siem.start();
  }
  if (o.roles.includes('detector')) {
    s.detector = new DetectorRole({ bus: o.bus, siteMap: o.siteMap, runId: o.runId, log: o.log, metrics: o.metrics });
    await s.detector.start();
  }
  if (o.roles.includes('collector')) {
    if (o.inputs?.length) {
      const inputs = o.inputs;
      s.published = (async () => {
        // One publisher for all files: they replay as one stream with one end of input.
        const pub = new FlowPublisher(o.bus, o.siteMap, o.clock, o.metrics);
        for (const f of inputs) await pub.publishAll(openInput(f, { sliceMs: o.siteMap.site.detection.window }).flows);
        await pub.end();
        return pub.published;
      })();
    } else {
      const c = new Collector(CollectorConfig.parse({ listen: o.listen ?? 'udp://0.0.0.0:2055' }), { clock: o.clock, log: o.log, metrics: o.metrics });
      await c.open();
      s.collector = c;
      s.published = publishFlows(o.bus, o.siteMap, c.records(), o.clock, o.metrics);
    }
  }
  s.ready = () => (s.sink?.ready ?? true) && (s.detector?.ready ?? true) && (s.siem?.ready ?? true);
  s.stop = async () => {
    await s.collector?.close();
    await s.published?.catch(() => 0);
    await s.detector?.stop();
    await s.sink?.stop();
    await s.siem?.stop();
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

export const runServeCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  if (v.role === 'query' || (Array.isArray(v.role) && v.role.length === 1 && v.role[0] === 'query')) return runQueryRole(v);
  const rawRoles = (Array.isArray(v.role) ? v.role : v.role ? [v.role] : ['all']) as string[];
  const roles = rawRoles.flatMap((r) => (r === 'all' ? ROLES : [r]));
  const badRole = roles.find((r) => !ROLES.includes(r as Role));
  if (badRole) throw usageError('serve', `Unknown role "${badRole}"; use collector, detector, sink, all, or query (alone).`);
  if (typeof v.site !== 'string') throw usageError('serve', 'Missing --site: the site config, e.g. --site examples/lemay/site.yaml.');
  const site = loadSiteChecked(v.site);
  const siteMap = new SiteMap(site);
  const log = createLogger(process.env.CONDUITWATCH_LOG ?? 'info');
  const metrics = new Metrics();
  if (typeof v.kafka !== 'string' && roles.length < ROLES.length) {
    throw usageError('serve', 'Separate roles need a shared bus: pass --kafka HOST:PORT (or run --role all with the in-process bus).');
  }
  const bus: Bus = typeof v.kafka === 'string'
    ? await KafkaBus.connect({ brokers: v.kafka.split(','), clientId: `conduitwatch-${roles.join('-')}`, log, ...(typeof v.prefix === 'string' ? { prefix: v.prefix } : {}) })
    : new MemoryBus();
  const store = roles.includes('sink') ? await openChdb(typeof v.data === 'string' ? v.data : 'conduitwatch-data') : undefined;
  if (store) await migrate(store);
  const serving = await startRoles({
    roles: roles as Role[], siteMap, bus, clock: systemClock, log, metrics,
    runId: typeof v['run-id'] === 'string' ? v['run-id'] : `serve-${site.site}`,
    ...(store ? { store } : {}), inputs: positionals,
    ...(typeof v.listen === 'string' ? { listen: v.listen } : {}),
    ...(typeof v.siem === 'string' ? { siem: siemConfig(v) } : {}),
  });
  const querySpec = typeof v['query-listen'] === 'string' ? v['query-listen'] : 'http://127.0.0.1:8123';
  const queryEp = store && querySpec !== 'off' ? await serveStore(store, queryEndpointConfig(querySpec), { log, metrics }) : undefined;
  let http: HealthServer | undefined;
  const httpSpec = typeof v.http === 'string' ? v.http : '127.0.0.1:9464';
  if (httpSpec !== 'off') http = await startHealthServer(httpSpec, metrics, serving.ready);
  log.info({ roles, http: http?.address, query: queryEp?.url }, 'Serving.');
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (roles.length === 1 && roles[0] === 'collector' && positionals.length) void serving.published?.then(done, done);
  });
  await serving.stop();
  await queryEp?.close();
  await http?.close();
  await bus.close();
  await store?.close();
  return 0;
};
