/** What-if on chDB over hand-made stored flows: every kind of entry, reason, waiver and alert. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveRuns } from '../../../enforce/baseline.ts';
import { ruleHash, RULE_KIND, type Rule } from '../../../enforce/rules.ts';
import { whatIf, whatIfJson } from '../../../enforce/whatif.ts';
import { openChdb } from '../../../store/chdb.ts';
import { migrate } from '../../../store/migrate.ts';
import { alertRow, flowRow, tables } from '../../../store/schema.ts';

const T = 1_700_000_000_000;
const flow = (i: number, src: string, dst: string, port: number, proto: number, l7: string, ops: Record<string, number>, runId = 'r2', observedAt = 2) => flowRow({
  id: `${runId}:${i}`, tsStart: T + i * 1000, tsEnd: T + i * 1000 + 10, srcIp: src, srcPort: 40000 + i, dstIp: dst, dstPort: port, proto, packets: 1, bytes: 1, packetsRev: 1, bytesRev: 1,
  tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'file', l7, l7Ops: ops,
}, { conduit: 'control->field', srcZone: 'control', dstZone: 'field', runId, observedAt });

const rule: Rule = {
  kind: RULE_KIND, schema: 1, site: 't', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['r2'], from: 0, to: 1, flows: 1, fullCycles: 3, phasesSeen: [1], phases: 12 },
  entries: [
    { src: '10.0.1.10', dst: '10.0.2.20', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], ops: [
      { op: 'read_coils', status: 'allow', held: [] }, { op: 'write_single_coil', status: 'hold', held: ['seen in 1 of the 3 production cycles needed'] }] },
    { src: 'zone:control', dst: '10.0.2.21', proto: 17, dstPort: 161, l7: '', status: 'allow', held: [], ops: [] },
    { src: 'zone:control', dst: '10.0.2.22', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], ops: [{ op: 'read_holding_registers', status: 'allow', held: [] }] },
    { src: '10.0.1.10', dst: '10.0.2.23', proto: 6, dstPort: 80, l7: '', status: 'hold', held: ['first seen under alert a1'], ops: [] },
  ],
  waivers: [{ src: '10.0.1.10', dst: '10.0.2.20', proto: 6, dstPort: 502, op: 'write_multiple_registers', by: 'J. Operator', reason: 'retired recipe download', at: 1 }],
};

test('what-if blocks exactly the flows no allowed entry or op covers, says why, and honours waivers and open alerts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-whatif-'));
  const store = await openChdb(dir);
  try {
    await migrate(store);
    await store.insertRows(tables.flows.name, [
      flow(0, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', { read_coils: 3 }), // allowed
      flow(1, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', {}), // allowed: no op (handshake only)
      flow(2, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', { read_coils: 1, write_single_coil: 1 }), // held op
      flow(3, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', { fc_90: 1 }), // op not in the rule
      flow(4, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', { write_multiple_registers: 1 }), // waived op
      flow(5, '10.0.1.99', '10.0.2.21', 161, 17, '', {}), // zone entry: any src of the zone
      flow(6, '10.0.1.99', '10.0.2.22', 502, 6, 'modbus', { read_holding_registers: 1 }), // zone entry with ops
      flow(7, '10.0.1.99', '10.0.2.22', 502, 6, 'modbus', { write_single_register: 1 }), // zone entry, op missing
      flow(8, '10.0.1.11', '10.0.2.20', 502, 6, 'modbus', { read_coils: 1 }), // new talker
      flow(9, '10.0.1.10', '10.0.2.23', 80, 6, '', {}), // held edge, inside the alert below
      flow(9, '10.0.1.10', '10.0.2.20', 502, 6, 'modbus', { fc_90: 1 }, 'r1', 1), // an older run: not read by default
    ]);
    await store.insertRows(tables.alerts.name, [alertRow({ id: 'a1', conduit: 'control->field', src: '10.0.1.10', dst: '10.0.2.23', proto: 6, dstPort: 80, l7: '',
      tsStart: T + 9000, tsEnd: T + 10_000, score: 1, detector: 'novelty', explanation: 'new edge' }, 'r2')]);
    const runs = await resolveRuns(store, 'control->field');
    assert.deepEqual(runs, ['r2']);
    const r = await whatIf(store, rule, ruleHash(rule), runs);
    assert.equal(r.flowsEvaluated, 10);
    assert.deepEqual(r.blocked.map((b) => [b.tsStart - T, b.src, b.dst, b.op, b.inAlert, b.waiver !== '']), [
      [2000, '10.0.1.10', '10.0.2.20', 'write_single_coil', '', false],
      [3000, '10.0.1.10', '10.0.2.20', 'fc_90', '', false],
      [4000, '10.0.1.10', '10.0.2.20', 'write_multiple_registers', '', true],
      [7000, '10.0.1.99', '10.0.2.22', 'write_single_register', '', false],
      [8000, '10.0.1.11', '10.0.2.20', '', '', false],
      [9000, '10.0.1.10', '10.0.2.23', '', 'a1', false],
    ]);
    assert.deepEqual(r.blocked.map((b) => b.reason), [
      'modbus op write_single_coil on 10.0.1.10 → 10.0.2.20 tcp/502 is held for review: seen in 1 of the 3 production cycles needed',
      'modbus op fc_90 is not allowed on 10.0.1.10 → 10.0.2.20 tcp/502',
      'modbus op write_multiple_registers is not allowed on 10.0.1.10 → 10.0.2.20 tcp/502',
      'modbus op write_single_register is not allowed on 10.0.1.99 → 10.0.2.22 tcp/502',
      'edge 10.0.1.11 → 10.0.2.20 tcp/502 is not in the rule',
      'edge 10.0.1.10 → 10.0.2.23 tcp/80 is held for review: first seen under alert a1',
    ]);
    assert.equal(r.unwaived, 4);
    assert.equal(r.promotable, false);
    assert.equal(whatIfJson(await whatIf(store, rule, ruleHash(rule), runs)), whatIfJson(r));
    // Both runs: the older run's flow is evaluated too.
    assert.equal((await whatIf(store, rule, ruleHash(rule), ['r1', 'r2'])).flowsBlocked, 7);
    // Nothing of the what-if stays behind in the store.
    const [left] = await store.query<{ n: number }>("SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name LIKE 'whatif%'");
    assert.equal(Number(left!.n), 0);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
