/**
 * Our EtherNet/IP-CIP, OPC UA, BACnet/IP and MMS dissectors against tshark on every capture in
 * shared/data holding those protocols: per capture, the count of each operation code (tshark field =
 * value) from readPcapFlows (all four analyzers + Modbus) must equal tshark's count of the same field
 * values. tshark lists a frame's repeated fields comma-separated; every value counts.
 *
 *   protocol  tshark field(s)                                 our op names mapped back with
 *   enip      enip.command (not 0x006f/0x0070: carriers,     commandCode / serviceCode (codes.ts)
 *             which we count by the CIP inside), cip.sc
 *   opcua     opcua.transport.type (HEL ACK ERR RHE only),     serviceId (requests in l7Ops, responses
 *             opcua.servicenodeid.numeric                      in l7OpsRev)
 *   bacnet    bvlc.function (not the NPDU carriers 0x04       BVLC_FUNCTIONS, serviceChoice,
 *             0x09 0x0a 0x0b), bacapp.confirmed_service,       NETWORK_MESSAGES
 *             bacapp.unconfirmed_service, bacnet.mesgtyp
 *   mms       mms.confirmedServiceRequest,                     parseOpName (mms/codes.ts)
 *             mms.confirmedServiceResponse, mms.unconfirmedService
 *
 * tshark options used, and why:
 *  - OPC/opc-ua-ap-method-wireshark-freeze.pcap runs on TCP 12001; tshark only tries OPC UA on 4840,
 *    so it is told `-d tcp.port==12001,opcua` (we detect OPC UA on any port from the payload).
 *  - MMS: tshark decodes a presentation PDV as MMS only when it saw the association that bound the
 *    context id to the MMS abstract syntax; connections already open when a capture starts (most of
 *    Sample_File_MMS_and_GOOSE.pcap's information reports) are left undecoded. We tell it context 3 is
 *    MMS (`-o uat:pres_context_list:"3","1.0.9506.2.1"`), the binding every IEC 61850 stack uses; we
 *    tell ACSE from MMS by the PDV's tag instead.
 *
 * Cases where the two differ in what they decode (none changes a count; `diff` is kept for such cases):
 *  - IEC61850/MMS_-_Specific_Commands/iec61850_{read,write}.pcap: the session ACCEPT SPDU's length
 *    claims one byte more than the TSDU has. tshark reports it malformed and so does not count the
 *    initiate-response; neither do we (violation mms_bad_session). Initiate PDUs have no service
 *    field, so this shows in neither count.
 *  - openics/EIP-ViewDeviceStatus.pcap holds no EtherNet/IP at all (DNP3 on 20000, data on 5450):
 *    both sides count nothing; it stays in the table so a false detection would show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { FlowRecord } from '../../core/records.ts';
import { newPcapStats, readPcapFlows } from '../../ingest/pcap/index.ts';
import { modbusAnalyzer } from '../../ingest/protocols/modbus/dissect.ts';
import { BVLC_FUNCTIONS, NETWORK_MESSAGES, serviceChoice } from '../../ingest/protocols/bacnet/codes.ts';
import { bacnetAnalyzer } from '../../ingest/protocols/bacnet/dissect.ts';
import { commandCode, serviceCode } from '../../ingest/protocols/enip/codes.ts';
import { enipAnalyzer, enipUdpAnalyzer } from '../../ingest/protocols/enip/dissect.ts';
import { parseOpName } from '../../ingest/protocols/mms/codes.ts';
import { mmsAnalyzer } from '../../ingest/protocols/mms/dissect.ts';
import { MESSAGE_TYPES, serviceId } from '../../ingest/protocols/opcua/codes.ts';
import { opcuaAnalyzer } from '../../ingest/protocols/opcua/dissect.ts';
import { requireTool, sharedData, sharedDataDir } from '../support/data.ts';

type Counts = Record<string, number>;

/** OPC UA last: it matches every TCP flow and decides on the payload. */
const ANALYZERS = [modbusAnalyzer, enipAnalyzer, enipUdpAnalyzer, bacnetAnalyzer, mmsAnalyzer, opcuaAnalyzer];

