/**
 * The detector role on the in-process bus, no broker: with the flows spread over 1, 3 and 12
 * partitions (one engine each), the scores and alerts published equal one engine's for the whole
 * capture, because the collector's watermark markers give every partition the global event time.
 * Without the markers (flows published with `flowMessages` alone) a quiet partition scores fewer
 * trailing windows: the check can fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADERS, TOPICS, type Bus } from '../../../bus/bus.ts';
import { decodeAlert, decodeScore, decodeSeries, SCHEMAS } from '../../../bus/codec.ts';
import { MemoryBus } from '../../../bus/memory.ts';
import { fakeClock } from '../../../core/clock.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { FlowPublisher, flowMessages } from '../../../cli/serve/collector.ts';
import { DetectorRole } from '../../../cli/serve/detector.ts';
import { sharedData } from '../../support/data.ts';
import { batchesOf, lemaySite, reference, scoreKey } from './helpers.ts';

const PCAP = 'lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap';

/** Every score, series and alert on the bus, as the reference's keys. */
const published = async (bus: MemoryBus): Promise<{ scores: string[]; alerts: string[]; series: string[] }> => {
  const scores: string[] = [];
  const alerts: string[] = [];
  const series: string[] = [];
  const sub = await bus.subscribe({ groupId: 'reader', topics: [TOPICS.scores, TOPICS.alerts] }, async (b) => {
    for (const m of b.messages) {
      if (b.topic === TOPICS.scores) {
        if (m.headers[HEADERS.schema] === SCHEMAS.conduit) continue; // conduit readiness, not a score
        if (m.headers[HEADERS.schema] === SCHEMAS.series) { const d = decodeSeries(m.value); assert.ok(d.ok); series.push(JSON.stringify(d.value)); continue; }
        const d = decodeScore(m.value); assert.ok(d.ok); scores.push(scoreKey(d.value));
      }
      else if (m.headers[HEADERS.schema] === SCHEMAS.incident) continue; // an incident version beside the alerts
      else { const d = decodeAlert(m.value); assert.ok(d.ok); alerts.push(`${d.value.id}|${d.value.score}`); }
    }
  });
  await bus.idle();
  await sub.stop();
  return { scores: scores.sort(), alerts: alerts.sort(), series: series.sort() };
};

const run = async (partitions: number, withMarkers: boolean, pcap: string) => {
  const { site, siteMap } = lemaySite();
  const batches = await batchesOf(pcap, site);
  const counts = { [TOPICS.flows]: partitions, [TOPICS.state]: partitions, [TOPICS.scores]: 3, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 };
  const bus = new MemoryBus({ partitions: counts });
  const role = new DetectorRole({ bus: bus as Bus, siteMap, runId: 'mem', log: silentLogger(), metrics: new Metrics() });
  await role.start();
  const clock = fakeClock('2025-01-01T00:00:00Z');
  if (withMarkers) {
    const pub = new FlowPublisher(bus, siteMap, clock);
    for (const b of batches) await pub.publish(b);
    await pub.end();
  } else {
    for (const b of batches) await bus.publish(TOPICS.flows, flowMessages(siteMap, b, clock.now(), partitions));
    await bus.idle();
    await role.flushAll();
  }
  await bus.idle();
  const got = await published(bus);
  await role.stop();
  await bus.close();
  return { got, want: await reference(batches, siteMap) };
};

for (const partitions of [1, 3, 12]) {
  test(`${partitions} flows partition(s) with watermark markers score exactly as one engine`, async (t) => {
    const pcap = sharedData(t, PCAP);
    if (!pcap) return;
    const { got, want } = await run(partitions, true, pcap);
    // Scores below the floor are not emitted (detectors): every window still has its activity rows.
    assert.ok(want.scores.length > 20, `only ${want.scores.length} scores`);
    assert.deepEqual(got.scores, want.scores);
    assert.deepEqual(got.alerts, want.alerts);
    assert.ok(want.series.length > 20, `only ${want.series.length} series`);
    assert.deepEqual(got.series, want.series);
  });
}

test('without the markers, three partitions score fewer trailing windows than one engine', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const { got, want } = await run(3, false, pcap);
  assert.ok(got.scores.length < want.scores.length, `${got.scores.length} scores vs ${want.scores.length}`);
  const wanted = new Set(want.scores);
  assert.ok(got.scores.every((k) => wanted.has(k)), 'what is scored is scored the same; only windows are missing');
});
