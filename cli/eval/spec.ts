/**
 * The evaluation spec (`evals/*.yaml`): which site, which inputs are learned (baseline) and which
 * are scored (test), where the labels come from, and what to override. Parsed once here; the
 * rest of `cli/eval/` sees only the parsed type. The docs table in evals/README.md is generated
 * from these descriptions (`evalSpecDoc`).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import { duration } from '../../core/units.ts';
import { checkSelection } from '../../detectors/registry.ts';
import { DETECTORS } from '../registry.ts';

/** One input file, or the part of it between two offsets from its first record. */
export const EvalInput = z.object({
  file: z.string().min(1)
    .describe('Capture or flow file (pcap, pcapng, BUT IEC 104 / MMS CSV), relative to the data root.'),
  from: duration.optional()
    .describe('Use only records from this offset after the file\'s first record, e.g. "4h"; rounded up to a window boundary.'),
  until: duration.optional()
    .describe('Use only records before this offset after the file\'s first record, e.g. "200s"; rounded up to a window boundary.'),
}).strict();
export type EvalInput = z.output<typeof EvalInput>;

const instant = z.union([
  z.number().finite(),
  z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'write an ISO 8601 time with a zone, e.g. "2015-02-24T17:40:10.066Z", or epoch ms'),
]);

export const InlineInterval = z.object({
  id: z.string().min(1).describe('Attack id, unique within the spec; names the attack in results and diffs.'),
  start: instant.describe('Attack start: epoch ms or ISO 8601, in the input file\'s own time (before any shift).'),
  end: instant.describe('Attack end (inclusive), same form as start.'),
  kind: z.string().default('attack').describe('What the attack is, e.g. "scan".'),
  src: z.string().optional().describe('Attacker address (or CIDR); with dst, only alerts between these hosts count as its detection.'),
  dst: z.string().optional().describe('Target address (or CIDR).'),
  input: z.string().optional().describe('Base name of the test input the attack is in; omitted = every test input.'),
}).strict();
export type InlineInterval = z.output<typeof InlineInterval>;

export const IntervalLabels = z.object({
  type: z.literal('intervals').describe('Time intervals written in the spec.'),
  intervals: z.array(InlineInterval).min(1).describe('The labelled attacks.'),
}).strict();

export const SimulatorLabels = z.object({
  type: z.literal('simulator').describe('The plant simulator\'s labels file: { anomalies: [{ id, kind, start, end, src, dst }] }, times in epoch ms.'),
  file: z.string().optional().describe('Labels file relative to the data root; default "<input>.labels.json" beside each test input.'),
}).strict();

export const FrameLabels = z.object({
  type: z.literal('frames').describe('Per-packet labels (Lemay "frame_no;label", 1 = malicious) beside each test pcap.'),
  suffix: z.string().default('_labeled.csv').describe('Labels file = the pcap\'s path without ".pcap" plus this suffix.'),
  mergeGap: duration.optional().describe('Malicious packets closer than this form one attack; default one window.'),
}).strict();

export const ConversationLabels = z.object({
  type: z.literal('conversations').describe('Labelled conversations (Lemay malicious_conversations.csv): one attack per row, matched to a test input by its "pcap" column.'),
  file: z.string().min(1).describe('The CSV, relative to the data root.'),
}).strict();

export const AttackIntervalLabels = z.object({
  type: z.literal('attack-intervals').describe('BUT MMS attack_intervals.csv: one attack per row, matched to a test input by its "file" column.'),
  file: z.string().min(1).describe('The CSV, relative to the data root.'),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().describe('Capture date YYYY-MM-DD for its times of day; default the MMS reader\'s date (1970-01-01).'),
}).strict();

export const LabelSource = z.discriminatedUnion('type', [IntervalLabels, SimulatorLabels, FrameLabels, ConversationLabels, AttackIntervalLabels]);
export type LabelSource = z.output<typeof LabelSource>;

export const Matching = z.object({
  slack: duration.optional().describe('An alert whose window starts up to this long after an attack ends still detects it; default one window.'),
  endpoints: z.boolean().default(true).describe('For labels that name src and dst, only alerts between those two hosts (either direction) detect the attack.'),
}).strict();
export type Matching = z.output<typeof Matching>;

