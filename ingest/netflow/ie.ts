/**
 * The IANA IPFIX Information Elements the decoders understand (IANA "IPFIX Information Elements"
 * registry; RFC 7012 data types; RFC 5103 reverse elements). NetFlow v9 field types 1–127 share
 * these numbers (RFC 3954 §8), so one table serves both.
 *
 * `size` is the natural (full) encoding in bytes. Unsigned types may be sent shorter (reduced-size
 * encoding, RFC 7011 §6.2), never longer; addresses and timestamps must be sent at their natural size.
 */

/** How a field's bytes are read. */
export type IeType =
  | 'unsigned' // big-endian unsigned, reduced-size allowed (1..size bytes)
  | 'ipv4' // exactly 4 bytes
  | 'ipv6' // exactly 16 bytes
  | 'dateTimeSeconds' // 4 bytes, seconds since the Unix epoch
  | 'dateTimeMilliseconds' // 8 bytes, ms since the Unix epoch
  | 'dateTimeMicroseconds' // 8 bytes, NTP format (RFC 7011 §6.1.9), low 11 bits of the fraction ignored
  | 'dateTimeNanoseconds' // 8 bytes, NTP format
  | 'string'
  | 'octets';

/** One Information Element. */
export interface Ie {
  id: number;
  /** Name exactly as in the IANA registry. */
  name: string;
  type: IeType;
  /** Natural size in bytes; 0 for variable-length types. */
  size: number;
}

const ie = (id: number, name: string, type: IeType, size: number): Ie => ({ id, name, type, size });

/** Information Elements by id (enterprise 0). */
export const IE: ReadonlyMap<number, Ie> = new Map(
  [
    ie(1, 'octetDeltaCount', 'unsigned', 8),
    ie(2, 'packetDeltaCount', 'unsigned', 8),
    ie(4, 'protocolIdentifier', 'unsigned', 1),
    ie(5, 'ipClassOfService', 'unsigned', 1),
    ie(6, 'tcpControlBits', 'unsigned', 2),
    ie(7, 'sourceTransportPort', 'unsigned', 2),
    ie(8, 'sourceIPv4Address', 'ipv4', 4),
    ie(10, 'ingressInterface', 'unsigned', 4),
    ie(11, 'destinationTransportPort', 'unsigned', 2),
    ie(12, 'destinationIPv4Address', 'ipv4', 4),
    ie(14, 'egressInterface', 'unsigned', 4),
    ie(15, 'ipNextHopIPv4Address', 'ipv4', 4),
    ie(21, 'flowEndSysUpTime', 'unsigned', 4),
    ie(22, 'flowStartSysUpTime', 'unsigned', 4),
    ie(27, 'sourceIPv6Address', 'ipv6', 16),
    ie(28, 'destinationIPv6Address', 'ipv6', 16),
    ie(32, 'icmpTypeCodeIPv4', 'unsigned', 2),
    ie(34, 'samplingInterval', 'unsigned', 4),
    ie(35, 'samplingAlgorithm', 'unsigned', 1),
    ie(48, 'samplerId', 'unsigned', 1),
    ie(49, 'samplerMode', 'unsigned', 1),
    ie(50, 'samplerRandomInterval', 'unsigned', 4),
    ie(60, 'ipVersion', 'unsigned', 1),
    ie(61, 'flowDirection', 'unsigned', 1),
    ie(82, 'interfaceName', 'string', 0),
    ie(85, 'octetTotalCount', 'unsigned', 8),
    ie(86, 'packetTotalCount', 'unsigned', 8),
    ie(136, 'flowEndReason', 'unsigned', 1),
    ie(139, 'icmpTypeCodeIPv6', 'unsigned', 2),
    ie(143, 'meteringProcessId', 'unsigned', 4),
    ie(149, 'observationDomainId', 'unsigned', 4),
    ie(150, 'flowStartSeconds', 'dateTimeSeconds', 4),
    ie(151, 'flowEndSeconds', 'dateTimeSeconds', 4),
    ie(152, 'flowStartMilliseconds', 'dateTimeMilliseconds', 8),
    ie(153, 'flowEndMilliseconds', 'dateTimeMilliseconds', 8),
    ie(154, 'flowStartMicroseconds', 'dateTimeMicroseconds', 8),
    ie(155, 'flowEndMicroseconds', 'dateTimeMicroseconds', 8),
    ie(156, 'flowStartNanoseconds', 'dateTimeNanoseconds', 8),
    ie(157, 'flowEndNanoseconds', 'dateTimeNanoseconds', 8),
    ie(158, 'flowStartDeltaMicroseconds', 'unsigned', 4),
    ie(159, 'flowEndDeltaMicroseconds', 'unsigned', 4),
    ie(160, 'systemInitTimeMilliseconds', 'dateTimeMilliseconds', 8),
    ie(304, 'selectorAlgorithm', 'unsigned', 2),
    ie(305, 'samplingPacketInterval', 'unsigned', 4),
    ie(306, 'samplingPacketSpace', 'unsigned', 4),
  ].map((e) => [e.id, e]),
);

/** The IANA Private Enterprise Number of RFC 5103 reverse Information Elements. */
export const REVERSE_PEN = 29305;

/** Name of an IE for messages and docs: `octetDeltaCount`, `reverse:octetDeltaCount`, `pen9:12`. */
export const ieName = (id: number, pen = 0): string => {
  if (pen === 0) return IE.get(id)?.name ?? `ie${id}`;
  if (pen === REVERSE_PEN) return `reverse:${IE.get(id)?.name ?? `ie${id}`}`;
  return `pen${pen}:${id}`;
};
