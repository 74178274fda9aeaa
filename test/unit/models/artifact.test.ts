import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hasCode } from '../../../core/errors.ts';
import { checkSpec, loadModel, modelNames, parseRef, readCard, resolveRef, versionsOf, type ModelCard } from '../../../models/artifact.ts';
import { useBackend } from '../../../models/backend.ts';
import { diffText, listText, showText } from '../../../cli/models.ts';
import { MIN, trainTiny } from './support.ts';

let root = '';
let v1: ModelCard;
let v2: ModelCard;
let v3: ModelCard;

before(async () => {
  await useBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'cw-models-art-'));
  v1 = await trainTiny(root);
  v2 = await trainTiny(root);
  v3 = await trainTiny(root, 'plant', { seed: 2 });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('training is deterministic on the cpu backend: same data and seed, byte-identical weights and the same id', () => {
  assert.deepEqual([v1.version, v2.version, v3.version], [1, 2, 3]);
  assert.equal(v1.id, v2.id);
  for (const k of ['autoencoder', 'forecast'] as const) {
    assert.ok(v1.models[k], `${k} trained`);
    assert.deepEqual(readFileSync(join(root, 'plant', '1', `${k}.bin`)), readFileSync(join(root, 'plant', '2', `${k}.bin`)));
    assert.equal(v1.models[k]!.weightsSha256, v2.models[k]!.weightsSha256);
  }
  assert.notEqual(v1.id, v3.id, 'another seed, other weights');
});

test('the card holds the feature spec and its hash, the baseline, settings, metrics and calibration', () => {
  const c = readCard(join(root, 'plant', '1'));
  assert.equal(c.format, 'conduitwatch-model/1');
  assert.equal(c.featureSpec.windowMs, MIN);
  assert.match(c.featureSpecHash, /^[0-9a-f]{16}$/);
  assert.deepEqual(c.kinds, ['autoencoder', 'forecast']);
  assert.ok(c.baseline.windows > 100);
  const fc = c.models.forecast!;
  assert.equal(fc.calibration.sigma.length, c.featureSpec.edge.length);
  assert.ok(fc.calibration.sigma.every((s) => s >= fc.calibration.minResidual));
  assert.ok(fc.training.trainSamples > 0 && fc.training.finalLoss > 0);
  assert.ok(fc.calibration.scores.of > 0);
});

test('a model is found by name (latest) or name@version, and a missing one is refused with what exists', () => {
  assert.deepEqual(modelNames(root), ['plant']);
  assert.deepEqual(versionsOf(root, 'plant'), [1, 2, 3]);
  assert.equal(resolveRef(root, parseRef('plant')).version, 3);
  assert.equal(resolveRef(root, parseRef('plant@2')).version, 2);
  assert.throws(() => resolveRef(root, parseRef('plant@9')), /no version 9; versions: 1, 2, 3/);
  assert.throws(() => resolveRef(root, parseRef('other')), (e: unknown) => hasCode(e, 'config_invalid') && /no model "other".*models there: plant.*conduitwatch train/s.test((e as Error).message));
  assert.throws(() => parseRef('bad name'), /NAME@VERSION/);
});

test('a feature-spec mismatch or another window is a clear refusal, never a silent load', () => {
  const card = readCard(join(root, 'plant', '1'));
  const renamed = { ...card, featureSpec: { ...card.featureSpec, edge: card.featureSpec.edge.map((n) => (n === 'starts' ? 'connections' : n)) } };
  renamed.featureSpecHash = 'f'.repeat(16);
  assert.throws(() => checkSpec(renamed, MIN), (e: unknown) => hasCode(e, 'config_invalid') && /feature spec f{16}.*differs in: edge.*Retrain/s.test((e as Error).message));
  assert.throws(() => checkSpec(card, 10_000), /trained on 60000 ms windows, but the site's detection.window is 10000 ms/);
  checkSpec(card, MIN);
});

test('changed weights are refused at load: the card\'s sha256 no longer matches', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-models-tamper-'));
  try {
    await trainTiny(dir, 'x', { kinds: ['autoencoder'] });
    const bin = join(dir, 'x', '1', 'autoencoder.bin');
    const b = readFileSync(bin);
    b[0] = b[0]! ^ 0xff;
    writeFileSync(bin, b);
    await assert.rejects(loadModel(dir, { name: 'x' }, MIN), /weights do not match the card/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('models list, show and diff say what a store holds and what differs', () => {
  const list = listText(root);
  assert.equal(list.trim().split('\n').length, 4);
  assert.match(list, /^plant@3 +[0-9a-f]{16} +autoencoder\+forecast/m);
  const show = showText(readCard(join(root, 'plant', '1')));
  assert.match(show, /feature spec [0-9a-f]{16}: window 60000 ms, history 6 windows/);
  assert.match(show, /forecast: GRU\(16\) over 6×8 → dense 8/);
  assert.match(show, /residual σ \(log1p\) per feature/);
  assert.match(diffText(v1, v2), /^ {2}identical$|trainedAt|^plant@1 → plant@2\n/m);
  const d = diffText(v1, v3);
  assert.match(d, /^ {2}seed: 1 → 2$/m);
  assert.match(d, /^ {2}models\.forecast\.calibration\.sigma\.requests: /m);
  assert.doesNotMatch(d, /FEATURE SPEC DIFFERS/);
});