const hex = (n: number, w: number): string => `0x${n.toString(16).padStart(w, '0')}`;

interface Protocol {
  l7: string;
  /** tshark fields counted, and values of them left out. */
  fields: Array<{ field: string; skip?: string[] }>;
  args: string[];
  /** `field=value` key of one of our op names; undefined = not comparable (a test failure). */
  key(name: string, fromInitiator: boolean): string | undefined;
}

const OPCUA_TYPE_BY_NAME = new Map(Object.entries(MESSAGE_TYPES).map(([t, n]) => [n, t]));
const BVLC_BY_NAME = new Map(Object.entries(BVLC_FUNCTIONS).map(([c, n]) => [n, Number(c)]));
const NETMSG_BY_NAME = new Map(Object.entries(NETWORK_MESSAGES).map(([c, n]) => [n, Number(c)]));

const PROTOCOLS: Record<string, Protocol> = {
  enip: {
    l7: 'enip',
    fields: [{ field: 'enip.command', skip: ['0x006f', '0x0070'] }, { field: 'cip.sc' }],
    args: [],
    key(name) {
      const cmd = commandCode(name);
      if (cmd !== undefined) return `enip.command=${hex(cmd, 4)}`;
      const sc = serviceCode(name);
      return sc === undefined ? undefined : `cip.sc=${hex(sc, 2)}`;
    },
  },
  opcua: {
    l7: 'opcua',
    fields: [{ field: 'opcua.transport.type', skip: ['OPN', 'MSG', 'CLO'] }, { field: 'opcua.servicenodeid.numeric' }],
    args: ['-d', 'tcp.port==12001,opcua'],
    key(name, fromInit) {
      const t = OPCUA_TYPE_BY_NAME.get(name);
      if (t && ['HEL', 'ACK', 'ERR', 'RHE'].includes(t)) return `opcua.transport.type=${t}`;
      const id = serviceId(name, fromInit);
      return id === undefined ? undefined : `opcua.servicenodeid.numeric=${id}`;
    },
  },
  bacnet: {
    l7: 'bacnet',
    fields: [
      { field: 'bvlc.function', skip: ['0x04', '0x09', '0x0a', '0x0b'] }, { field: 'bacapp.confirmed_service' },
      { field: 'bacapp.unconfirmed_service' }, { field: 'bacnet.mesgtyp' },
    ],
    args: [],
    key(name) {
      const f = BVLC_BY_NAME.get(name);
      if (f !== undefined) return `bvlc.function=${hex(f, 2)}`;
      const m = NETMSG_BY_NAME.get(name);
      if (m !== undefined) return `bacnet.mesgtyp=${hex(m, 2)}`;
      const s = serviceChoice(name);
      if (!s) return undefined;
      return s.confirmed ? `bacapp.confirmed_service=${s.choice}` : `bacapp.unconfirmed_service=${s.choice}`;
    },
  },
  mms: {
    l7: 'mms',
    fields: [{ field: 'mms.confirmedServiceRequest' }, { field: 'mms.confirmedServiceResponse' }, { field: 'mms.unconfirmedService' }],
    args: ['-o', 'uat:pres_context_list:"3","1.0.9506.2.1"'],
    key(name) {
      const op = parseOpName(name);
      if (!op) return undefined;
      if (op.service === undefined) return '';
      if (op.type === 0) return `mms.confirmedServiceRequest=${op.service}`;
      if (op.type === 1) return `mms.confirmedServiceResponse=${op.service}`;
      if (op.type === 3) return `mms.unconfirmedService=${op.service}`;
      return '';
    },
  },
};

