/**
 * The detector registry: every detector conduitwatch can run, as `{ name, config schema, create }`
 * (detectors/detector.ts `DetectorDef`), handed to the engine by the commands that build one
 * (replay, serve, eval). It lives in the wiring so that detectors from a higher floor (models/)
 * can join the list without detectors/ importing them. Creation is asynchronous: an entry may wait
 * for a backend before it returns its detector.
 */
import { loadSite, type DetectorSchemas, type Site, type SiteMap } from '../core/config.ts';
import { cadenceDetector } from '../detectors/cadence/detector.ts';
import type { DetectorDef } from '../detectors/detector.ts';
import { DetectionEngine, type EngineState } from '../detectors/engine.ts';
import { noveltyDetector } from '../detectors/novelty/detector.ts';
import { rateDetector } from '../detectors/rate/detector.ts';
import { createDetectors, type DetectorSelection } from '../detectors/registry.ts';
import { scanDetector } from '../detectors/scan/detector.ts';
import { silenceDetector } from '../detectors/silence/detector.ts';
import { sizeDetector } from '../detectors/size/detector.ts';
import { modelDetectorSetup, type ModelUse } from '../models/use.ts';
import { MODEL_DETECTORS } from '../models/detector.ts';
import { protocolSecurityOp } from './security-ops.ts';

/** Every detector, in name order. */
export const DETECTORS: readonly DetectorDef[] = [cadenceDetector, noveltyDetector, rateDetector, scanDetector, silenceDetector, sizeDetector];

/** Detector names of the registry, sorted. */
export const DETECTOR_NAMES: readonly string[] = DETECTORS.map((d) => d.name);

/**
 * Every detector an engine can run: the statistical ones (the default selection) and the learned
 * models (models/detector.ts), which run only when a trained model is named (`EngineSetup.models`)
 * or a selection names them with their settings.
 */
export const REGISTRY: readonly DetectorDef[] = [...DETECTORS, ...MODEL_DETECTORS];

/** Each registered detector's config schema, by name: what site.yaml's `detection.detectorConfig` is checked against. */
export const detectorSchemas = (defs: readonly DetectorDef[] = REGISTRY): DetectorSchemas => Object.fromEntries(defs.map((d) => [d.name, d.config]));

/** `loadSite` with the detector settings checked too (unknown detectors, bad settings: file, line, field, valid keys). */
export const loadSiteChecked = (file: string): Site => loadSite(file, { detectors: detectorSchemas() });

export interface EngineSetup extends DetectorSelection {
  runId?: string;
  /** Trained models to run beside the selected detectors (`--model NAME[@VERSION]`). */
  models?: ModelUse;
}

/** The detectors and settings site.yaml selects (`detection.detectors`, `detection.detectorConfig`). */
export const siteSelection = (site: Site): DetectorSelection => ({
  ...(site.detection.detectors ? { detectors: site.detection.detectors } : {}),
  config: site.detection.detectorConfig,
});

/** Detector settings `over` applied on `base`, per detector and key by key (an eval spec over site.yaml, a wiring's additions). */
export const mergeDetectorConfig = (base: Readonly<Record<string, unknown>> | undefined, over: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base };
  for (const [name, o] of Object.entries(over ?? {})) {
    const b = out[name];
    out[name] = typeof o === 'object' && o !== null && !Array.isArray(o) && typeof b === 'object' && b !== null && !Array.isArray(b)
      ? { ...(b as Record<string, unknown>), ...(o as Record<string, unknown>) } : o;
  }
  return out;
};

/**
 * An engine running the selected detectors: by default those site.yaml selects (the statistical
 * ones, with their default settings, when it selects none); `setup.detectors` replaces the list,
 * `setup.config` applies over site.yaml's settings key by key. Plus the detectors of the models
 * `setup.models` names, pinned to their versions.
 */
export const createEngine = async (siteMap: SiteMap, setup: EngineSetup = {}, defs: readonly DetectorDef[] = REGISTRY): Promise<DetectionEngine> => {
  const fromSite = siteSelection(siteMap.site);
  const base: DetectorSelection = {
    detectors: setup.detectors ?? fromSite.detectors ?? (defs === REGISTRY ? DETECTOR_NAMES : defs.map((d) => d.name)),
    config: mergeDetectorConfig(fromSite.config, setup.config),
  };
  const sel = setup.models ? modelDetectorSetup(setup.models, base, siteMap.site.detection.window) : base;
  const detectors = await createDetectors(defs, sel, { site: siteMap.site, securityOp: protocolSecurityOp });
  return new DetectionEngine(siteMap, { detectors, ...(setup.runId !== undefined ? { runId: setup.runId } : {}), config: sel.config ?? {} });
};

/** The engine a snapshot describes, with the detectors and settings it was written by. */
export const restoreEngine = async (siteMap: SiteMap, state: EngineState, defs: readonly DetectorDef[] = REGISTRY): Promise<DetectionEngine> => {
  const detectors = await createDetectors(defs, { detectors: state?.detectors ?? [], config: state?.config ?? {} }, { site: siteMap.site, securityOp: protocolSecurityOp });
  return DetectionEngine.restore(siteMap, state, detectors);
};
