/**
 * The simulated plant: hosts, zones, and who polls whom how often. `examples/sim/site.yaml`
 * declares the same zones; a unit test keeps the two in step.
 */

/** A host on the plant network. */
export interface Host {
  name: string;
  ip: string;
  zone: 'scada' | 'ops' | 'field' | 'unknown';
  /** IP TTL its stack uses (Windows 128, embedded and Linux 64). */
  ttl: number;
}

/** A PLC and the shape of its register map. */
export interface Plc extends Host {
  unit: number;
  /** Holding registers the HMI reads each poll (FC 3). */
  hmiRegs: number;
  /** Coils the HMI reads each poll (FC 1). */
  hmiCoils: number;
  /** Input registers the SCADA server reads each poll (FC 4). */
  scadaRegs: number;
  /** Typical response time of its Modbus server, µs (PLC scan time). */
  responseUs: number;
}

export const HMI: Host = { name: 'hmi', ip: '10.10.1.10', zone: 'scada', ttl: 128 };
export const SCADA: Host = { name: 'scada-server', ip: '10.10.1.11', zone: 'scada', ttl: 128 };
export const HISTORIAN: Host = { name: 'historian', ip: '10.10.2.20', zone: 'ops', ttl: 128 };
export const EWS: Host = { name: 'ews', ip: '10.10.2.30', zone: 'ops', ttl: 128 };
/** The host that appears in `new_talker`. */
export const ROGUE: Host = { name: 'rogue', ip: '10.10.9.99', zone: 'unknown', ttl: 64 };
/** The host that runs the `scan`. */
export const SCANNER: Host = { name: 'scanner', ip: '10.10.9.50', zone: 'unknown', ttl: 64 };

const REGS = [20, 32, 16, 40, 24, 12, 30, 48];
const COILS = [16, 32, 24, 64, 16, 8, 40, 32];
const INPUTS = [8, 12, 10, 16, 8, 6, 12, 20];
const RESPONSE_US = [3_200, 4_100, 2_600, 5_300, 3_800, 6_100, 2_900, 4_600];

/** PLCs 10.10.3.101 … 10.10.3.108, unit ids 1 … 8. */
export const PLCS: Plc[] = REGS.map((regs, i) => ({
  name: `plc-${101 + i}`,
  ip: `10.10.3.${101 + i}`,
  zone: 'field',
  ttl: 64,
  unit: i + 1,
  hmiRegs: regs,
  hmiCoils: COILS[i]!,
  scadaRegs: INPUTS[i]!,
  responseUs: RESPONSE_US[i]!,
}));

/** Every host the simulator may put on the wire. */
export const HOSTS: Host[] = [HMI, SCADA, HISTORIAN, EWS, ...PLCS, ROGUE, SCANNER];

/** Poll cadences of the normal plant, ms. */
export const CADENCE = {
  /** HMI → each PLC, FC 3. */
  hmiRegistersMs: 1_000,
  /** HMI → each PLC, FC 1. */
  hmiCoilsMs: 2_000,
  /** SCADA server → each PLC, FC 4. */
  scadaInputsMs: 5_000,
  /** SCADA server → batch PLCs, FC 6 / FC 16 setpoints during the batch phase. */
  scadaSetpointMs: 10_000,
  /** Historian → each PLC, FC 3 trend block. */
  historianMs: 10_000,
  /** Jitter of every poll, ± ms. */
  jitterMs: 3,
} as const;

/** Registers the historian reads per poll (one trend block). */
export const HISTORIAN_REGS = 60;

/** PLCs that take setpoints from the SCADA server in the batch phase. */
export const BATCH_PLCS = PLCS.slice(0, 4);

/** The batch phase: this fraction of each production cycle, [from, to). */
export const BATCH_PHASE = { from: 0.5, to: 0.75 } as const;

/** Field zone as a block, for labels that cover the whole zone (the scan). */
export const FIELD_CIDR = '10.10.3.0/24';