/** Capture → protocol, with our-minus-tshark differences where documented above. */
const CAPTURES: Array<{ file: string; proto: string; diff?: Counts; min: number }> = [
  { file: 'pcaps/EthernetIP/cip_start_plc.pcap', proto: 'enip', min: 1 },
  { file: 'pcaps/EthernetIP/cip_stop_plc.pcap', proto: 'enip', min: 1 },
  { file: 'pcaps/EthernetIP/enip_test.pcap', proto: 'enip', min: 2 },
  { file: 'pcaps/openics/EIP-RebootorRestart.pcap', proto: 'enip', min: 2000 },
  { file: 'pcaps/openics/EIP-SoftwareDownload.pcap', proto: 'enip', min: 2000 },
  { file: 'pcaps/openics/EIP-ViewDeviceStatus.pcap', proto: 'enip', min: 0 },
  { file: 'pcaps/OPC/opc-ua-ap-method-wireshark-freeze.pcap', proto: 'opcua', min: 20 },
  { file: 'pcaps/BACnet/bacnet_test.pcap', proto: 'bacnet', min: 20 },
  { file: 'pcaps/IEC61850/Sample_File_MMS_and_GOOSE.pcap', proto: 'mms', min: 25 },
  { file: 'pcaps/IEC61850/MMS_-_Specific_Commands/iec61850_read.pcap', proto: 'mms', min: 2 },
  { file: 'pcaps/IEC61850/MMS_-_Specific_Commands/iec61850_write.pcap', proto: 'mms', min: 1 },
];

const tsharkCounts = (file: string, p: Protocol): Counts => {
  const args = ['-r', file, ...p.args, '-T', 'fields', '-E', 'separator=/t'];
  for (const f of p.fields) args.push('-e', f.field);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
  const counts: Counts = {};
  for (const line of out.split('\n')) {
    line.split('\t').forEach((cell, i) => {
      const f = p.fields[i];
      if (!f) return;
      for (const v of cell.split(',')) {
        if (v === '' || f.skip?.includes(v)) continue;
        const k = `${f.field}=${v}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
    });
  }
  return counts;
};

const ourCounts = async (file: string, p: Protocol): Promise<Counts> => {
  const counts: Counts = {};
  const stats = newPcapStats(file);
  const recs: FlowRecord[] = [];
  for await (const batch of readPcapFlows(file, {}, stats, ANALYZERS)) recs.push(...batch);
  for (const r of recs) {
    if (r.l7 !== p.l7) continue;
    for (const [ops, fromInit] of [[r.l7Ops, true], [r.l7OpsRev, false]] as const) {
      for (const [name, n] of Object.entries(ops ?? {})) {
        const k = p.key(name, fromInit);
        assert.ok(k !== undefined, `${file}: op name ${name} maps to no tshark field`);
        if (k !== '') counts[k] = (counts[k] ?? 0) + n;
      }
    }
  }
  return counts;
};

for (const c of CAPTURES) {
  test(`${c.proto} op counts of ${c.file} equal tshark’s`, async (t) => {
    const file = sharedData(t, c.file);
    if (!file || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
    const p = PROTOCOLS[c.proto]!;
    const expected = tsharkCounts(file, p);
    for (const [k, d] of Object.entries(c.diff ?? {})) expected[k] = (expected[k] ?? 0) + d;
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    assert.ok(total >= c.min, `${c.file}: tshark saw only ${total} ops (expected ≥ ${c.min})`);
    assert.deepEqual(await ourCounts(file, p), expected);
  });
}

test('the S7comm captures on port 102 get no MMS ops and no MMS violations', async (t) => {
  const dir = sharedData(t, 'pcaps/s7');
  if (!dir) return;
  for (const f of ['S7-1200-Uploading-OB1-TIAV12.pcap', 's7comm_downloading_block_db1.pcap', 's7comm_reading_plc_status.pcap']) {
    const stats = newPcapStats(f);
    let iso = 0;
    for await (const batch of readPcapFlows(join(sharedDataDir, 'pcaps/s7', f), {}, stats, ANALYZERS)) {
      for (const r of batch) {
        if (r.dstPort === 102 || r.srcPort === 102) iso++;
        assert.equal(r.l7, undefined, `${f}: ${r.srcPort} → ${r.dstPort} labelled ${r.l7}`);
      }
    }
    assert.ok(iso > 0, `${f}: no port-102 flow`);
    assert.deepEqual(Object.keys(stats.violations).filter((k) => k.startsWith('mms_')), [], f);
  }
});
