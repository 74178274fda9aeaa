/**
 * Where the injected anomalies go. Each one gets an exact interval after a baseline of two full
 * production cycles, lasts `ANOMALY_MS`, and is separated from the next and from the end of the
 * capture by at least `GAP_MS` of normal traffic.
 */
import { PipelineError } from '../../core/errors.ts';
import { formatDuration } from '../../core/units.ts';
import type { AnomalyKind, SimOptions } from './options.ts';
import { EWS, FIELD_CIDR, HMI, PLCS, ROGUE, SCANNER, type Plc } from './plant.ts';
import { intIn, stream } from './prng.ts';

/** Ground truth of one injected anomaly. Times are epoch ms, `end` exclusive. */
export interface Label {
  id: string;
  kind: AnomalyKind;
  start: number;
  end: number;
  src: string;
  /** An address, or the field zone's block for the scan. */
  dst: string;
  dstPort?: number;
  description: string;
}

/** A label and the PLC it targets (none for the scan). */
export interface Planned {
  label: Label;
  plc: Plc | undefined;
}

/** Length of each anomaly: long enough that 60 s windows see it fully at least twice. */
export const ANOMALY_MS = 180_000;
/** Clean traffic before, between and after anomalies. */
export const GAP_MS = 120_000;
/** Production cycles of clean traffic before the first anomaly. */
export const BASELINE_CYCLES = 2;

/** Shortest duration that fits `n` anomalies with production cycle `cycleMs`. */
export const minimumDuration = (n: number, cycleMs: number): number =>
  n === 0 ? 0 : BASELINE_CYCLES * cycleMs + n * (ANOMALY_MS + GAP_MS) + GAP_MS;

const describe = (kind: AnomalyKind, plc: Plc | undefined): { src: string; dst: string; dstPort?: number; description: string } => {
  const p = plc!;
  switch (kind) {
    case 'new_talker':
      return { src: ROGUE.ip, dst: p.ip, dstPort: 502, description: `Host ${ROGUE.ip}, never seen before, opens Modbus/TCP to ${p.name} (${p.ip}) and polls FC 3 every 1000 ms.` };
    case 'unusual_write':
      return { src: HMI.ip, dst: p.ip, dstPort: 502, description: `The HMI (${HMI.ip}), which only reads, writes FC 5, 6 and 16 to ${p.name} (${p.ip}) every 15 s on its polling connection.` };
    case 'cadence_change':
      return { src: HMI.ip, dst: p.ip, dstPort: 502, description: `The HMI's FC 3 poll of ${p.name} (${p.ip}) runs every 250 ms instead of 1000 ms.` };
    case 'polling_stop':
      return { src: HMI.ip, dst: p.ip, dstPort: 502, description: `The HMI stops polling ${p.name} (${p.ip}): no FC 3 or FC 1 requests; the connection stays open and idle.` };
    case 'scan':
      return { src: SCANNER.ip, dst: FIELD_CIDR, description: `Host ${SCANNER.ip} SYN-scans every PLC in ${FIELD_CIDR} on ${SCAN_PORTS.length} ICS and IT ports (502, 102, 44818, 20000, 2404, …).` };
    case 'program_download':
      return { src: EWS.ip, dst: p.ip, dstPort: 502, description: `The engineering workstation (${EWS.ip}) downloads a program to ${p.name} (${p.ip}): FC 16 blocks of 123 registers and FC 21 file records every 100 ms.` };
  }
};

/** Ports the scan probes; 502 and 80 are open on every PLC. */
export const SCAN_PORTS = [502, 102, 44818, 20000, 2404, 4840, 1911, 9600, 789, 18245, 80, 443, 21, 22, 23];
export const OPEN_PORTS = new Set([502, 80]);

/**
 * Places `opts.inject` in the capture. Spreads them evenly over the time after the baseline,
 * with a seeded offset inside each slot. Throws `config_invalid` with the minimum duration when
 * they do not fit.
 */
export const planAnomalies = (opts: SimOptions): Planned[] => {
  const n = opts.inject.length;
  if (n === 0) return [];
  const need = minimumDuration(n, opts.cycle);
  if (opts.duration < need) {
    throw new PipelineError('config_invalid',
      `duration ${formatDuration(opts.duration)} is too short to inject ${n} anomal${n === 1 ? 'y' : 'ies'} (${opts.inject.join(', ')}) with cycle ${formatDuration(opts.cycle)}: ` +
      `it needs at least ${formatDuration(need)} (${BASELINE_CYCLES} production cycles of baseline, then ${n} × (${formatDuration(ANOMALY_MS)} anomaly + ${formatDuration(GAP_MS)} gap), then ${formatDuration(GAP_MS)}). ` +
      `Raise duration to ${formatDuration(need)} or more, shorten cycle, or inject fewer anomalies.`,
      { field: 'duration', minimumMs: need });
  }
  const rng = stream(opts.seed, 'plan');
  const baselineEnd = opts.start + BASELINE_CYCLES * opts.cycle;
  const slot = Math.floor((opts.duration - BASELINE_CYCLES * opts.cycle - GAP_MS) / n);
  const slack = slot - ANOMALY_MS - GAP_MS;
  const victims = PLCS.slice();
  return opts.inject.map((kind, i) => {
    const offset = Math.floor(intIn(rng, 0, Math.max(0, slack)) / 1000) * 1000;
    const start = baselineEnd + GAP_MS + i * slot + offset;
    let plc: Plc | undefined;
    if (kind !== 'scan') {
      // Distinct PLCs while there are enough, so one anomaly's edge is not another's.
      const k = intIn(rng, 0, victims.length - 1);
      plc = victims.splice(k, 1)[0]!;
    }
    const d = describe(kind, plc);
    return { label: { id: `${kind}-${i + 1}`, kind, start, end: start + ANOMALY_MS, ...d }, plc };
  });
};
