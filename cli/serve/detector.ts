/**
 * Detector role: a member of the detector consumer group on the flows topic. One DetectionEngine
 * per assigned partition; scores and alerts go to their topics; after each batch the engine's
 * snapshot goes to the compacted state topic, same partition, key `flows/<p>`, together with the
 * next flows offset it covers. Only then is the flows offset committed. When a partition is
 * (re)assigned the engine is restored from that snapshot and messages below its offset are
 * skipped, so a crash between the snapshot and the commit never counts a flow twice.
 *
 * State is per partition (key `flows/<p>`), not per conduit: `DetectionEngine` keeps one state for
 * all its conduits (open windows, site first-seen), and a partition's conduits always move
 * together, so one snapshot per partition restores exactly.
 *
 * Event time is global: the collector follows each batch with a watermark marker on every flows
 * partition (collector.ts), and the engine advances to it (`DetectionEngine.advance`), so a
 * partition whose conduits went quiet still closes and scores its trailing windows as one process
 * does; the end-of-input marker closes what `flush` would. A batch of markers that moved nothing
 * is not checkpointed: replaying such markers after a restore moves nothing either.
 * Left different from one process: lateness is judged per partition (a flow of conduit A is late
 * against A's partition's event time plus the markers, not against a flow of conduit B earlier in
 * the same collector batch), and the site's first-seen time (conduits that appear after the site's
 * baseline get none) is the partition's first flow, and novelty's "reverse direction" hint only
 * knows the host pairs of the partition's own conduits (the score is the same, the explanation
 * can lack the hint; a score could differ where that check changes it). Captures sliced per window (the file inputs)
 * are not affected by the first; test/integration/serve/kafka-replay.test.ts checks equality.
 *
 * Triage (incidents/) runs on each engine batch before it is published, as in replay: every alert on
 * the alerts topic carries severity, risk, severityReason and incident, and the incidents it opened
 * or joined follow on the same topic (schema `incident-json/1`, key = incident id) for the sink's
 * `incidents` table. The incidents' state is checkpointed with the engine. Incidents are grouped per
 * partition: alerts of one conduit always meet (a conduit is one partition), but a source or cause
 * shared by conduits of different partitions opens one incident in each
 * (test/integration/serve/triage.test.ts: with one flows partition they equal replay's).
 */
import { createHash } from 'node:crypto';
import type { SiteMap } from '../../core/config.ts';
import type { FlowRecord } from '../../core/records.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import type { DetectionEngine, EngineState, ScoredBatch } from '../../detectors/engine.ts';
import { HEADERS, nextOffset, TOPICS, watermarkOf, type Bus, type InBatch, type InMessage, type Subscription } from '../../bus/bus.ts';
import { decodeFlowMessage, encodeJson, SCHEMAS } from '../../bus/codec.ts';
import { deadLetter } from '../../bus/deadletter.ts';
import type { ModelUse } from '../../models/use.ts';
import type { IncidentState } from '../../incidents/incidents.ts';
import { Triage } from '../../incidents/triage.ts';
import { createEngine, restoreEngine } from '../registry.ts';
import type { BaselineOverrides } from '../../enforce/workflow/learn.ts';

type LearnedEdges = ReturnType<BaselineOverrides['learnedEdges']>;

export const DETECTOR_GROUP = 'conduitwatch-detector';

/** A state-topic value. */
export interface PartitionState {
  version: 1;
  partition: number;
  /** Next flows offset this engine has not seen. */
  nextOffset: string;
  engine: EngineState;
  /** The open incidents (incidents/); absent in snapshots written before triage ran in serve. */
  incidents?: IncidentState;
}

export const stateKey = (partition: number): string => `flows/${partition}`;

interface Held {
  engine: DetectionEngine;
  triage: Triage;
  next: bigint;
  /** Digests of the partition's last flows messages (see `RecentMessages`). */
  recent: RecentMessages;
  /** windowsScored per conduit at its last published status: only changed conduits are published again. */
  published?: Map<string, number>;
}

/**
 * The digests of the last `capacity` flows messages of a partition. A publish that landed although
 * the producer was told it failed is published again (the collector's spool, bus/spool.ts): the same
 * bytes at a new offset. The engine must not count those flows twice; the sink stores them once by
 * their ids. Held in memory only: a double that straddles a restore is not recognised.
 */
export class RecentMessages {
  private readonly ring: string[] = [];
  private readonly seen = new Set<string>();
  private at = 0;

  constructor(private readonly capacity = 4096) {}

