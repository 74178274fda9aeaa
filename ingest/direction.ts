/**
 * Who is the client when no handshake tells: the one rule every source applies (pcap mid-stream
 * flows, Zeek conn rows without a SYN, NetFlow/IPFIX and nfdump records, mapped CSV rows), so the same
 * conversation gets the same orientation whichever sensor saw it.
 *
 * A TCP handshake decides when it was seen: the sender of a SYN without ACK is the client (the
 * receiver of a SYN+ACK when only that was seen). Otherwise, as Zeek (`likely_server_ports`, the `^`
 * flip) and nfdump (`-B`, lower port is the server) decide it:
 *   1. a side whose port is a service port — below 1024, or a registered OT/industrial or common
 *      server port in {@link SERVICE_PORTS} — while the other side's is not, is the server
 *      (`direction_port`);
 *   2. both or neither: the lower port is the server (`direction_lower_port`); equal ports: the side
 *      written as the destination (`direction_lower_port` too);
 *   3. a log that marks the record as flipped by its own rule (Zeek's `^`) is followed
 *      (`direction_flipped`);
 *   4. traffic to a multicast or broadcast address: the sender is the client (`direction_group`).
 * The note goes into the record's `fidelity`, so a reader can tell an inferred direction from one
 * seen in a handshake.
 */
import type { DirectionNote } from '../core/records.ts';

export type { DirectionNote } from '../core/records.ts';

/**
 * Ports of services besides the well-known range: the OT protocols the dissectors know (Modbus 502,
 * ISO-TSAP 102 for S7/MMS, IEC 104 2404, DNP3 20000, EtherNet/IP 44818/2222, OPC UA 4840, BACnet
 * 47808 …) and common server ports.
 */
export const SERVICE_PORTS: ReadonlySet<number> = new Set([
  502, 102, 2404, 20000, 44818, 2222, 4840, 47808, 1911, 789, 9600, 18245, 5007, 1962, 2455, 34962, 34963,
  34964, 1883, 8883, 5094, 5450, 1433, 1521, 3306, 5432, 3389, 5900, 8080, 8443, 6379, 9092,
]);

/** Port 0 is no service: it stands for "not given" (a CSV without a source-port column, a port-less record). */
export const isServicePort = (p: number): boolean => (p > 0 && p < 1024) || SERVICE_PORTS.has(p);

/** True when the written destination is the server by the port rule (rules 1–2 above). */
export const dstIsServer = (srcPort: number, dstPort: number): boolean => {
  const s = isServicePort(srcPort);
  const d = isServicePort(dstPort);
  if (d !== s) return d;
  if (srcPort === dstPort) return true;
  return dstPort < srcPort;
};

/** Which port rule decided `dstIsServer(srcPort, dstPort)`. */
export const portRuleNote = (srcPort: number, dstPort: number): DirectionNote =>
  (isServicePort(srcPort) !== isServicePort(dstPort) ? 'direction_port' : 'direction_lower_port');

/**
 * Multicast and broadcast addresses only ever receive: a packet sent to one makes its sender the
 * initiator, whatever the ports say (DHCPv6 546 → ff02::1:2:547, NetBIOS 137 → x.x.x.255:137).
 */
export const isGroupAddress = (ip: string): boolean => {
  if (ip.includes(':')) return ip.toLowerCase().startsWith('ff');
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return (first >= 224 && first <= 239) || ip === '255.255.255.255' || ip.endsWith('.255');
};

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;

/**
 * For a record whose direction no handshake fixed: whether its written sides must be swapped so the
 * client is `src`, and the note that says why. Only TCP, UDP and SCTP have ports to go by; other
 * records (ICMP, a record without a protocol) keep their orientation (undefined).
 */
export const inferDirection = (
  srcIp: string, srcPort: number, dstIp: string, dstPort: number, proto: number,
): { swap: boolean; note: DirectionNote } | undefined => {
  if (proto !== 6 && proto !== 17 && proto !== 132) return undefined;
  if (isGroupAddress(dstIp)) return { swap: false, note: 'direction_group' };
  if (isGroupAddress(srcIp)) return { swap: true, note: 'direction_group' };
  return { swap: !dstIsServer(srcPort, dstPort), note: portRuleNote(srcPort, dstPort) };
};

/**
 * A unidirectional export record (NetFlow/IPFIX/nfdump) tells its sender and the OR of its TCP flags:
 * SYN without ACK makes the sender the client; anything else (a SYN+ACK side, or no SYN at all) is
 * decided by {@link inferDirection}.
 */
export const senderIsClientByFlags = (proto: number, tcpFlags: number): boolean =>
  proto === 6 && (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;

/** The fields {@link orient} swaps. */
interface Sides {
  srcIp: string; srcPort: number; dstIp: string; dstPort: number; proto: number;
  packets: number; bytes: number; packetsRev: number; bytesRev: number;
  fidelity?: string[];
}

/**
 * Orients an exported/logged record whose handshake was not seen (see {@link senderIsClientByFlags}):
 * swaps the sides and their counters when the port rule says the written source is the server,
 * and appends the note to `fidelity`. Returns whether it swapped.
 */
export const orient = (r: Sides, note?: DirectionNote): boolean => {
  const d = inferDirection(r.srcIp, r.srcPort, r.dstIp, r.dstPort, r.proto);
  if (!d) return false;
  if (d.swap) swapSides(r);
  addNote(r, note ?? d.note);
  return d.swap;
};

export const swapSides = (r: Sides): void => {
  const ip = r.srcIp; r.srcIp = r.dstIp; r.dstIp = ip;
  const port = r.srcPort; r.srcPort = r.dstPort; r.dstPort = port;
  const p = r.packets; r.packets = r.packetsRev; r.packetsRev = p;
  const b = r.bytes; r.bytes = r.bytesRev; r.bytesRev = b;
};

export const addNote = (r: { fidelity?: string[] }, note: string): void => {
  if (!r.fidelity) r.fidelity = [note];
  else if (!r.fidelity.includes(note)) r.fidelity.push(note);
};
