/**
 * Detector role: a member of the detector consumer group on the flows topic. One DetectionEngine
 * per assigned partition; scores and alerts go to their topics; after each batch the engine's
 * snapshot goes to the compacted state topic, same partition, key `flows/<p>`, together with the
 * next flows offset it covers. Only then is the flows offset committed. When a partition is
 * (re)assigned the engine is restored from that snapshot and messages below its offset are
 * skipped, so a crash between the snapshot and the commit never counts a flow twice.
 *
 * State is per partition, not per conduit as topics.yaml suggests (`detector/conduit`):
 * `DetectionEngine` keeps one state for all its conduits (open windows, site first-seen), and a
 * partition's conduits always move together, so one snapshot per partition restores exactly.
 *
 * Event time is per partition: with several flows partitions, a partition's watermark stops at its
 * own last flow, so an edge that went quiet is scored in fewer trailing empty windows than in one
 * process, and lateness is judged against the partition's flows only. With one flows partition the
 * answers equal runReplay's exactly (test/integration/serve/kafka-replay.test.ts). Equality with
 * many partitions needs the collector to broadcast its watermark to every partition and an engine
 * call that advances the watermark without flows (not in DetectionEngine's public API yet).
 */
import type { SiteMap } from '../../core/config.ts';
import type { Metrics } from '../../core/telemetry.ts';
import type { Logger } from '../../core/telemetry.ts';
import { DetectionEngine, type EngineState, type ScoredBatch } from '../../detectors/engine.ts';
import { HEADERS, nextOffset, TOPICS, type Bus, type InBatch, type InMessage, type Subscription } from '../../bus/bus.ts';
import { decodeFlows, encodeJson, SCHEMAS } from '../../bus/codec.ts';
import { deadLetter } from '../../bus/deadletter.ts';

export const DETECTOR_GROUP = 'conduitwatch-detector';

/** A state-topic value. */
export interface PartitionState {
  version: 1;
  partition: number;
  /** Next flows offset this engine has not seen. */
  nextOffset: string;
  engine: EngineState;
}

export const stateKey = (partition: number): string => `flows/${partition}`;

interface Held {
  engine: DetectionEngine;
  next: bigint;
}

export interface DetectorOptions {
  bus: Bus;
  siteMap: SiteMap;
  runId: string;
  log: Logger;
  metrics: Metrics;
  groupId?: string;
}

export class DetectorRole {
  private readonly held = new Map<number, Held>();
  private sub: Subscription | undefined;

  constructor(private readonly o: DetectorOptions) {}

  async start(): Promise<void> {
    this.sub = await this.o.bus.subscribe({
      groupId: this.o.groupId ?? DETECTOR_GROUP,
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

  /** Partitions this worker holds an engine for. */
  partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  private async engineFor(p: number): Promise<Held> {
    let h = this.held.get(p);
    if (h) return h;
    const m = (await this.o.bus.readLatest(TOPICS.state, [p])).get(stateKey(p));
    if (m) {
      const st = JSON.parse(m.value.toString('utf8'), reviveNonFinite) as PartitionState;
      h = { engine: DetectionEngine.restore(this.o.siteMap, st.engine), next: BigInt(st.nextOffset) };
      this.o.log.info({ partition: p, nextOffset: st.nextOffset }, 'Detector state restored.');
    } else {
      h = { engine: new DetectionEngine(this.o.siteMap, { runId: this.o.runId }), next: 0n };
    }
    this.held.set(p, h);
    return h;
  }

  private async handle(b: InBatch): Promise<void> {
    const h = await this.engineFor(b.partition);
    const flows = [];
    const bad: { message: InMessage; reason: string }[] = [];
    let last: string | undefined;
    for (const m of b.messages) {
      if (BigInt(m.offset) < h.next) continue;
      last = m.offset;
      const d = decodeFlows(m.value);
      if (d.ok) flows.push(...d.value);
      else bad.push({ message: m, reason: d.reason });
    }
    if (last === undefined) return;
    const t0 = performance.now();
    const out = h.engine.ingest(flows);
    this.o.metrics.add('conduitwatch_detector_window_seconds_total', {}, (performance.now() - t0) / 1000);
    await this.emit(out);
    await deadLetter(this.o.bus, bad);
    this.o.metrics.add('conduitwatch_component_received_records_total', { component_kind: 'detector', component_type: 'engine', component_id: 'detector' }, flows.length);
    if (bad.length) this.o.metrics.add('conduitwatch_bus_deadletters_total', { topic: TOPICS.flows }, bad.length);
    h.next = BigInt(nextOffset(last));
    await this.checkpoint(b.partition, h);
    this.o.metrics.set('conduitwatch_bus_lag_messages', { group: 'detector', partition: String(b.partition) }, Number(BigInt(b.highWatermark) - h.next));
  }

  private async emit(out: ScoredBatch): Promise<void> {
    await Promise.all([
      this.o.bus.publish(TOPICS.scores, out.scores.map((s) => ({ key: s.conduit, value: encodeJson(s), headers: { [HEADERS.schema]: SCHEMAS.score }, timestamp: s.windowEnd }))),
      this.o.bus.publish(TOPICS.alerts, out.alerts.map((a) => ({ key: a.conduit, value: encodeJson(a), headers: { [HEADERS.schema]: SCHEMAS.alert }, timestamp: a.tsEnd }))),
    ]);
    this.o.metrics.add('conduitwatch_detector_scores_total', {}, out.scores.length);
    this.o.metrics.add('conduitwatch_detector_alerts_total', {}, out.alerts.length);
  }

  private async checkpoint(p: number, h: Held): Promise<void> {
    const st: PartitionState = { version: 1, partition: p, nextOffset: h.next.toString(), engine: h.engine.snapshot() };
    await this.o.bus.publish(TOPICS.state, [{ key: stateKey(p), partition: p, value: encodeJson(st), headers: { [HEADERS.schema]: SCHEMAS.state } }]);
  }

  /**
   * End of input (replays through the bus, tests): closes every open window of the held engines,
   * publishes their scores and alerts, and checkpoints. A live deployment never calls it.
   */
  async flushAll(): Promise<void> {
    for (const [p, h] of [...this.held].sort(([a], [b]) => a - b)) {
      await this.emit(h.engine.flush());
      await this.checkpoint(p, h);
    }
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
  }
}

const NON_FINITE: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };
/** Inverse of `encodeJson`'s spelling of non-finite numbers. */
export const reviveNonFinite = (_k: string, v: unknown): unknown => (typeof v === 'string' && v in NON_FINITE ? NON_FINITE[v] : v);
