/**
 * Roles from behaviour. Each asset's traffic is summed into {@link RoleFacts}; each role gets a
 * score in [0, 1] from the facts that speak for it, and the best score above {@link MIN_CONFIDENCE}
 * wins (else `unknown`). The evidence lists the facts, in words, so a person can check the call.
 *
 *   plc_rtu       answers OT requests (a server of an industrial protocol that replied), from few
 *                 clients, and does not poll others; reporting a device identity adds to it
 *   hmi_scada     polls several OT servers, on a cadence; operator writes add to it
 *   historian     polls several OT servers on a cadence with reads only, and serves IT-side
 *                 (database, web, OPC) clients, or polls slowly (≥ 30 s)
 *   engineering   sends program / configuration / run-state operations (download, upload, stop,
 *                 reset …), irregularly rather than on a cadence
 *   unknown       none of these above {@link MIN_CONFIDENCE} (IT hosts, protocols we do not read)
 */
import type { AssetRole } from '../core/records.ts';

/** Below this score no role is claimed. */
export const MIN_CONFIDENCE = 0.35;

/** What the role rules read about one asset. */
export interface RoleFacts {
  /** OT servers it sent requests to, and how many of those pairs ran on a cadence. */
  otServersPolled: number;
  periodicPairs: number;
  /** Median period of its periodic pairs, ms (0 when none). */
  medianPeriodMs: number;
  /** OT requests it sent: all, writes (data / commands), engineering operations (program, stop …). */
  requestsSent: number;
  writesSent: number;
  engineeringSent: number;
  /** Names of the engineering and write operations it sent (a few, for the evidence). */
  engineeringOps: string[];
  writeOps: string[];
  /** OT clients it answered, and the OT protocols it answered on. */
  otClientsAnswered: number;
  otServed: string[];
  /** Non-OT services it answered on (e.g. `tcp/1433`). */
  itServed: string[];
  /** Identity reports that describe it as the device answering. */
  identityReports: number;
}

const fmtPeriod = (ms: number): string => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

/** Service ports an historian or an IT-side server tends to answer on. */
const HISTORIAN_PORTS = /\/(1433|1521|3306|5432|5450|80|443|8080|8443|4840|135|27017|8086)$/;

const clamp = (x: number): number => Math.round(Math.max(0, Math.min(1, x)) * 100) / 100;

interface Scored { role: AssetRole; confidence: number; evidence: string[] }

const plcRtu = (f: RoleFacts): Scored => {
  const ev: string[] = [];
  let s = 0;
  if (f.otClientsAnswered > 0) {
    s = 0.55 + Math.min(0.15, 0.05 * f.otClientsAnswered);
    ev.push(`answers ${f.otServed.join(', ')} requests from ${f.otClientsAnswered} client${f.otClientsAnswered > 1 ? 's' : ''}`);
    if (f.identityReports > 0) { s += 0.15; ev.push('reports a device identity'); }
    if (f.otServersPolled === 0) { s += 0.1; ev.push('polls no other device'); } else { s -= 0.1; ev.push(`but also sends OT requests to ${f.otServersPolled} server${f.otServersPolled > 1 ? 's' : ''}`); }
  }
  return { role: 'plc_rtu', confidence: clamp(s), evidence: ev };
};

const master = (f: RoleFacts): Scored => {
  const ev: string[] = [];
  let s = 0;
  if (f.otServersPolled > 0) {
    s = 0.3 + Math.min(0.3, 0.1 * f.otServersPolled);
    ev.push(`sends OT requests to ${f.otServersPolled} server${f.otServersPolled > 1 ? 's' : ''} (${f.requestsSent} requests)`);
    if (f.periodicPairs > 0) { s += 0.25; ev.push(`on a cadence: ${f.periodicPairs} of them polled every ${fmtPeriod(f.medianPeriodMs)} (median)`); }
    if (f.writesSent > 0) { s += 0.1; ev.push(`sends operator writes/commands (${f.writeOps.join(', ')})`); }
    if (f.engineeringSent > 0) { s -= 0.15; ev.push('also sends engineering operations'); }
    if (f.otClientsAnswered > 0) { s -= 0.3; ev.push(`but also answers OT requests from ${f.otClientsAnswered} client${f.otClientsAnswered > 1 ? 's' : ''}`); }
  }
  return { role: 'hmi_scada', confidence: clamp(s), evidence: ev };
};

