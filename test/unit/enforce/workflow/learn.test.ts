import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { applyOverrides, BaselineOverrides } from '../../../../enforce/workflow/learn.ts';

const dir = mkdtempSync(join(tmpdir(), 'cw-learn-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ev = { cycles: 3, firstSeen: 0, lastSeen: 1, flows: 9, firstSeenInAlert: '' };
const rule = {
  conduit: 'scada->field',
  entries: [{ src: '10.10.1.10', dst: '10.10.3.101', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev,
    ops: [{ op: 'read_holding_registers', status: 'allow', held: [], evidence: ev }, { op: 'write_single_register', status: 'allow', held: [], evidence: ev }] }],
};

test('a learned edge becomes an allow entry, an unlearned op is held with who and why, the latest decision wins', () => {
  const o = new BaselineOverrides(dir);
  const hist = { conduit: 'scada->field', src: '10.10.1.20', dst: '10.10.3.101', proto: 6, dstPort: 502, l7: 'modbus' };
  o.record('learn', hist, 'a.haddad', 'the new historian', 1);
  o.record('unlearn', { ...hist, src: '10.10.1.10', op: 'write_single_register' }, 'a.haddad', 'the HMI never writes', 2);
  o.record('learn', { ...hist, op: 'read_input_registers' }, 'a.haddad', 'trend block', 3);
  const out = applyOverrides(rule, o.current('scada->field'));
  assert.notEqual(out, rule);
  const hmi = out.entries.find((e) => e.src === '10.10.1.10')!;
  assert.deepEqual(hmi.ops.map((x) => `${x.op}:${x.status}`), ['read_holding_registers:allow', 'write_single_register:hold']);
  assert.match(hmi.ops[1]!.held![0]!, /unlearned by a\.haddad: the HMI never writes/);
  const h = out.entries.find((e) => e.src === '10.10.1.20')!;
  assert.equal(h.status, 'allow');
  assert.deepEqual(h.ops.map((x) => x.op), ['read_input_registers']);
  o.record('unlearn', hist, 'b.okafor', 'decommissioned', 4);
  assert.equal(applyOverrides(rule, o.current('scada->field')).entries.find((e) => e.src === '10.10.1.20')!.status, 'hold');
  assert.deepEqual(o.learnedEdges().map((e) => e.ops), [['read_input_registers']], 'the op learned on the edge still counts for the detectors');
});

test('a rule no decision touches comes back unchanged, and a decision needs a reason', () => {
  const o = new BaselineOverrides(mkdtempSync(join(dir, 'x-')));
  assert.equal(applyOverrides(rule, o.current()), rule);
  assert.throws(() => o.record('learn', { conduit: 'scada->field', src: 'a', dst: 'b', proto: 6, dstPort: 1, l7: '' }, 'x.y', ' ', 0), /needs a reason/);
  assert.throws(() => o.record('learn', { conduit: 'scada field', src: 'a', dst: 'b', proto: 6, dstPort: 1, l7: '' }, 'x.y', 'r', 0));
});
