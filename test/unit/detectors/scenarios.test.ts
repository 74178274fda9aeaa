/**
 * Runs every test/scenarios/*.yaml through the real DetectionEngine and checks its findings
 * (format in test/scenarios/README.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseSite, SiteMap } from '../../../core/config.ts';
import type { Alert, WindowScore } from '../../../core/records.ts';
import { duration, formatDuration } from '../../../core/units.ts';
import { createEngine } from '../../../cli/registry.ts';
import { mergeFlows, polls } from '../../../detectors/testing.ts';
import { projectRoot } from '../../support/data.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const SCORE_FLOOR = 0.1;
const dir = join(projectRoot, 'test', 'scenarios');

const Match = {
  detector: z.string(),
  src: z.string().optional(),
  dst: z.string().optional(),
  explains: z.string().optional(),
};

const Scenario = z.object({
  name: z.string(),
  window: duration.default('60s'),
  lateness: duration.default('10s'),
  baseline: duration,
  cycle: z.string().default('8h'),
  maintenance: z.array(z.object({ name: z.string(), start: duration, duration: z.string() }).strict()).default([]),
  /** Off unless a scenario asks: ready when the baseline time is over. */
  readiness: z.object({ cycles: z.number(), phases: z.number() }).strict().default({ cycles: 0, phases: 0 }),
  traffic: z.array(z.object({
    src: z.string(), dst: z.string(), port: z.number().int().default(502), proto: z.number().int().default(6), l7: z.string().default('modbus'),
    every: duration, from: duration, to: duration, mode: z.enum(['session', 'per-poll']).default('session'),
    ops: z.record(z.number()).optional(), units: z.array(z.number()).optional(), jitter: duration.optional(), seed: z.number().int().optional(),
  }).strict()).min(1),
  expect: z.object({
    alerts: z.array(z.object({ ...Match, from: duration, to: duration }).strict()),
    scores: z.array(z.object({ ...Match, at: duration, min: z.number().default(0), max: z.number().default(1) }).strict()).default([]),
  }).strict(),
}).strict();
type Scenario = z.output<typeof Scenario>;

const siteYaml = (s: Scenario): string => `
site: scenarios
productionCycle: ${s.cycle}
zones:
  - { name: scada, sl: 2, cidrs: [10.0.1.0/24], assets: [192.168.1.100] }
  - { name: field, sl: 3, cidrs: [10.0.2.0/24, 192.168.1.0/24] }
  - { name: corp, sl: 1, cidrs: [10.0.9.0/24] }
conduits:
  - { from: scada, to: field }
maintenanceWindows:
${s.maintenance.map((m) => `  - { name: ${m.name}, start: "${new Date(T0 + m.start).toISOString()}", duration: ${m.duration} }`).join('\n') || '  []'}
detection:
  window: ${s.window}ms
  allowedLateness: ${s.lateness}ms
  baseline: ${s.baseline}ms
  readiness: { cycles: ${s.readiness.cycles}, phases: ${s.readiness.phases} }
`;

const run = async (s: Scenario): Promise<{ scores: WindowScore[]; alerts: Alert[] }> => {
  const engine = await createEngine(new SiteMap(parseSite(siteYaml(s))));
  const flows = mergeFlows(...s.traffic.map((t) => polls({
    src: t.src, dst: t.dst, dstPort: t.port, proto: t.proto, l7: t.l7, everyMs: t.every, fromMs: T0 + t.from, toMs: T0 + t.to,
    mode: t.mode, ...(t.ops ? { ops: t.ops } : {}), ...(t.units ? { units: t.units } : {}), ...(t.jitter ? { jitterMs: t.jitter } : {}),
    ...(t.seed !== undefined ? { seed: t.seed } : {}), sliceMs: s.window,
  })));
  const scores: WindowScore[] = [];
  const alerts: Alert[] = [];
  for (let i = 0; i < flows.length; i += 250) {
    const r = engine.ingest(flows.slice(i, i + 250));
    scores.push(...r.scores);
    alerts.push(...r.alerts);
  }
  const r = engine.flush();
  return { scores: [...scores, ...r.scores], alerts: [...alerts, ...r.alerts] };
};

const matches = (m: z.output<z.ZodObject<typeof Match>>, detector: string, src: string, dst: string, explanation: string): boolean =>
  m.detector === detector && (m.src === undefined || m.src === src) && (m.dst === undefined || m.dst === dst)
  && (m.explains === undefined || explanation.includes(m.explains));

const describeAlert = (a: Alert): string => `${a.detector} @${formatDuration(a.tsStart - T0) || '0s'} ${a.src}→${a.dst} ${a.score}: ${a.explanation}`;

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  const s = Scenario.parse(parse(readFileSync(join(dir, file), 'utf8')));
  test(`scenario ${file}: ${s.name}`, async () => {
    const { scores, alerts } = await run(s);
    const inRange = (ts: number, from: number, to: number) => ts >= T0 + from && ts < T0 + to;
    const unexpected = alerts.filter((a) => !s.expect.alerts.some((e) => matches(e, a.detector, a.src, a.dst, a.explanation) && inRange(a.tsStart, e.from, e.to)));
    assert.deepEqual(unexpected.map(describeAlert), [], 'alerts no expectation allows');
    for (const e of s.expect.alerts) {
      assert.ok(alerts.some((a) => matches(e, a.detector, a.src, a.dst, a.explanation) && inRange(a.tsStart, e.from, e.to)),
        `no ${e.detector} alert in [${formatDuration(e.from)}, ${formatDuration(e.to)}) explaining "${e.explains ?? ''}"; alerts: ${alerts.map(describeAlert).join(' | ') || 'none'}`);
    }
    for (const e of s.expect.scores) {
      const w = Math.floor((T0 + e.at) / s.window) * s.window;
      const here = scores.filter((x) => x.windowStart === w && x.detector === e.detector);
      const mine = here.filter((x) => {
        const [src = '', dst = ''] = x.edge.split(/[>/]/);
        return matches(e, x.detector, src, dst, x.explanation);
      });
      // Scores below the floor (0.1) are not emitted: an expectation under it is met by no row at all.
      const ok = mine.some((x) => x.score >= e.min && x.score <= e.max) || (e.max < SCORE_FLOOR && mine.every((x) => x.score <= e.max));
      assert.ok(ok, `no ${e.detector} score in [${e.min}, ${e.max}] at ${formatDuration(e.at)}; scores there: ${here.map((x) => `${x.edge} ${x.score} ${x.explanation}`).join(' | ')}`);
    }
  });
}