const historian = (f: RoleFacts): Scored => {
  const ev: string[] = [];
  let s = 0;
  if (f.otServersPolled > 0 && f.periodicPairs > 0 && f.writesSent === 0 && f.engineeringSent === 0) {
    s = 0.3 + Math.min(0.2, 0.05 * f.otServersPolled);
    ev.push(`reads ${f.otServersPolled} OT server${f.otServersPolled > 1 ? 's' : ''} on a cadence, never writes`);
    const it = f.itServed.filter((x) => HISTORIAN_PORTS.test(x));
    if (it.length > 0) { s += 0.35; ev.push(`serves ${it.join(', ')} (database / web / OPC side)`); }
    if (f.medianPeriodMs >= 30_000) { s += 0.25; ev.push(`polls slowly (every ${fmtPeriod(f.medianPeriodMs)})`); }
  }
  return { role: 'historian', confidence: clamp(s), evidence: ev };
};

const engineering = (f: RoleFacts): Scored => {
  const ev: string[] = [];
  let s = 0;
  if (f.engineeringSent > 0) {
    s = 0.6;
    ev.push(`sends engineering operations (${f.engineeringOps.join(', ')})`);
    if (f.periodicPairs === 0) { s += 0.2; ev.push('irregularly, not on a polling cadence'); } else s -= 0.1;
    if (f.otClientsAnswered > 0) s -= 0.3;
  }
  return { role: 'engineering', confidence: clamp(s), evidence: ev };
};

/** The role the facts support best, its confidence and the evidence; `unknown` below {@link MIN_CONFIDENCE}. */
export const inferRole = (f: RoleFacts): Scored => {
  const all = [plcRtu(f), engineering(f), historian(f), master(f)];
  // Ties: the order above (a device that answers stays a device; engineering beats polling).
  const best = all.reduce((a, b) => (b.confidence > a.confidence ? b : a));
  if (best.confidence < MIN_CONFIDENCE) {
    const ev = all.flatMap((x) => x.evidence);
    return { role: 'unknown', confidence: clamp(1 - best.confidence), evidence: ev.length ? ev : ['no industrial-protocol requests sent or answered'] };
  }
  const second = all.filter((x) => x !== best).reduce((a, b) => (b.confidence > a.confidence ? b : a));
  const evidence = [...best.evidence];
  if (second.confidence >= MIN_CONFIDENCE) evidence.push(`could also be ${ROLE_LABELS[second.role]} (${second.confidence})`);
  if (best.role === 'hmi_scada' && f.writesSent === 0 && f.engineeringSent === 0) evidence.push('no writes seen: could also be a historian');
  return { role: best.role, confidence: best.confidence, evidence };
};

export const ROLE_LABELS: Record<AssetRole, string> = {
  plc_rtu: 'PLC/RTU',
  hmi_scada: 'HMI/SCADA master',
  historian: 'historian',
  engineering: 'engineering workstation',
  unknown: 'unknown',
};

/** An op name without its protocol's qualifiers: `job.download_block` → `download_block`, `write.request` → `write`. */
export const bareOp = (op: string): string => {
  const parts = op.split('.');
  while (parts.length > 1 && /^(request|response|indication|confirm)$/i.test(parts.at(-1)!)) parts.pop();
  return parts.at(-1)!;
};

/** Operation names that change a device's program, configuration or run state (not its process data). */
const ENGINEERING = new RegExp([
  'download', 'upload', 'program', 'firmware', 'plc_stop', 'plc_start', 'pi_service', '^prog_', '^sec_', 'set_clock', 'password',
  '^(start|stop|reset|restart|resume|kill)$', '_restart', 'reinitialize', '^initialize_', 'save_config', 'activate_config',
  'start_application', 'stop_application', 'delete', 'create_object', 'file', 'domain', '^nvs_', 'execute_pccc', '^fc_90$',
  '^diagnostics$', 'device_communication_control', '^invoke$', '_link$', 'programinvocation',
].join('|'), 'i');

/** Operation names that write process data or command outputs. */
const WRITE = /write|operate|select|command|setpoint|force|^set_|^C_(SC|DC|RC|SE|BO)_|history_update|^call$/i;

/** Whether an operation name changes a device's program, configuration or run state. */
export const isEngineeringOp = (op: string): boolean => ENGINEERING.test(bareOp(op));

/** Whether an operation name writes process data or commands outputs (and is not an engineering op). */
export const isWriteOp = (op: string): boolean => !isEngineeringOp(op) && WRITE.test(bareOp(op));
