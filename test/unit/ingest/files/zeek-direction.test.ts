/**
 * Direction of Zeek conn rows when no handshake was seen (issue 16 item 1): one row per conn_state in
 * the shapes Zeek 6 writes them (history/conn_state pairs as Zeek's conn_state() derives them, e.g.
 * RSTOS0 needs `^?S[^HAFGIQ]*R`), the `^` flip flag, mid-stream OTH rows with the PLC's port first,
 * UDP and ICMP; plus the protocol-log operations following a swap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '../../../../core/records.ts';
import { newFileStats } from '../../../../ingest/files/csv.ts';
import { connDirection, readZeek } from '../../../../ingest/files/zeek.ts';

const HEAD = [
  '#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', '#open\t2024-03-01-10-00-00',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]',
];

interface Case {
  state: string; history: string; orig: [string, number]; resp: [string, number]; proto?: 'tcp' | 'udp' | 'icmp';
  /** Expected client and server after reading, and the note (undefined = a handshake decided). */
  client: [string, number]; server: [string, number]; note: string | undefined;
}

const HMI: [string, number] = ['10.0.1.10', 50210];
const PLC: [string, number] = ['10.0.2.20', 502];
const S7: [string, number] = ['10.0.2.30', 102];

const CASES: Case[] = [
  // Handshake seen from the originator: kept as written, no note.
  { state: 'S0', history: 'S', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'S1', history: 'ShA', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'SF', history: 'ShADadFf', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'REJ', history: 'Sr', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'S2', history: 'ShADadF', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'S3', history: 'ShADadf', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'RSTO', history: 'ShADadR', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'RSTR', history: 'ShADadr', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'SH', history: 'SF', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  { state: 'RSTOS0', history: 'SR', orig: HMI, resp: PLC, client: HMI, server: PLC, note: undefined },
  // Zeek flipped the connection by its own rule (SYN+ACK seen first): followed, and said so.
  { state: 'RSTRH', history: '^hr', orig: HMI, resp: PLC, client: HMI, server: PLC, note: 'direction_flipped' },
  { state: 'SHR', history: '^hf', orig: HMI, resp: PLC, client: HMI, server: PLC, note: 'direction_flipped' },
  { state: 'OTH', history: '^dA', orig: HMI, resp: PLC, client: HMI, server: PLC, note: 'direction_flipped' },
  // The originator sent the SYN+ACK (no flip): it is the server.
  { state: 'OTH', history: 'HaDd', orig: PLC, resp: HMI, client: HMI, server: PLC, note: undefined },
  // Mid-stream, no SYN seen: the side on the protocol port is the server.
  { state: 'OTH', history: 'DdA', orig: PLC, resp: HMI, client: HMI, server: PLC, note: 'direction_port' },
  { state: 'OTH', history: 'Dd', orig: S7, resp: ['10.0.1.11', 49160], client: ['10.0.1.11', 49160], server: S7, note: 'direction_port' },
  { state: 'OTH', history: '-', orig: PLC, resp: HMI, client: HMI, server: PLC, note: 'direction_port' },
  { state: 'OTH', history: 'Dd', orig: HMI, resp: PLC, client: HMI, server: PLC, note: 'direction_port' },
  // Neither side on a service port: the lower port is the server (nfdump -B's guess).
  { state: 'OTH', history: 'Dd', orig: ['10.0.1.12', 40000], resp: ['10.0.2.21', 50000], client: ['10.0.2.21', 50000], server: ['10.0.1.12', 40000], note: 'direction_lower_port' },
  // UDP: no handshake ever; the port rule, or Zeek's flip.
  { state: 'SF', history: 'Dd', proto: 'udp', orig: ['10.0.1.10', 53000], resp: ['10.0.0.53', 53], client: ['10.0.1.10', 53000], server: ['10.0.0.53', 53], note: 'direction_port' },
  { state: 'SF', history: 'Dd', proto: 'udp', orig: ['10.0.2.40', 20000], resp: ['10.0.1.10', 50001], client: ['10.0.1.10', 50001], server: ['10.0.2.40', 20000], note: 'direction_port' },
  { state: 'SF', history: '^Dd', proto: 'udp', orig: ['10.0.1.10', 47808], resp: ['10.0.2.50', 47808], client: ['10.0.1.10', 47808], server: ['10.0.2.50', 47808], note: 'direction_flipped' },
  // ICMP keeps Zeek's orientation (no ports to go by).
  { state: 'OTH', history: '-', proto: 'icmp', orig: ['10.0.1.10', 8], resp: ['10.0.2.20', 0], client: ['10.0.1.10', 0], server: ['10.0.2.20', 8 << 8], note: undefined },
];

const row = (c: Case, i: number): string => [
  (1709287200 + i).toFixed(6), `CDir${String(i).padStart(14, '0')}`, c.orig[0], c.orig[1], c.resp[0], c.resp[1], c.proto ?? 'tcp', '-', '1.000000',
  '100', '200', c.state, 'T', 'T', '0', c.history, '3', '220', '4', '360', '(empty)',
].join('\t');

const read = async (dir: string, files: Record<string, string>): Promise<FlowRecord[]> => {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const out: FlowRecord[] = [];
  for await (const b of readZeek(dir, {}, newFileStats(dir))) out.push(...b);
  return out;
};

test('orients every Zeek conn_state and history shape: handshake kept, ^ followed, mid-stream by the protocol port, with the reason', async () => {
  assert.ok(CASES.length > 20);
  const dir = mkdtempSync(join(tmpdir(), 'cw-zeek-dir-'));
  try {
    const recs = await read(dir, { 'conn.log': [...HEAD, ...CASES.map(row), '#close\t2024-03-01-11-00-00', ''].join('\n') });
    assert.equal(recs.length, CASES.length);
    const byUid = new Map(recs.map((r, i) => [r.tsStart, { r, i }]));
    CASES.forEach((c, i) => {
      const { r } = byUid.get((1709287200 + i) * 1000)!;
      const what = `${c.state} ${c.history} ${c.orig.join(':')} → ${c.resp.join(':')}`;
      assert.deepEqual([[r.srcIp, r.srcPort], [r.dstIp, r.dstPort], r.fidelity], [c.client, c.server, c.note ? [c.note] : undefined], what);
      // Counters follow the sides: the originator's 3 packets / 220 bytes are the client's unless swapped.
      const swapped = c.client[0] !== c.orig[0];
      assert.deepEqual([r.packets, r.bytes, r.packetsRev, r.bytesRev], swapped ? [4, 360, 3, 220] : [3, 220, 4, 360], what);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a swapped row takes Zeek is_orig operations and cadence from the responder side; request/response-typed logs stay as they are', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-zeek-dir-'));
  try {
    // (The responses come 10.5 s apart, the requests 10 s: the cadence tells whose operations were taken.)
    // uid A: S7 mid-stream with the PLC first (OTH, no flip); ICSNPP s7comm.log with is_orig relative to Zeek's originator (the PLC).
    // uid B: Modbus mid-stream with the PLC first; Zeek 6 modbus.log typed REQ/RESP (already the client's requests).
    const conn = [...HEAD,
      ['1709287200.000000', 'CA000000000000001', '10.0.2.30', '102', '10.0.1.11', '49160', 'tcp', 's7comm', '30.0', '100', '200', 'OTH', 'T', 'T', '0', 'Dd', '3', '220', '4', '360', '(empty)'].join('\t'),
      ['1709287201.000000', 'CB000000000000001', '10.0.2.20', '502', '10.0.1.10', '50210', 'tcp', 'modbus', '30.0', '100', '200', 'OTH', 'T', 'T', '0', 'Dd', '3', '220', '4', '360', '(empty)'].join('\t'),
      '#close\t2024-03-01-11-00-00', ''].join('\n');
    const s7 = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\ts7comm', '#open\t2024-03-01-10-00-00',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tis_orig\tsource_h\tsource_p\tdestination_h\tdestination_p\trosctr_code\trosctr_name\tpdu_reference\tfunction_code\tfunction_name\tsubfunction_code\tsubfunction_name\terror_class\terror_code',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tbool\taddr\tport\taddr\tport\tcount\tstring\tcount\tstring\tstring\tstring\tstring\tstring\tstring',
      ...[0, 1, 2].flatMap((k) => [
        [`${1709287200 + k * 10}.100000`, 'CA000000000000001', '10.0.2.30', '102', '10.0.1.11', '49160', 'F', '10.0.1.11', '49160', '10.0.2.30', '102', '1', 'JOB', String(k), '0x04', 'READ_VAR', '-', '-', '-', '-'].join('\t'),
        [(1709287200.7 + k * 10.5).toFixed(6), 'CA000000000000001', '10.0.2.30', '102', '10.0.1.11', '49160', 'T', '10.0.2.30', '102', '10.0.1.11', '49160', '3', 'ACK_DATA', String(k), '0x04', 'READ_VAR', '-', '-', '-', '-'].join('\t'),
      ]), '#close\t2024-03-01-11-00-00', ''].join('\n');
    const modbus = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tmodbus', '#open\t2024-03-01-10-00-00',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttid\tunit\tfunc\tpdu_type\texception',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tcount\tstring\tstring\tstring',
      ...[0, 1].flatMap((k) => [
        [`${1709287201 + k * 5}.100000`, 'CB000000000000001', '10.0.2.20', '502', '10.0.1.10', '50210', String(k), '1', 'READ_HOLDING_REGISTERS', 'REQ', '-'].join('\t'),
        [`${1709287201 + k * 5}.110000`, 'CB000000000000001', '10.0.2.20', '502', '10.0.1.10', '50210', String(k), '1', 'READ_HOLDING_REGISTERS', 'RESP', '-'].join('\t'),
      ]), '#close\t2024-03-01-11-00-00', ''].join('\n');
    const recs = await read(dir, { 'conn.log': conn, 's7comm.log': s7, 'modbus.log': modbus });
    const s7rec = recs.find((r) => r.l7 === 's7comm')!;
    assert.deepEqual([s7rec.srcIp, s7rec.dstPort, s7rec.fidelity], ['10.0.1.11', 102, ['direction_port']]);
    assert.ok(Object.keys(s7rec.l7Ops ?? {}).length > 0 && Object.values(s7rec.l7Ops!).reduce((a, b) => a + b, 0) === 3, JSON.stringify(s7rec));
    assert.deepEqual([s7rec.requestIntervalsMs?.count, s7rec.requestIntervalsMs?.mean], [2, 10_000]);
    const mb = recs.find((r) => r.l7 === 'modbus')!;
    assert.deepEqual([mb.srcIp, mb.dstPort, mb.l7Ops, mb.l7OpsRev], ['10.0.1.10', 502, { read_holding_registers: 2 }, { read_holding_registers: 2 }]);
    assert.deepEqual([mb.requestIntervalsMs?.count, mb.requestIntervalsMs?.mean], [1, 5_000]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connDirection: history first, then conn_state, else the port rule', () => {
  assert.equal(connDirection(6, 'ShADadFf', 'SF'), 'keep');
  assert.equal(connDirection(6, '^hr', 'RSTRH'), 'flipped');
  assert.equal(connDirection(6, 'HaDd', 'OTH'), 'swap');
  assert.equal(connDirection(6, 'DdA', 'OTH'), 'infer');
  assert.equal(connDirection(6, undefined, 'RSTOS0'), 'keep');
  assert.equal(connDirection(6, undefined, 'OTH'), 'infer');
  assert.equal(connDirection(17, 'Dd', 'SF'), 'infer');
});
