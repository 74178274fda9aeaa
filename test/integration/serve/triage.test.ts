/**
 * Severity and incidents on the distributed path: a capture published to a real Kafka broker, triaged
 * by the detector role, stored by the sink (chDB) and forwarded to a real rsyslogd by the SIEM role.
 * Every alert on the alerts topic, in the store and at the SIEM carries the severity, risk, reason
 * and incident `replay` gives it, and the sink's incidents equal replay's. One flows partition (one
 * engine), so grouping across conduits is the same as in one process (cli/serve/detector.ts says
 * what differs with several).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { HEADERS, TOPICS } from '../../../bus/bus.ts';
import { decodeAlert, decodeIncident, SCHEMAS } from '../../../bus/codec.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import { fakeClock } from '../../../core/clock.ts';
import type { Alert, Incident } from '../../../core/records.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { createEngine } from '../../../cli/registry.ts';
import { openInput } from '../../../cli/inputs.ts';
import { runReplay } from '../../../cli/replay.ts';
import { startRoles } from '../../../cli/serve/index.ts';
import { DETECTOR_GROUP } from '../../../cli/serve/detector.ts';
import { SIEM_GROUP } from '../../../cli/serve/siem.ts';
import { SINK_GROUP } from '../../../cli/serve/sink.ts';
import { Triage } from '../../../incidents/triage.ts';
import { SiemConfig } from '../../../bus/siem/sender.ts';
import { startRsyslog, type RsyslogService } from '../../../infra/services/rsyslog.ts';
import type { KafkaService } from '../../../infra/services/index.ts';
import type { Store } from '../../../store/store.ts';
import { sharedData } from '../../support/data.ts';
import { LEMAY_FAKE_COMMAND } from '../../support/replayed.ts';
import { drained, lemaySite, startKafkaAndStore, stopKafkaAndStore, waitFor } from './helpers.ts';

let kafka: KafkaService;
let dir: string;
let store: Store;
let rsyslog: RsyslogService;
before(async () => {
  ({ kafka, store, dir } = await startKafkaAndStore('cw-triage-'));
  rsyslog = await startRsyslog();
});
after(async () => {
  await rsyslog?.stop();
  await stopKafkaAndStore({ kafka, store, dir });
});

const ONE = { [TOPICS.flows]: 1, [TOPICS.state]: 1, [TOPICS.scores]: 1, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 };

/** What an alert's triage says, comparable across the topic, the store and the SIEM. */
const triageKey = (a: { id: string; severity?: string; risk?: number; severityReason?: string; incident?: string }): string =>
  `${a.id}|${a.severity}|${a.risk}|${a.severityReason}|${a.incident}`;

const incidentKey = (i: Pick<Incident, 'id' | 'severity' | 'risk' | 'firstSeen' | 'lastSeen' | 'alerts' | 'alertIds' | 'topAlert' | 'summary'>): string =>
  JSON.stringify([i.id, i.severity, i.risk, i.firstSeen, i.lastSeen, i.alerts, i.alertIds, i.topAlert, i.summary]);