  /** True when `value` was seen among the last messages; otherwise remembers it. */
  repeated(value: Buffer): boolean {
    const d = createHash('sha1').update(value).digest('base64');
    if (this.seen.has(d)) return true;
    if (this.ring.length < this.capacity) this.ring.push(d);
    else {
      this.seen.delete(this.ring[this.at]!);
      this.ring[this.at] = d;
      this.at = (this.at + 1) % this.capacity;
    }
    this.seen.add(d);
    return false;
  }
}

export interface DetectorOptions {
  bus: Bus;
  siteMap: SiteMap;
  runId: string;
  log: Logger;
  metrics: Metrics;
  groupId?: string;
  /** Trained models the detector engines run (`--model`); a restored engine runs the versions its snapshot names. */
  models?: ModelUse;
  /**
   * Edges analysts folded into the baseline (`rules learn`/`unlearn`, audited; enforce/workflow/learn.ts),
   * read each time a partition's engine is created or restored, so the detectors see the decisions
   * made up to then: novelty treats a learned edge as known from its first sight.
   */
  learned?: () => LearnedEdges;
}

export class DetectorRole {
  private readonly held = new Map<number, Held>();
  private sub: Subscription | undefined;

  constructor(private readonly o: DetectorOptions) {}

  async start(): Promise<void> {
    this.sub = await this.o.bus.subscribe({
      groupId: this.groupId,
      topics: [TOPICS.flows],
      onAssign: (a) => {
        const mine = new Set(a.find((x) => x.topic === TOPICS.flows)?.partitions ?? []);
        // A partition we lose may be advanced by another worker: restore it afresh if it comes back.
        for (const p of this.held.keys()) if (!mine.has(p)) this.held.delete(p);
      },
    }, (b) => this.handle(b));
  }

  get ready(): boolean {
    return this.sub?.ready ?? false;
  }

  get groupId(): string {
    return this.o.groupId ?? DETECTOR_GROUP;
  }

  /** Partitions this worker holds an engine for. */
  partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** `{ config: { novelty: { learned } } }` when analysts learned edges, else nothing. */
  private learnedConfig(): { config?: Record<string, Record<string, unknown>> } {
    const learned = this.o.learned?.() ?? [];
    return learned.length ? { config: { novelty: { learned } } } : {};
  }

  /** A snapshot's settings with today's learned edges in novelty's (the rest as it was written). */
  private withLearned(state: EngineState): EngineState {
    const learned = this.o.learned?.();
    if (!learned || !state?.config || !(state.detectors ?? []).includes('novelty')) return state;
    return { ...state, config: { ...state.config, novelty: { ...(state.config.novelty as Record<string, unknown> | undefined), learned } } };
  }

  private async engineFor(p: number): Promise<Held> {
    let h = this.held.get(p);
    if (h) return h;
    const m = (await this.o.bus.readLatest(TOPICS.state, [p])).get(stateKey(p));
    if (m) {
      const st = JSON.parse(m.value.toString('utf8'), reviveNonFinite) as PartitionState;
      h = { engine: await restoreEngine(this.o.siteMap, this.withLearned(st.engine)), triage: Triage.create(this.o.siteMap, st.incidents), next: BigInt(st.nextOffset), recent: new RecentMessages() };
      this.o.log.info({ partition: p, nextOffset: st.nextOffset }, 'Detector state restored.');
      this.o.metrics.add('conduitwatch_detector_state_restores_total', { partition: String(p) }, 1);
    } else {
      h = {
        engine: await createEngine(this.o.siteMap, { runId: this.o.runId, ...this.learnedConfig(), ...(this.o.models ? { models: this.o.models } : {}) }),
        triage: Triage.create(this.o.siteMap), next: 0n, recent: new RecentMessages(),
      };
    }
    this.held.set(p, h);
    return h;
  }

