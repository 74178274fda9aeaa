import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Alert } from '../../../core/records.ts';
import { cef, rfc5424, severityOf } from '../../../bus/siem/format.ts';
import { SiemSender } from '../../../bus/siem/sender.ts';

const alert: Alert = {
  id: 'a"1', conduit: 'field->field', src: '192.168.1.101', dst: '192.168.1.102', proto: 6, dstPort: 502, l7: 'modbus',
  tsStart: 1424799610000.5, tsEnd: 1424799620000, score: 1, detector: 'novelty', explanation: 'new edge a=b | c\\d\nnext',
};
const opts = { facility: 'local4' as const, hostname: 'h 1', appName: 'conduitwatch', enterprise: 32473, procId: '7', version: '0.1.0' };

test('severity bands follow the score: critical ≥ 0.99, high ≥ 0.9, else medium', () => {
  assert.deepEqual([1, 0.99, 0.95, 0.9, 0.85, 0.8].map(severityOf), ['critical', 'critical', 'high', 'high', 'medium', 'medium']);
});

test('RFC 5424: PRI from facility and severity, header fields without spaces, SD values escaped, BOM before the message', () => {
  const m = rfc5424({ ...alert, detector: 'nov]el"ty' }, opts);
  const text = m.toString('utf8');
  assert.match(text, /^<162>1 2015-02-24T17:40:10\.000Z h1 conduitwatch 7 nov\]el"ty /);
  assert.match(text, / \[conduitwatch@32473 id="a\\"1" severity="critical" conduit="field->field" src="192\.168\.1\.101" dst="192\.168\.1\.102" dstPort="502" proto="tcp" l7="modbus" detector="nov\\]el\\"ty" score="1" /);
  const bom = m.indexOf(Buffer.from([0xef, 0xbb, 0xbf]));
  assert.ok(bom > 0);
  assert.equal(m.subarray(bom + 3).toString('utf8'), alert.explanation);
  assert.match(rfc5424({ ...alert, score: 0.85 }, { ...opts, facility: 'auth' }).toString(), /^<36>1 /);
});

test('CEF: header pipes and backslashes escaped, extension = and newlines escaped, 0-10 severity', () => {
  const text = cef({ ...alert, detector: 'a|b' }, opts).toString('utf8');
  const body = text.slice(text.indexOf('CEF:'));
  assert.match(body, /^CEF:0\|conduitwatch\|conduitwatch\|0\.1\.0\|a\\\|b\|a\\\|b alert on field->field\|10\|/);
  assert.match(body, / src=192\.168\.1\.101 dst=192\.168\.1\.102 dpt=502 proto=TCP app=modbus /);
  assert.match(body, / cs1Label=conduit cs1=field->field /);
  assert.ok(body.endsWith('msg=new edge a\\=b | c\\\\d\\nnext'), body);
  assert.match(text, /^<162>1 \S+ h1 conduitwatch 7 a\|b - CEF:0/);
});

test("an alert's own severity (triage) sets PRI and CEF severity, with risk, incident and reason beside it", () => {
  const triaged: Alert = { ...alert, score: 1, severity: 'low', risk: 2, severityReason: 'undeclared conduit; zone a SL 2', incident: 'inc-00ff' };
  const text = rfc5424(triaged, opts).toString('utf8');
  assert.match(text, /^<165>1 /, 'local4 (20) x 8 + notice (5)');
  assert.match(text, / severity="low" /);
  assert.match(text, / risk="2" incident="inc-00ff" severityReason="undeclared conduit; zone a SL 2"\] /);
  const body = cef(triaged, opts).toString('utf8');
  assert.match(body, /\|novelty alert on field->field\|3\|/);
  assert.match(body, / cs3Label=severity cs3=low cfp1Label=score cfp1=1 cfp2Label=risk cfp2=2 cs4Label=incident cs4=inc-00ff cs5Label=severityReason cs5=undeclared conduit; zone a SL 2 msg=/);
  assert.match(rfc5424({ ...triaged, severity: 'info' }, opts).toString(), /^<166>1 /);
});

test('a message longer than maxMessageBytes is cut to it', () => {
  const s = new SiemSender({ url: 'udp://127.0.0.1:9', maxMessageBytes: 480 });
  assert.equal(s.message({ ...alert, explanation: 'x'.repeat(5000) }).length, 480);
});

test('a SIEM URL that is not udp, tcp or tls is a config error naming the forms', () => {
  assert.throws(() => new SiemSender({ url: 'http://siem:514' }), /udp:\/\/HOST:PORT, tcp:\/\/HOST:PORT or tls:\/\/HOST:PORT/);
});