test("through Kafka every alert carries replay's severity, risk, reason and incident, on the topic, in the store and at the SIEM, and the sink stores replay's incidents", async (t) => {
  const pcap = sharedData(t, LEMAY_FAKE_COMMAND);
  if (!pcap) return;
  const { site, siteMap } = lemaySite();

  // One process: replay's report, and its engine loop with triage for every raw alert.
  const replay = await runReplay({ inputs: [pcap], site, clock: fakeClock('2025-01-01T00:00:00Z') });
  const engine = await createEngine(siteMap);
  const triage = Triage.create(siteMap);
  const want: Alert[] = [];
  for await (const b of openInput(pcap, { sliceMs: site.detection.window }).flows) want.push(...triage.apply(engine.ingest(b)).alerts);
  want.push(...triage.apply(engine.flush()).alerts);
  assert.equal(want.length, replay.rawAlerts, 'the reference loop is replay\'s');
  assert.ok(want.some((a) => a.severity === 'critical') && want.some((a) => a.severity !== 'critical'), 'the capture has alerts of several severities');
  assert.ok(replay.incidents.length >= 2);
  const wantAlerts = want.map(triageKey).sort();

  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const bus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, partitions: ONE, clientId: prefix });
  const runId = `serve-${prefix}`;
  const serving = await startRoles({
    roles: ['collector', 'detector', 'sink'], siteMap, bus, runId, clock: fakeClock('2025-01-01T00:00:00Z'), log: silentLogger(), metrics: new Metrics(),
    store, inputs: [pcap], siem: SiemConfig.parse({ url: `udp://127.0.0.1:${rsyslog.udpPort}` }),
  });
  try {
    assert.equal(await serving.published!, replay.flows);
    await drained(bus, DETECTOR_GROUP, TOPICS.flows);
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, SINK_GROUP, topic);
    await drained(bus, SIEM_GROUP, TOPICS.alerts);

    // The alerts topic: alerts with their triage, and the incident versions beside them.
    const onTopic: Alert[] = [];
    const versions: Incident[] = [];
    const reader = await bus.subscribe({ groupId: `${prefix}reader`, topics: [TOPICS.alerts] }, async (b) => {
      for (const m of b.messages) {
        if (m.headers[HEADERS.schema] === SCHEMAS.incident) {
          const d = decodeIncident(m.value);
          assert.ok(d.ok, d.ok ? '' : d.reason);
          versions.push(d.value);
        } else {
          const d = decodeAlert(m.value);
          assert.ok(d.ok, d.ok ? '' : d.reason);
          onTopic.push(d.value);
        }
      }
    });
    await waitFor(() => `${onTopic.length} of ${want.length} alerts read from the topic`, () => onTopic.length >= want.length);
    await reader.stop();
    assert.deepEqual(onTopic.map(triageKey).sort(), wantAlerts);
    // The newest version of each incident on the topic is replay's incident.
    const newest = new Map<string, Incident>();
    for (const v of versions) if ((newest.get(v.id)?.alerts ?? 0) < v.alerts) newest.set(v.id, v);
    assert.deepEqual([...newest.values()].map(incidentKey).sort(), replay.incidents.map(incidentKey).sort());

    // The store: alerts with their triage, incidents FINAL equal replay's.
    const rows = await store.query<{ id: string; severity: string; risk: number; severity_reason: string; incident: string }>(
      `SELECT id, severity, risk, severity_reason, incident FROM alerts FINAL WHERE run_id = '${runId}'`);
    assert.deepEqual(rows.map((r) => triageKey({ id: r.id, severity: r.severity, risk: Number(r.risk), severityReason: r.severity_reason, incident: r.incident })).sort(), wantAlerts);
    const inc = await store.query<{ id: string; severity: string; risk: number; fs: number; ls: number; alerts: number; alert_ids: string[]; top_alert: string; summary: string }>(
      `SELECT id, severity, risk, toUnixTimestamp64Milli(first_seen) AS fs, toUnixTimestamp64Milli(last_seen) AS ls, alerts, alert_ids, top_alert, summary FROM incidents FINAL WHERE run_id = '${runId}'`);
    assert.deepEqual(inc.map((r) => incidentKey({
      id: r.id, severity: r.severity as Incident['severity'], risk: Number(r.risk), firstSeen: Number(r.fs), lastSeen: Number(r.ls), alerts: Number(r.alerts),
      alertIds: r.alert_ids, topAlert: r.top_alert, summary: r.summary,
    })).sort(), replay.incidents.map(incidentKey).sort());

    // The SIEM (rsyslogd over UDP): each alert with its own severity, risk and incident.
    await waitFor(() => `${rsyslog.messages().length} of ${want.length} syslog messages`, () => rsyslog.messages().length >= want.length, 30_000);
    const params = (sd: string) => Object.fromEntries([...sd.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!.replace(/\\(.)/g, '$1')]));
    const received = rsyslog.messages().map((m) => params(m.sd)).filter((p) => want.some((a) => a.id === p.id));
    assert.deepEqual(received.map((p) => triageKey({ id: p.id!, severity: p.severity, risk: Number(p.risk), severityReason: p.severityReason, incident: p.incident })).sort(), wantAlerts);
    const crit = rsyslog.messages().find((m) => params(m.sd).severity === 'critical');
    assert.equal(crit?.severity, 'crit', 'syslog PRI follows the alert\'s severity');
  } finally {
    await serving.stop();
    await bus.close();
  }
});
