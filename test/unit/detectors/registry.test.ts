/**
 * The registry handed to the engine (cli/registry.ts, detectors/registry.ts): asynchronous
 * creation, plain errors for bad settings, and the flags that replaced by-name special cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { z } from 'zod';
import { createEngine, DETECTORS } from '../../../cli/registry.ts';
import { hasCode } from '../../../core/errors.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { defineDetector, type WindowDetector } from '../../../detectors/detector.ts';
import { createDetectors } from '../../../detectors/registry.ts';
import { SiteMap } from '../../../core/config.ts';
import { scanDetector } from '../../../detectors/scan/detector.ts';
import { noveltyDetector } from '../../../detectors/novelty/detector.ts';
import { flow, mergeFlows, polls, testSite } from '../../../detectors/testing.ts';
import { projectRoot } from '../../support/data.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const site = testSite({ cycle: '1h' });
/** The same plant with learning-window scores kept, so a test double's scores show while it learns. */
const learnAll = new SiteMap({ ...site.site, detection: { ...site.site.detection, learningScores: true } });

/** A detector that scores every edge with traffic `level`, created only once its "backend" has started. */
const slowDetector = (started: string[]) => defineDetector({
  name: 'slow_backend',
  summary: 'test double: waits for a backend, then scores every edge with traffic',
  config: z.object({ level: z.number().min(0).max(1).default(0.5).describe('score of every edge') }).strict(),
  create: async (cfg): Promise<WindowDetector> => {
    await new Promise((r) => setTimeout(r, 20));
    started.push('backend ready');
    return {
      name: 'slow_backend',
      scoreWindow: (cw, _ctx, out) => {
        for (let k = cw.from; k < cw.to; k += 1) {
          if (out.wants(cfg.level)) out.push({ edge: cw.edges.idOf(cw.acc!.edge[cw.acc!.order[k]!]!), score: cfg.level, explanation: 'slow', features: {} });
        }
      },
      save: () => null,
      load: () => undefined,
    };
  },
});

const poll = (): FlowRecord[] => polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 5 * M });

test('an asynchronously created detector is ready before the engine scores anything, with its parsed settings', async () => {
  const started: string[] = [];
  const e = await createEngine(learnAll, { detectors: ['slow_backend'], config: { slow_backend: { level: 0.3 } } }, [slowDetector(started)]);
  assert.deepEqual(started, ['backend ready']);
  const out = e.ingest(poll()).scores.filter((s) => s.detector !== 'activity');
  assert.ok(out.length > 0);
  assert.ok(out.every((s) => s.detector === 'slow_backend' && s.score === 0.3));
});

test('bad detector settings are one plain sentence per problem, with the valid settings, never zod JSON', async () => {
  await assert.rejects(createEngine(site, { config: { rate: { minWindow: 5, relativeFloor: 'x' } } }), (e: Error) => {
    assert.ok(hasCode(e, 'config_invalid'));
    assert.doesNotMatch(e.message, /[[{]\s*"/, 'no JSON in the message');
    assert.match(e.message, /detector "rate" settings are invalid:/);
    assert.match(e.message, /relativeFloor: expected number, got string/);
    assert.match(e.message, /unknown setting "minWindow" \(a typo\?\); valid settings: absoluteFloor, learnBelow, minBucketWindows, minPolledWindows, minWindows,/);
    return true;
  });
  await assert.rejects(createEngine(site, { config: { novelty: { newUnitScore: 2 } } }), /newUnitScore: must be at most 1/);
  await assert.rejects(createEngine(site, { config: { rat: {} } }), /settings for unknown detector\(s\) "rat"; known detectors: autoencoder, cadence, forecast, novelty, rate, scan, silence, size/);
  await assert.rejects(createEngine(site, { detectors: ['rate', 'magic'] }), /unknown detector\(s\) "magic"; known detectors: autoencoder, cadence, forecast, novelty, rate, scan, silence, size/);
});

test('the registry lists every detector once, each with a described schema and a summary', async () => {
  assert.ok(DETECTORS.length >= 6);
  assert.equal(new Set(DETECTORS.map((d) => d.name)).size, DETECTORS.length);
  const made = await createDetectors(DETECTORS, {}, { site: site.site });
  assert.deepEqual(made.map((d) => d.name), DETECTORS.map((d) => d.name).sort());
  for (const d of DETECTORS) assert.ok(d.summary.length > 10 && d.config.safeParse({}).success, d.name);
});

/** A source probing 12 new edges in one window, after a baseline of one poller. */
const scanTraffic = (): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.101', everyMs: 1_000, fromMs: T0, toMs: T0 + 20 * M }),
  Array.from({ length: 12 }, (_, i) => flow({ srcIp: '10.0.1.66', dstIp: `10.0.2.${110 + i}`, dstPort: 502, tsStart: T0 + 15 * M + i * 300, tcpFlags: 0x02 })),
);

test('a detector flagged reportsScans makes novelty group a scan\'s new edges, whatever its name; without one, each edge alerts', async () => {
  const renamed = defineDetector({ ...scanDetector, name: 'fanout', create: async (cfg, ctx) => ({ ...(await scanDetector.create(cfg, ctx)), name: 'fanout' }) });
  const grouped = await createEngine(site, { detectors: ['fanout', 'novelty'] }, [renamed, noveltyDetector]);
  const a = [...grouped.ingest(scanTraffic()).alerts, ...grouped.flush().alerts];
  assert.deepEqual(a.map((x) => `${x.detector} ${x.src}>${x.dst}`), ['fanout 10.0.1.66>*']);
  const alone = await createEngine(site, { detectors: ['novelty'] });
  const b = [...alone.ingest(scanTraffic()).alerts, ...alone.flush().alerts];
  assert.equal(b.filter((x) => x.detector === 'novelty').length, 12);
});

test('findings flagged novel are what readiness counts per cycle, from any detector', async () => {
  const noveltyOnly = await createEngine(site, { detectors: ['novelty'] });
  noveltyOnly.ingest(poll());
  noveltyOnly.flush();
  assert.equal(noveltyOnly.status()[0]!.novelFirstCycle, 1, 'one new edge');
  const started: string[] = [];
  const notNovel = await createEngine(site, { detectors: ['slow_backend'] }, [slowDetector(started)]);
  notNovel.ingest(poll());
  notNovel.flush();
  assert.equal(notNovel.status()[0]!.novelFirstCycle, 0, 'scores > 0 without the flag are not novel items');
});

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
const tsFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? tsFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));

test('detectors/ imports only core/ and itself (models/ and cli/ build on it, never the other way)', () => {
  const root = join(projectRoot, 'detectors');
  const files = tsFiles(root);
  assert.ok(files.length > 10);
  const bad: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const to = relative(projectRoot, resolve(dirname(f), spec));
      const ok = to.startsWith('detectors/') || to.startsWith('core/') || (f.endsWith('testing.ts') && to === 'ingest/simulate/prng.ts');
      if (!ok) bad.push(`${relative(projectRoot, f)} imports ${to}`);
    }
  }
  assert.deepEqual(bad, []);
});