export const EvalSpec = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "-" or "."').describe('Evaluation name; the result file is usually evals/results/<name>.json.'),
  description: z.string().default('').describe('What the evaluation shows and how its baseline was chosen.'),
  site: z.string().min(1).describe('The site.yaml, relative to this spec file.'),
  dataRoot: z.string().optional().describe('Directory the input and label paths are relative to, itself relative to this spec file; --data-root overrides. Default: the spec\'s directory.'),
  baseline: z.array(EvalInput).default([]).describe('Inputs replayed first, in order: learned, never scored. Replayed again before each test input.'),
  test: z.array(EvalInput).min(1).describe('Inputs scored, each in its own run right after the baseline (shifted in time when it would go back).'),
  labels: z.array(LabelSource).default([]).describe('Where the attacks come from; several sources add up. None = every alert is a false alert.'),
  settle: duration.optional().describe('Replay but do not score this much of the start of each test input (rounded up to whole windows): features that span the join of baseline and test input (e.g. an inter-arrival from the last baseline connection to the first test one) are artifacts of the join. Default 0; its alerts are reported per run as settleAlerts.'),
  window: duration.optional().describe('Overrides the site\'s detection.window, e.g. "30s".'),
  detectors: z.array(z.string()).optional().describe('Detectors to run, by name; replaces the site\'s `detection.detectors` (default: the site\'s, else the statistical ones).'),
  detectorConfig: z.record(z.unknown()).optional().describe('Detector settings by detector name, e.g. { rate: { minWindows: 8 } }, applied over the site\'s `detection.detectorConfig` key by key: copy them into site.yaml to deploy a tuning.'),
  match: Matching.default({}).describe('How alerts are matched to attacks.'),
}).strict();
export type EvalSpec = z.output<typeof EvalSpec>;

/** A spec with its paths resolved. */
export interface LoadedSpec {
  spec: EvalSpec;
  /** The spec file as given. */
  file: string;
  sitePath: string;
  dataRoot: string;
}

/** Parses spec text; `file` sharpens the messages. */
export const parseEvalSpec = (text: string, file = 'eval.yaml'): EvalSpec => {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PipelineError('config_invalid', `${file}: YAML syntax error: ${doc.errors[0]!.message.split('\n')[0]}. Check indentation and quoting.`, { file });
  }
  const res = EvalSpec.safeParse(doc.toJS());
  if (res.success) return res.data;
  const lines = res.error.issues.map((iss) => {
    const field = iss.path.length ? iss.path.join('.') : '(top level)';
    let msg = iss.message;
    if (iss.code === 'unrecognized_keys') msg = `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')}: a typo? Allowed keys are listed in evals/README.md`;
    if (iss.code === 'invalid_type' && iss.received === 'undefined') msg = `required field is missing (expected ${iss.expected})`;
    return `${file}: ${field}: ${msg}`;
  });
  throw new PipelineError('config_invalid', `Invalid eval spec:\n  ${lines.join('\n  ')}`, { file, issues: res.error.issues });
};

/** Reads and parses a spec file; `dataRoot` (the --data-root flag) overrides the spec's. */
export const loadEvalSpec = (file: string, dataRoot?: string): LoadedSpec => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PipelineError('config_invalid', `Cannot read eval spec ${file}: ${(e as NodeJS.ErrnoException).code ?? e}. Pass the path of a spec, e.g. evals/lemay.yaml.`, { file }, { cause: e });
  }
  const spec = parseEvalSpec(text, file);
  if (spec.detectors || spec.detectorConfig) {
    try {
      checkSelection(DETECTORS, { ...(spec.detectors ? { detectors: spec.detectors } : {}), ...(spec.detectorConfig ? { config: spec.detectorConfig } : {}) });
    } catch (e) {
      throw new PipelineError('config_invalid', `${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
  }
  const dir = dirname(resolve(file));
  return {
    spec, file,
    sitePath: resolve(dir, spec.site),
    dataRoot: dataRoot !== undefined ? resolve(dataRoot) : resolve(dir, spec.dataRoot ?? '.'),
  };
};
