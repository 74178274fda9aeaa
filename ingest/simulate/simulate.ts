/**
 * The plant traffic simulator: writes a classic pcap of the plant in `plant.ts` polling its PLCs
 * over Modbus/TCP, with labelled anomalies injected, and the ground truth beside it.
 */
import { writeFile } from 'node:fs/promises';
import { PipelineError } from '../../core/errors.ts';
import { planAnomalies, OPEN_PORTS, SCAN_PORTS, type Label, type Planned } from './anomalies.ts';
import { FC, MAX_FILE_RECORD_REGS, MAX_WRITE_REGS, type Request } from './modbus.ts';
import { SimOptions, type SimOptionsInput, type AnomalyKind } from './options.ts';
import { PcapWriter } from './pcap-writer.ts';
import { BATCH_PHASE, BATCH_PLCS, CADENCE, EWS, HISTORIAN, HISTORIAN_REGS, HMI, PLCS, ROGUE, SCADA, SCANNER, type Host, type Plc } from './plant.ts';
import { intIn, stream, type Rng } from './prng.ts';
import { ModbusSession, ScriptActor, synProbe, type Actor, type LoopSpec, type ScriptedSegment, type SimStats } from './session.ts';

export type { Label, AnomalyKind };

/** What `simulatePlant` wrote. */
export interface SimResult {
  pcapPath: string;
  labelsPath: string;
  /** Frames written. */
  packets: number;
  /** Bytes of the pcap file. */
  bytes: number;
  /** Modbus ADUs written (requests + responses); each sits in its own frame. */
  modbusPdus: number;
  labels: Label[];
}

/** The labels file, `<out>.labels.json`. Times are epoch ms. */
export interface LabelsFile {
  seed: number;
  start: number;
  end: number;
  anomalies: Label[];
}

const MS = 1_000;