  private async handle(b: InBatch): Promise<void> {
    const h = await this.engineFor(b.partition);
    const out: ScoredBatch = { scores: [], alerts: [], series: [] };
    const bad: { message: InMessage; reason: string }[] = [];
    let pending: FlowRecord[] = [];
    let ingested = 0;
    let last: string | undefined;
    const before = h.engine.stats().watermark;
    const t0 = performance.now();
    const ingest = (): void => {
      if (pending.length === 0) return;
      append(out, h.engine.ingest(pending));
      ingested += pending.length;
      pending = [];
    };
    for (const m of b.messages) {
      if (BigInt(m.offset) < h.next) continue;
      last = m.offset;
      const wm = watermarkOf(m);
      if (wm) {
        // Flows before the marker first: the marker's time is after them in the collector's input.
        ingest();
        append(out, h.engine.advance(wm.eventTimeMs, wm.endOfInput));
        continue;
      }
      if (h.recent.repeated(m.value)) {
        this.o.metrics.add('conduitwatch_detector_repeated_messages_total', { partition: String(b.partition) }, 1);
        continue;
      }
      const d = decodeFlowMessage(m);
      if (d.ok) pending.push(...d.value);
      else bad.push({ message: m, reason: d.reason });
    }
    ingest();
    if (last === undefined) return;
    this.o.metrics.add('conduitwatch_detector_window_seconds_total', {}, (performance.now() - t0) / 1000);
    await this.emit(h, out);
    await this.publishStatus(h);
    await deadLetter(this.o.bus, bad);
    this.o.metrics.add('conduitwatch_component_received_records_total', { component_kind: 'detector', component_type: 'engine', component_id: 'detector' }, ingested);
    if (bad.length) this.o.metrics.add('conduitwatch_bus_deadletters_total', { topic: TOPICS.flows }, bad.length);
    const moved = ingested > 0 || bad.length > 0 || h.engine.stats().watermark !== before;
    h.next = BigInt(nextOffset(last));
    if (moved) await this.checkpoint(b.partition, h);
    this.o.metrics.set('conduitwatch_bus_lag_messages', { group: 'detector', partition: String(b.partition) }, Number(BigInt(b.highWatermark) - h.next));
  }

  /** Triages the batch's alerts (severity, incident), then publishes scores, alerts, incidents and series. */
  private async emit(h: Held, out: ScoredBatch): Promise<void> {
    const { alerts, incidents } = h.triage.apply(out);
    await Promise.all([
      this.o.bus.publish(TOPICS.scores, out.scores.map((s) => ({ key: s.conduit, value: encodeJson(s), headers: { [HEADERS.schema]: SCHEMAS.score, [HEADERS.eventTime]: String(s.windowEnd) } }))),
      this.o.bus.publish(TOPICS.alerts, [
        ...alerts.map((a) => ({ key: a.conduit, value: encodeJson(a), headers: { [HEADERS.schema]: SCHEMAS.alert, [HEADERS.eventTime]: String(a.tsEnd) } })),
        ...incidents.map((i) => ({ key: i.id, value: encodeJson(i), headers: { [HEADERS.schema]: SCHEMAS.incident, [HEADERS.eventTime]: String(i.lastSeen) } })),
      ]),
      // The edges' series ride the scores topic (the sink writes them to `series`).
      this.o.bus.publish(TOPICS.scores, (out.series ?? []).map((s) => ({ key: s.conduit, value: encodeJson(s), headers: { [HEADERS.schema]: SCHEMAS.series, [HEADERS.eventTime]: String(s.windowEnd) } }))),
    ]);
    this.o.metrics.add('conduitwatch_detector_scores_total', {}, out.scores.length);
    this.o.metrics.add('conduitwatch_detector_alerts_total', {}, alerts.length);
    this.o.metrics.add('conduitwatch_detector_incident_updates_total', {}, incidents.length);
  }

  /** The readiness of each conduit whose windows moved, on the scores topic (the sink writes `conduits`). */
  private async publishStatus(h: Held): Promise<void> {
    const seen = (h.published ??= new Map());
    const changed = h.engine.status().filter((c) => seen.get(c.conduit) !== c.windowsScored);
    if (changed.length === 0) return;
    await this.o.bus.publish(TOPICS.scores, changed.map((c) => ({ key: c.conduit, value: encodeJson(c), headers: { [HEADERS.schema]: SCHEMAS.conduit } })));
    for (const c of changed) seen.set(c.conduit, c.windowsScored);
  }

  private async checkpoint(p: number, h: Held): Promise<void> {
    const st: PartitionState = { version: 1, partition: p, nextOffset: h.next.toString(), engine: h.engine.snapshot(), incidents: h.triage.snapshot() };
    await this.o.bus.publish(TOPICS.state, [{ key: stateKey(p), partition: p, value: encodeJson(st), headers: { [HEADERS.schema]: SCHEMAS.state } }]);
  }

  /**
   * End of input (replays through the bus, tests): closes every open window of the held engines,
   * publishes their scores and alerts, and checkpoints. A live deployment never calls it.
   */
  async flushAll(): Promise<void> {
    for (const [p, h] of [...this.held].sort(([a], [b]) => a - b)) {
      await this.emit(h, h.engine.flush());
      await this.publishStatus(h);
      await this.checkpoint(p, h);
    }
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
  }
}

const append = (to: ScoredBatch, b: ScoredBatch): void => {
  to.scores.push(...b.scores);
  to.alerts.push(...b.alerts);
  (to.series ??= []).push(...(b.series ?? []));
};

const NON_FINITE: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
/** Inverse of `encodeJson`'s spelling of non-finite numbers. */
export const reviveNonFinite = (_k: string, v: unknown): unknown => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v);
