/**
 * Alerts out to a SIEM, received by a real Debian rsyslogd on loopback: RFC 5424 and CEF over UDP,
 * TCP (octet-counted and LF-framed) and TLS; and `serve --siem` forwarding a replayed capture's
 * alerts beside the store, each once.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { hasCode } from '../../../core/errors.ts';
import type { Alert } from '../../../core/records.ts';
import { SiemSender } from '../../../bus/siem/sender.ts';
import { startRsyslog, type ReceivedMessage, type RsyslogService } from '../../../infra/services/rsyslog.ts';
import { TABLES } from '../../../store/schema.ts';
import { projectRoot, sharedData } from '../../support/data.ts';
import { LEMAY_FAKE_COMMAND } from '../../support/replayed.ts';

const exec = promisify(execFile);

const alert = (i: number, score: number): Alert => ({
  id: `alert-${i}`, conduit: 'field->field', src: '192.168.1.101', dst: '192.168.1.102', proto: 6, dstPort: 502, l7: 'modbus',
  tsStart: 1424799610000 + i * 10_000, tsEnd: 1424799620000 + i * 10_000, score, detector: 'novelty',
  explanation: `new edge 192.168.1.101 → 192.168.1.102:502 modbus never seen in baseline; ops: write_single_coil x${i} "quoted" [${i}]`,
});
const ALERTS = [alert(1, 1), alert(2, 0.93), alert(3, 0.81)];

/** RFC 5424 SD-PARAMs of one SD element, unescaped. */
const sdParams = (sd: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of sd.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
};

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not reached in ${ms} ms: ${what}`);
};

let rs: RsyslogService;

test('rsyslog receives every alert with the fields a SOC maps, over UDP, TCP and TLS, as RFC 5424 and CEF', async (t) => {
  rs = await startRsyslog();
  t.after(() => rs.stop());
  const cases = [
    { input: 'udp', url: `udp://127.0.0.1:${rs.udpPort}`, format: 'rfc5424' as const },
    { input: 'udp', url: `udp://127.0.0.1:${rs.udpPort}`, format: 'cef' as const },
    { input: 'tcp', url: `tcp://127.0.0.1:${rs.tcpPort}`, format: 'rfc5424' as const },
    { input: 'tcp', url: `tcp://127.0.0.1:${rs.tcpPort}`, format: 'cef' as const, framing: 'lf' as const },
    { input: 'tls', url: `tls://127.0.0.1:${rs.tlsPort}`, format: 'rfc5424' as const },
    { input: 'tls', url: `tls://127.0.0.1:${rs.tlsPort}`, format: 'cef' as const },
  ];
  for (const [n, c] of cases.entries()) {
    const s = new SiemSender({ url: c.url, format: c.format, caFile: rs.caFile, hostname: `case${n}`, ...(c.framing ? { framing: c.framing } : {}) });
    await s.send(ALERTS);
    await s.close();
  }
  await until('all messages written', () => rs.messages().length >= cases.length * ALERTS.length);
  const got = rs.messages();
  assert.equal(got.length, cases.length * ALERTS.length);
  for (const [n, c] of cases.entries()) {
    const mine = got.filter((m) => m.hostname === `case${n}`);
    assert.equal(mine.length, ALERTS.length, `${c.url} ${c.format}`);
    for (const [i, a] of ALERTS.entries()) {
      const m: ReceivedMessage = mine[i]!;
      const where = `${c.url} ${c.format} ${a.id}`;
      assert.equal(m.input, c.input, where);
      assert.equal(m.facility, 'local4', where);
      assert.equal(m.severity, ['crit', 'err', 'warning'][i], where);
      assert.equal(Date.parse(m.timestamp), a.tsStart, where);
      assert.equal(m.app, 'conduitwatch', where);
      assert.equal(m.msgid, 'novelty', where);
      if (c.format === 'rfc5424') {
        assert.match(m.sd, /^\[conduitwatch@32473 /, where);
        const p = sdParams(m.sd);
        assert.deepEqual([p.id, p.conduit, p.src, p.dst, p.dstPort, p.proto, p.l7, p.detector, p.severity, p.score],
          [a.id, a.conduit, a.src, a.dst, '502', 'tcp', 'modbus', 'novelty', ['critical', 'high', 'medium'][i], String(a.score)], where);
        assert.equal(m.msg.replace(/^\uFEFF/, ''), a.explanation, where);
      } else {
        assert.equal(m.sd, '-', where);
        const cef = m.msg;
        assert.ok(cef.startsWith(`CEF:0|conduitwatch|conduitwatch|0.1.0|novelty|novelty alert on field->field|${[10, 8, 5][i]}|`), cef);
        for (const kv of [`src=${a.src}`, `dst=${a.dst}`, 'dpt=502', 'cs1=field->field', `externalId=${a.id}`, `msg=${a.explanation}`]) {
          assert.ok(cef.includes(kv), `${where}: ${kv} in ${cef}`);
        }
      }
    }
  }
});

test('TLS to a SIEM whose certificate is not trusted is refused with not_connected', async () => {
  const s = new SiemSender({ url: `tls://127.0.0.1:${rs.tlsPort}` });
  await assert.rejects(s.send(ALERTS), (e: unknown) => hasCode(e, 'not_connected'));
  await s.close();
});

test('serve --siem forwards every alert of a replayed capture to rsyslog, each once, beside the store', async (t) => {
  const input = sharedData(t, LEMAY_FAKE_COMMAND);
  if (!input) return;
  const receiver = await startRsyslog();
  t.after(() => receiver.stop());
  const dir = await mkdtemp(join(tmpdir(), 'cw-siem-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(projectRoot, 'bin/conduitwatch.mjs');
  const env = { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'warn' };
  const p = spawn(process.execPath, [bin, 'serve', '--site', join(projectRoot, 'examples/lemay/site.yaml'), '--data', dir, '--http', 'off',
    '--query-listen', 'http://127.0.0.1:0', '--siem', `tcp://127.0.0.1:${receiver.tcpPort}`, input], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  t.after(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  const sql = async (q: string) => (await exec(process.execPath, [bin, 'sql', '--data', dir, '--format', 'TabSeparated', q], { env })).stdout;
  // The capture raises six alerts (README tour); wait until the store and the SIEM have them all.
  await until('the store has the alerts', async () => Number(await sql(`SELECT count() FROM ${TABLES.alerts}`).catch(() => '0')) >= 6, 60_000);
  const ids = (await sql(`SELECT id FROM ${TABLES.alerts} FINAL ORDER BY id`)).trim().split('\n');
  await until('rsyslog has the alerts', () => receiver.messages().length >= ids.length);
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
  const received = receiver.messages().map((m) => sdParams(m.sd).id!).sort();
  assert.deepEqual(received, ids);
});