/** Min-heap of actors by (t, id). */
class ActorHeap {
  private readonly a: Actor[] = [];
  get size(): number { return this.a.length; }
  peek(): Actor | undefined { return this.a[0]; }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!, y = this.a[j]!;
    return x.t < y.t || (x.t === y.t && x.id < y.id);
  }
  private swap(i: number, j: number): void { const t = this.a[i]!; this.a[i] = this.a[j]!; this.a[j] = t; }
  push(x: Actor): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(i, p)) break; this.swap(i, p); i = p; }
  }
  /** Restores order after the top's `t` grew; drops it when done. */
  fixTop(): void {
    const a = this.a;
    if (a[0]!.t === Infinity) { const last = a.pop()!; if (a.length === 0) return; a[0] = last; }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < a.length && this.less(l, m)) m = l;
      if (r < a.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

const read = (fc: number, unit: number, addr: number, qty: number): Request => ({ fc, unit, addr, qty });

const inside = (s: number, e: number) => (tUs: number): boolean => tUs >= s && tUs < e;

/** Builds every actor of the run: the baseline sessions, adjusted by the plan, plus the anomalies'. */
const buildActors = (opts: SimOptions, plan: Planned[], stats: SimStats): Actor[] => {
  const startUs = opts.start * MS;
  const endUs = (opts.start + opts.duration) * MS;
  const cycleUs = opts.cycle * MS;
  const closeAt = endUs - 1_000_000;
  const ports = new Set<number>();
  const portFor = (r: Rng): number => {
    let p = intIn(r, 49_152, 65_535);
    while (ports.has(p)) p = p === 65_535 ? 49_152 : p + 1;
    ports.add(p);
    return p;
  };
  const actors: Actor[] = [];
  const find = (kind: AnomalyKind, plc: Plc): Label | undefined => plan.find((p) => p.label.kind === kind && p.plc === plc)?.label;
  const session = (client: Host, plc: Plc, openAt: number, close: number, loops: LoopSpec[]): void => {
    const rng = stream(opts.seed, `${client.ip}>${plc.ip}`);
    actors.push(new ModbusSession({ id: actors.length, client, server: plc, clientPort: portFor(rng), openAt, closeAt: close, loops, rng, stats }));
  };
  const inBatch = (tUs: number): boolean => {
    const phase = ((tUs - startUs) % cycleUs) / cycleUs;
    return phase >= BATCH_PHASE.from && phase < BATCH_PHASE.to;
  };
  const j = CADENCE.jitterMs;

  PLCS.forEach((plc, i) => {
    const open = startUs + i * 137_000 + 20_000;
    // HMI: FC 3 every 1000 ms and FC 1 every 2000 ms on one connection.
    const regs: LoopSpec = { requests: [read(FC.readHoldingRegisters, plc.unit, 0, plc.hmiRegs)], periodMs: CADENCE.hmiRegistersMs, jitterMs: j, phaseMs: 0 };
    const coils: LoopSpec = { requests: [read(FC.readCoils, plc.unit, 0, plc.hmiCoils)], periodMs: CADENCE.hmiCoilsMs, jitterMs: j, phaseMs: 500 };
    const hmiLoops = [regs, coils];
    const fast = find('cadence_change', plc);
    if (fast) {
      const s = fast.start * MS, e = fast.end * MS, normal = CADENCE.hmiRegistersMs * MS;
      regs.periodAt = (n) => (n < s && n + normal > s ? s - n : n >= s && n < e ? 250 * MS : normal);
    }
    const stop = find('polling_stop', plc);
    if (stop) {
      // The last exchange before the stop completes before it starts.
      const quiet = inside(stop.start * MS - 50 * MS, stop.end * MS);
      regs.active = coils.active = (t) => !quiet(t);
    }
    const wr = find('unusual_write', plc);
    if (wr) {
      hmiLoops.push({
        requests: [read(FC.writeSingleCoil, plc.unit, 40, 1), read(FC.writeSingleRegister, plc.unit, 10, 1), read(FC.writeMultipleRegisters, plc.unit, 20, 8)],
        periodMs: 15_000, jitterMs: 400, phaseMs: (wr.start * MS + 2_000 * MS - (open + 5 * MS)) / MS,
        active: inside(wr.start * MS, wr.end * MS - 2_000 * MS),
      });
    }
    session(HMI, plc, open, closeAt, hmiLoops);

    // SCADA server: FC 4 every 5 s; setpoints to the batch PLCs in the batch phase.
    const scadaLoops: LoopSpec[] = [{ requests: [read(FC.readInputRegisters, plc.unit, 0, plc.scadaRegs)], periodMs: CADENCE.scadaInputsMs, jitterMs: j, phaseMs: 250 }];
    if (BATCH_PLCS.includes(plc)) {
      scadaLoops.push({
        requests: [read(FC.writeSingleRegister, plc.unit, 100, 1), read(FC.writeMultipleRegisters, plc.unit, 110, 10)],
        periodMs: CADENCE.scadaSetpointMs, jitterMs: j, phaseMs: 2_750, active: inBatch,
      });
    }
    session(SCADA, plc, open + 40_000, closeAt, scadaLoops);

    // Historian: one trend block every 10 s.
    session(HISTORIAN, plc, open + 70_000, closeAt, [
      { requests: [read(FC.readHoldingRegisters, plc.unit, 0, HISTORIAN_REGS)], periodMs: CADENCE.historianMs, jitterMs: j, phaseMs: 1_250 },
    ]);
  });

  for (const { label, plc } of plan) {
    const s = label.start * MS, e = label.end * MS;
    if (label.kind === 'new_talker') {
      session(ROGUE, plc!, s, e - 1_000 * MS, [{ requests: [read(FC.readHoldingRegisters, plc!.unit, 0, 10)], periodMs: 1_000, jitterMs: j, phaseMs: 0 }]);
    } else if (label.kind === 'program_download') {
      const blocks: Request[] = [];
      for (let k = 0; k < 9; k++) blocks.push(read(FC.writeMultipleRegisters, plc!.unit, 1_000 + k * MAX_WRITE_REGS, MAX_WRITE_REGS));
      blocks.push(read(FC.writeFileRecord, plc!.unit, 1, MAX_FILE_RECORD_REGS));
      session(EWS, plc!, s, e - 1_000 * MS, [{ requests: blocks, periodMs: 100, jitterMs: 2, phaseMs: 0 }]);
    } else if (label.kind === 'scan') {
      actors.push(new ScriptActor(actors.length, scanScript(opts.seed, s, e)));
    }
  }
  return actors;
};

/** The scan: every PLC on every port in `SCAN_PORTS`, evenly spread over the anomaly interval. */
const scanScript = (seed: number, s: number, e: number): ScriptedSegment[] => {
  const r = stream(seed, 'scan');
  const probes = SCAN_PORTS.flatMap((port) => PLCS.map((plc) => ({ port, plc })));
  const from = s + 1_000 * MS;
  const step = Math.floor((e - 3_000 * MS - from) / probes.length);
  let srcPort = intIn(r, 40_000, 60_000);
  const segs = probes.flatMap(({ port, plc }, i) => synProbe(SCANNER, srcPort++, plc, port, OPEN_PORTS.has(port), from + i * step + intIn(r, 0, 200 * MS), r));
  return segs.sort((a, b) => a.t - b.t);
};

/** Already parsed options pass through; raw ones (durations as strings) are parsed here. */
const parseOptions = (raw: SimOptions | SimOptionsInput): SimOptions => {
  if (typeof raw.duration === 'number' && typeof raw.cycle === 'number' && typeof raw.start === 'number') return raw as SimOptions;
  const res = SimOptions.safeParse(raw);
  if (res.success) return res.data;
  const lines = res.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
  throw new PipelineError('config_invalid', `Invalid simulator options:\n  ${lines.join('\n  ')}`, { issues: res.error.issues });
};

/**
 * Simulates the plant for `opts.duration` of event time and writes `opts.out` (a classic pcap)
 * and `<out>.labels.json`. `onProgress` gets the fraction of event time written, ending with 1.
 * Takes parsed `SimOptions` (as `SimOptions.parse` returns them) or raw ones, which it parses.
 * Throws `config_invalid` for bad options or a duration too short for the requested anomalies.
 */
export async function simulatePlant(opts: SimOptions | SimOptionsInput, onProgress?: (fraction: number) => void): Promise<SimResult> {
  const o = parseOptions(opts);
  const plan = planAnomalies(o);
  const stats: SimStats = { modbusPdus: 0 };
  const heap = new ActorHeap();
  for (const a of buildActors(o, plan, stats)) if (a.t !== Infinity) heap.push(a);

  const startUs = o.start * MS;
  const spanUs = o.duration * MS;
  const w = await PcapWriter.create(o.out);
  try {
    for (let a = heap.peek(); a; a = heap.peek()) {
      if (w.full) {
        await w.flush();
        onProgress?.(Math.min(1, (a.t - startUs) / spanUs));
      }
      a.step(w);
      heap.fixTop();
    }
  } finally {
    await w.close();
  }
  onProgress?.(1);

  const labels = plan.map((p) => p.label);
  const labelsPath = `${o.out}.labels.json`;
  const file: LabelsFile = { seed: o.seed, start: o.start, end: o.start + o.duration, anomalies: labels };
  await writeFile(labelsPath, JSON.stringify(file, null, 2) + '\n');
  return { pcapPath: o.out, labelsPath, packets: w.packets, bytes: w.bytes, modbusPdus: stats.modbusPdus, labels };
}
