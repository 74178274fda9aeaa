/** A small builder for NetFlow v5/v9 and IPFIX datagrams, so tests state their bytes plainly. */

export type Bytes = number[];

export const be16 = (v: number): Bytes => [(v >>> 8) & 0xff, v & 0xff];
export const be32 = (v: number): Bytes => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const be64 = (v: number): Bytes => [...be32(Math.floor(v / 4_294_967_296)), ...be32(v % 4_294_967_296)];
/** `v` as an unsigned of `n` bytes (reduced-size encoding). */
export const beN = (v: number, n: number): Bytes => be64(v).slice(8 - n);
export const ip4 = (s: string): Bytes => s.split('.').map(Number);
export const u8 = (...v: number[]): Uint8Array => Uint8Array.from(v);

/** A field specifier: [id, length] or [id, length, pen]. */
export type Spec = [number, number] | [number, number, number];

const spec = ([id, len, pen]: Spec): Bytes => (pen === undefined ? [...be16(id), ...be16(len)] : [...be16(id | 0x8000), ...be16(len), ...be32(pen)]);

/** A set or flowset: [id][length incl. header][body]. */
export const set = (id: number, body: Bytes): Bytes => [...be16(id), ...be16(body.length + 4), ...body];

/** IPFIX template record. */
export const tmpl = (id: number, fields: Spec[]): Bytes => [...be16(id), ...be16(fields.length), ...fields.flatMap(spec)];
/** IPFIX options template record. */
export const optTmpl = (id: number, scope: number, fields: Spec[]): Bytes =>
  [...be16(id), ...be16(fields.length), ...be16(scope), ...fields.flatMap(spec)];

export interface IpfixHeader { exportTime?: number; seq?: number; domain?: number }
/** An IPFIX message with its Length set right. */
export const ipfix = (h: IpfixHeader, ...sets: Bytes[]): Uint8Array => {
  const body = sets.flat();
  return Uint8Array.from([...be16(10), ...be16(16 + body.length), ...be32(h.exportTime ?? 1_735_689_600),
    ...be32(h.seq ?? 0), ...be32(h.domain ?? 0), ...body]);
};

/** v9 template record ([type, length] pairs). */
export const v9Tmpl = (id: number, fields: [number, number][]): Bytes =>
  [...be16(id), ...be16(fields.length), ...fields.flatMap(([t, l]) => [...be16(t), ...be16(l)])];
/** v9 options template record. */
export const v9OptTmpl = (id: number, scope: [number, number][], opts: [number, number][]): Bytes =>
  [...be16(id), ...be16(scope.length * 4), ...be16(opts.length * 4), ...[...scope, ...opts].flatMap(([t, l]) => [...be16(t), ...be16(l)])];

export interface V9Header { sysUptime?: number; unixSecs?: number; seq?: number; sourceId?: number; count?: number }
export const v9 = (h: V9Header, ...sets: Bytes[]): Uint8Array =>
  Uint8Array.from([...be16(9), ...be16(h.count ?? 1), ...be32(h.sysUptime ?? 100_000), ...be32(h.unixSecs ?? 1_735_689_600),
    ...be32(h.seq ?? 0), ...be32(h.sourceId ?? 0), ...sets.flat()]);

export interface V5Header { count?: number; sysUptime?: number; unixSecs?: number; unixNsecs?: number; seq?: number; engineType?: number; engineId?: number; sampling?: number }
export interface V5Rec { src: string; dst: string; sport: number; dport: number; proto: number; pkts: number; octets: number; first: number; last: number; flags?: number }
export const v5rec = (r: V5Rec): Bytes => [
  ...ip4(r.src), ...ip4(r.dst), ...ip4('0.0.0.0'), ...be16(1), ...be16(2), ...be32(r.pkts), ...be32(r.octets),
  ...be32(r.first), ...be32(r.last), ...be16(r.sport), ...be16(r.dport), 0, r.flags ?? 0, r.proto, 0,
  ...be16(0), ...be16(0), 24, 24, 0, 0,
];
export const v5 = (h: V5Header, recs: V5Rec[]): Uint8Array =>
  Uint8Array.from([...be16(5), ...be16(h.count ?? recs.length), ...be32(h.sysUptime ?? 100_000), ...be32(h.unixSecs ?? 1_735_689_600),
    ...be32(h.unixNsecs ?? 0), ...be32(h.seq ?? 0), h.engineType ?? 0, h.engineId ?? 0, ...be16(h.sampling ?? 0), ...recs.flatMap(v5rec)]);

/** Epoch ms of the builders' default export time (2025-01-01T00:00:00Z). */
export const T0 = 1_735_689_600_000;
