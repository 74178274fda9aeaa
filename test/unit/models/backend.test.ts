/**
 * Backend choice and agreement. @tensorflow/tfjs-node is not installed here (its install downloads
 * libtensorflow): the path that picks it is tested with a module loader that stands for it — it
 * registers a 'tensorflow' backend as the package does (here with the cpu kernels under that name).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createEngine } from '../../../cli/registry.ts';
import { hasCode } from '../../../core/errors.ts';
import { BACKEND_TOLERANCE, useBackend, type ModuleLoader } from '../../../models/backend.ts';
import { buildNet, predictNet } from '../../../models/nets.ts';
import { tf } from '../../../models/tf.ts';
import { site, trainTiny, withAnomaly } from './support.ts';

const notInstalled: ModuleLoader = async (s) => {
  if (s === '@tensorflow/tfjs-node') throw new Error(`Cannot find package '${s}'`);
  return import(s);
};

/** Stands for @tensorflow/tfjs-node: importing it registers the 'tensorflow' backend. */
const fakeNode: ModuleLoader = async (s) => {
  if (s !== '@tensorflow/tfjs-node') return import(s);
  const cpu = tf.findBackendFactory('cpu')!;
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
  tf.registerBackend('tensorflow', cpu, 1);
  return {};
};

let root = '';
before(async () => {
  await useBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'cw-models-be-'));
  await trainTiny(root);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('auto falls back to wasm when @tensorflow/tfjs-node is not installed, and says why', async () => {
  const b = await useBackend('auto', notInstalled);
  assert.equal(b.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(typeof b.simd, 'boolean');
  assert.equal(b.skipped[0]?.name, 'tensorflow');
  assert.match(b.skipped[0]!.reason, /@tensorflow\/tfjs-node is not installed/);
});

test('asking for the native backend when it is not installed is a config error that says how to get it', async () => {
  await assert.rejects(useBackend('tensorflow', notInstalled), (e: unknown) => hasCode(e, 'config_invalid') && /backend "tensorflow" is not available.*install @tensorflow\/tfjs-node/.test((e as Error).message));
});

const scoresOn = async (backend: 'cpu' | 'wasm' | 'tensorflow'): Promise<Map<string, number>> => {
  const e = await createEngine(site, { models: { refs: ['plant'], dir: root, backend } });
  const out = [e.ingest(withAnomaly()), e.flush()].flatMap((o) => o.scores).filter((s) => s.detector === 'forecast' || s.detector === 'autoencoder');
  return new Map(out.map((s) => [`${s.windowStart} ${s.edge} ${s.detector}`, s.score]));
};

test('auto picks the native backend when it is installed, and every backend gives the same scores within the tolerance', async () => {
  const cpu = await scoresOn('cpu');
  const wasm = await scoresOn('wasm');
  assert.equal((await useBackend('auto', fakeNode)).name, 'tensorflow');
  const native = await scoresOn('tensorflow');
  assert.ok(cpu.size > 20, `${cpu.size} model scores`);
  for (const [name, other] of [['wasm', wasm], ['tensorflow', native]] as const) {
    // A score near the emit floor may be emitted on one backend and not the other: compare those emitted on both.
    let compared = 0;
    for (const [k, v] of cpu) {
      const w = other.get(k);
      if (w === undefined) { assert.ok(v < 0.2, `${name} lacks ${k} (${v} on cpu)`); continue; }
      compared += 1;
      assert.ok(Math.abs(v - w) <= BACKEND_TOLERANCE, `${k}: cpu ${v}, ${name} ${w}`);
    }
    assert.ok(compared >= cpu.size - 2, `${name}: ${compared} of ${cpu.size} compared`);
  }
});

test('batched inference gives the rows that one-by-one inference gives', async () => {
  await useBackend('cpu');
  const net = buildNet({ kind: 'forecast', history: 6, features: 8, units: 16 }, 3);
  const n = 5;
  const x = Float32Array.from({ length: n * 48 }, (_, i) => Math.sin(i / 7));
  const all = predictNet(net, x, [6, 8], 8);
  for (let i = 0; i < n; i += 1) {
    const one = predictNet(net, x.subarray(i * 48, (i + 1) * 48), [6, 8], 8);
    for (let k = 0; k < 8; k += 1) assert.ok(Math.abs(one[k]! - all[i * 8 + k]!) < 1e-5);
  }
});
