/**
 * `conduitwatch train` on a recorded capture and on the flows a replay stored, then `replay` and
 * the serve detector role running the trained model by name (Lemay fake-command capture, tiny
 * training: 3 epochs).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TOPICS, type Bus } from '../../../bus/bus.ts';
import { MemoryBus } from '../../../bus/memory.ts';
import { loadSite, SiteMap } from '../../../core/config.ts';
import { fakeClock } from '../../../core/clock.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { runReplay } from '../../../cli/replay.ts';
import { FlowPublisher } from '../../../cli/serve/collector.ts';
import { DetectorRole, stateKey } from '../../../cli/serve/detector.ts';
import { runTrain, trainSettings } from '../../../cli/train.ts';
import { openInput } from '../../../cli/inputs.ts';
import { readCard } from '../../../models/artifact.ts';
import { projectRoot, sharedData } from '../../support/data.ts';

const PCAP = 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap';
const SITE = join(projectRoot, 'examples', 'lemay', 'site.yaml');
const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const settings = trainSettings({ epochs: '3' });
const clock = fakeClock('2026-01-01T00:00:00Z');

test('train writes version 1 then 2 of a model with its card; training on the stored flows of a replay learns the same windows', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const root = tmp('cw-train-');
  const a = await runTrain({ inputs: [pcap], sitePath: SITE, out: join(root, 'lemay'), settings, backend: 'cpu', clock });
  assert.equal(a.card.version, 1);
  assert.equal(a.card.baseline.inputs.length, 1);
  assert.match(a.card.baseline.inputs[0]!.sha256, /^[0-9a-f]{64}$/);
  assert.equal(a.card.baseline.source, 'files');
  assert.equal(a.card.trainedAt, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(readCard(a.dir), a.card);
  assert.ok(a.windows > 50);

  const data = tmp('cw-train-store-');
  await runReplay({ inputs: [pcap], site: loadSite(SITE), dataDir: data, clock });
  const b = await runTrain({ inputs: [], data, sitePath: SITE, out: join(root, 'lemay'), settings, backend: 'cpu', clock });
  assert.equal(b.card.version, 2);
  assert.match(b.card.baseline.source, /^store /);
  assert.equal(b.windows, a.windows);
  assert.equal(b.card.baseline.from, a.card.baseline.from);
  assert.equal(b.card.baseline.edges, a.card.baseline.edges);
});

test('train on a store with several runs learns from the newest unless --run names one, and refuses --run all', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const root = tmp('cw-train-runs-');
  const data = tmp('cw-train-runs-store-');
  const first = await runReplay({ inputs: [pcap], site: loadSite(SITE), dataDir: data, clock: fakeClock('2026-01-01T00:00:00Z') });
  const second = await runReplay({ inputs: [pcap], site: loadSite(SITE), dataDir: data, clock: fakeClock('2026-01-02T00:00:00Z') });
  assert.notEqual(first.runId, second.runId);
  const newest = await runTrain({ inputs: [], data, sitePath: SITE, out: join(root, 'm'), settings, backend: 'cpu', clock });
  assert.equal(newest.card.baseline.source, `store ${data} run ${second.runId}`);
  const older = await runTrain({ inputs: [], data, runId: first.runId.slice(0, 28), sitePath: SITE, out: join(root, 'm'), settings, backend: 'cpu', clock });
  assert.equal(older.card.baseline.source, `store ${data} run ${first.runId}`);
  assert.equal(older.windows, newest.windows, 'the same capture gives the same windows in either run');
  await assert.rejects(runTrain({ inputs: [], data, runId: 'all', sitePath: SITE, out: join(root, 'm'), settings, backend: 'cpu', clock }), /name one run/);
});

test('replay runs a trained model by name: its scores and alerts carry the model detectors', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const root = tmp('cw-replay-models-');
  await runTrain({ inputs: [pcap], sitePath: SITE, out: join(root, 'lemay'), settings, backend: 'cpu', clock });
  const plain = await runReplay({ inputs: [pcap], site: loadSite(SITE), clock });
  const r = await runReplay({ inputs: [pcap], site: loadSite(SITE), clock, models: { refs: ['lemay'], dir: root, backend: 'cpu' } });
  assert.ok(r.rawAlerts >= plain.rawAlerts);
  const statistical = (xs: typeof r.alerts) => xs.filter((x) => x.detector !== 'autoencoder' && x.detector !== 'forecast').map((x) => x.id).sort();
  assert.deepEqual(statistical(r.alerts), statistical(plain.alerts), 'the statistical detectors are not changed by running the models beside them');
  await assert.rejects(runReplay({ inputs: [pcap], site: loadSite(SITE), clock, models: { refs: ['nope'], dir: root } }), /no model "nope".*models there: lemay/s);
});

test('the serve detector role runs the model and checkpoints the version on the state topic, not the weights', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const root = tmp('cw-serve-models-');
  await runTrain({ inputs: [pcap], sitePath: SITE, out: join(root, 'lemay'), settings, backend: 'cpu', clock });
  const site = loadSite(SITE);
  const siteMap = new SiteMap(site);
  const bus = new MemoryBus({ partitions: { [TOPICS.flows]: 1, [TOPICS.state]: 1, [TOPICS.scores]: 1, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 } });
  const role = new DetectorRole({ bus: bus as Bus, siteMap, runId: 'm', log: silentLogger(), metrics: new Metrics(), models: { refs: ['lemay@1'], dir: root, backend: 'cpu' } });
  await role.start();
  const pub = new FlowPublisher(bus, siteMap, clock);
  for await (const batch of openInput(pcap, { sliceMs: site.detection.window }).flows) await pub.publish(batch);
  await pub.end();
  await bus.idle();
  const state = (await bus.readLatest(TOPICS.state, [0])).get(stateKey(0));
  await role.stop();
  await bus.close();
  assert.ok(state, 'a checkpoint was written');
  const text = state.value.toString('utf8');
  const st = JSON.parse(text) as { engine: { detectors: string[]; config: Record<string, { model?: string }> } };
  assert.ok(st.engine.detectors.includes('forecast') && st.engine.detectors.includes('autoencoder'));
  assert.equal(st.engine.config.forecast?.model, 'lemay@1');
  assert.ok(!text.includes('weightSpecs'), 'no weights on the state topic');
});
