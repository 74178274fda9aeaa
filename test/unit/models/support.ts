/**
 * A tiny plant for the models' tests: three pollers on the test site (60 s windows), a baseline
 * of two hours, and a model trained on it in about a second (few epochs; seeded, cpu).
 */
import type { FlowRecord } from '../../../core/records.ts';
import { mergeFlows, polls, testSite } from '../../../detectors/testing.ts';
import { saveModel, type ModelCard } from '../../../models/artifact.ts';
import { featureSpec, type WindowView } from '../../../models/features.ts';
import { WindowRecorder } from '../../../models/record.ts';
import { DEFAULT_TRAIN, trainModels, type TrainSettings } from '../../../models/train.ts';

export const site = testSite({ baseline: '30m' });
export const T0 = Date.UTC(2025, 0, 1);
export const MIN = 60_000;
export const H = 3_600_000;

/** The plant's flows in [from, to); `fastTo2` polls 10.0.2.2 four times as often. */
export const plant = (from: number, to: number, fastTo2 = false): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.1', dst: '10.0.2.1', everyMs: 1_000, fromMs: from, toMs: to, jitterMs: 50, seed: 1 }),
  polls({ src: '10.0.1.1', dst: '10.0.2.2', everyMs: fastTo2 ? 500 : 2_000, fromMs: from, toMs: to, jitterMs: 50, seed: 2 }),
  polls({ src: '10.0.1.2', dst: '10.0.2.3', everyMs: 10_000, fromMs: from, toMs: to, mode: 'per-poll', jitterMs: 100, seed: 3 }),
);

/** The baseline: two hours of the plant. */
export const baseline = (): FlowRecord[] => plant(T0, T0 + 2 * H);

/** Two hours of normal traffic then one with 10.0.2.2 polled 4x as often, as one stream (one session per poller). */
export const withAnomaly = (): FlowRecord[] => {
  const normal = plant(T0, T0 + 3 * H).filter((f) => f.dstIp !== '10.0.2.2' || f.tsStart < T0 + 2 * H + 30 * MIN);
  const fast = plant(T0 + 2 * H + 30 * MIN, T0 + 3 * H, true).filter((f) => f.dstIp === '10.0.2.2');
  return mergeFlows(normal, fast);
};

export const TINY: TrainSettings = { ...DEFAULT_TRAIN, epochs: 10 };

export const windowsOf = (flows: readonly FlowRecord[]): WindowView[] => {
  const rec = new WindowRecorder(site);
  rec.add(flows);
  rec.flush();
  return rec.windows();
};

/** Trains on the baseline and writes the next version of `name` under `root`. */
export const trainTiny = async (root: string, name = 'plant', s: Partial<TrainSettings> = {}): Promise<ModelCard> => {
  const settings = { ...TINY, ...s };
  const views = windowsOf(baseline());
  const nets = await trainModels(views, MIN, settings);
  return saveModel(root, name, nets, {
    featureSpec: featureSpec(MIN, settings.history),
    site: { file: 'test', windowMs: MIN, productionCycleMs: site.site.productionCycle },
    baseline: { from: new Date(T0).toISOString(), to: new Date(T0 + 2 * H).toISOString(), windows: views.length, conduits: ['scada->field'], edges: 3, source: 'test', inputs: [] },
    seed: settings.seed, settings, backend: 'cpu', code: { package: 'conduitwatch', version: 'test', commit: null },
    trainedAt: new Date(0).toISOString(), trainSeconds: 0,
  });
};
