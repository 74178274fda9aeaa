/**
 * The Kafka bus against a real Kafka 4.1.1 broker (infra/services): round trip, keys → partitions,
 * dead letters, and commit-after-processing semantics. Each test uses its own topic prefix.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { HEADERS, partitionFor, TOPICS, type InMessage } from '../../../bus/bus.ts';
import { decodeFlows, encodeFlows, SCHEMAS } from '../../../bus/codec.ts';
import { deadLetter } from '../../../bus/deadletter.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { startKafka, type KafkaService } from '../../../infra/services/index.ts';

let kafka: KafkaService;
before(async () => { kafka = await startKafka(); });
after(async () => { await kafka?.stop(); });

const SMALL = { [TOPICS.flows]: 3, [TOPICS.state]: 3, [TOPICS.scores]: 3, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 };
const connect = (prefix = `t${randomUUID().slice(0, 8)}.`) => KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, partitions: SMALL, clientId: prefix });

const flow = (i: number, conduit: string): FlowRecord => ({
  id: `${conduit}-${i}`, tsStart: 1_000 * i, tsEnd: 1_000 * i + 5, srcIp: `10.0.${conduit.length}.1`, srcPort: 1000 + i, dstIp: '10.9.0.1', dstPort: 502,
  proto: 6, packets: i, bytes: 60 * i, packetsRev: i, bytesRev: 64 * i, tcpFlags: 24, exporter: 'e', observationDomain: 0,
  source: 'sim', l7: 'modbus', l7Ops: { read_holding_registers: i }, requestIntervalsMs: { count: 2, mean: 1000, m2: 4, min: 999, max: 1001 },
});

/** Consumes until `n` messages arrived; resolves with them. */
const consumeN = async (bus: KafkaBus, groupId: string, topics: (typeof TOPICS)[keyof typeof TOPICS][], n: number): Promise<InMessage[]> => {
  const got: InMessage[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe({ groupId, topics }, async (b) => {
    got.push(...b.messages);
    if (got.length >= n) done();
  });
  await all;
  await sub.stop();
  return got;
};

test('flows published as Arrow batches come back decoded, each key in its murmur2 partition', async () => {
  const bus = await connect();
  try {
    const conduits = ['scada->field', 'ent->scada', 'field->field', 'unknown->field'];
    const sent = conduits.map((c, i) => [flow(i + 1, c), flow(i + 2, c)]);
    await bus.publish(TOPICS.flows, conduits.map((c, i) => ({ key: c, value: encodeFlows(sent[i]!), headers: { [HEADERS.schema]: SCHEMAS.flows } })));
    const got = await consumeN(bus, 'g-round-trip', [TOPICS.flows], conduits.length);
    assert.equal(got.length, conduits.length);
    for (const m of got) {
      const i = conduits.indexOf(m.key);
      assert.ok(i >= 0, `unknown key ${m.key}`);
      assert.equal(m.partition, partitionFor(m.key, 3));
      assert.equal(m.headers[HEADERS.schema], SCHEMAS.flows);
      const d = decodeFlows(m.value);
      assert.ok(d.ok);
      assert.deepEqual(d.value, sent[i]);
    }
  } finally {
    await bus.close();
  }
});

test('messages of one key keep their order in one partition', async () => {
  const bus = await connect();
  try {
    await bus.publish(TOPICS.scores, Array.from({ length: 50 }, (_, i) => ({ key: 'a->b', value: Buffer.from(String(i)) })));
    const got = await consumeN(bus, 'g-order', [TOPICS.scores], 50);
    assert.deepEqual(got.map((m) => Number(m.value.toString())), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(new Set(got.map((m) => m.partition)).size, 1);
  } finally {
    await bus.close();
  }
});

test('an undecodable flows value lands in the dead-letter topic with its reason and origin', async () => {
  const bus = await connect();
  try {
    await bus.publish(TOPICS.flows, [
      { key: 'a->b', value: encodeFlows([flow(1, 'a->b')]) },
      { key: 'a->b', value: Buffer.from('definitely not arrow') },
    ]);
    let good = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const sub = await bus.subscribe({ groupId: 'g-dlq', topics: [TOPICS.flows] }, async (b) => {
      const bad: { message: InMessage; reason: string }[] = [];
      for (const m of b.messages) {
        const d = decodeFlows(m.value);
        if (d.ok) good += d.value.length;
        else bad.push({ message: m, reason: d.reason });
      }
      await deadLetter(bus, bad);
      if (b.messages.at(-1)?.offset === '1') done();
    });
    await finished;
    await sub.stop();
    assert.equal(good, 1);
    const dl = await bus.readLatest(TOPICS.deadletter, [0]);
    const m = dl.get('a->b');
    assert.ok(m, 'a dead letter keyed by the original key');
    assert.equal(m.value.toString(), 'definitely not arrow');
    assert.match(m.headers[HEADERS.reason]!, /Arrow/);
    assert.equal(m.headers[HEADERS.sourceTopic], TOPICS.flows);
    assert.equal(m.headers[HEADERS.sourceOffset], '1');
    assert.equal((await bus.committed('g-dlq', TOPICS.flows)).get(partitionFor('a->b', 3)), '2');
  } finally {
    await bus.close();
  }
});

test('offsets are committed only after the handler resolves: a consumer that stops mid-batch gets it again after restart', async () => {
  const bus = await connect();
  try {
    const p = partitionFor('k', 3);
    await bus.publish(TOPICS.scores, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })));
    // First consumer: handles 0..4 and commits.
    await consumeN(bus, 'g-commit', [TOPICS.scores], 5);
    assert.equal((await bus.committed('g-commit', TOPICS.scores)).get(p), '5');
    await bus.publish(TOPICS.scores, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: Buffer.from(String(5 + i)) })));
    // Second consumer: sees 5..9 and "crashes" before its handler finishes (stop, then return).
    const seen: string[] = [];
    let stopping!: Promise<void>;
    let gotIt!: () => void;
    const got = new Promise<void>((r) => (gotIt = r));
    const sub = await bus.subscribe({ groupId: 'g-commit', topics: [TOPICS.scores] }, async (b, ctl) => {
      seen.push(...b.messages.map((m) => m.value.toString()));
      stopping = sub.stop();
      gotIt();
      if (!ctl.isRunning()) throw new Error('crashed before the output was durable');
    });
    await got;
    await stopping;
    assert.deepEqual(seen.slice(0, 1), ['5']);
    assert.equal((await bus.committed('g-commit', TOPICS.scores)).get(p), '5', 'nothing committed for the unfinished batch');
    // Restart: everything uncommitted comes again, once, and is then committed.
    const again = await consumeN(bus, 'g-commit', [TOPICS.scores], 5);
    assert.deepEqual(again.map((m) => m.value.toString()), ['5', '6', '7', '8', '9']);
    assert.equal((await bus.committed('g-commit', TOPICS.scores)).get(p), '10');
  } finally {
    await bus.close();
  }
});

test('topics are created from topics.yaml with replication clamped to the single broker', async () => {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const bus = await connect(prefix);
  try {
    assert.equal(bus.partitions(TOPICS.flows), 3);
    assert.equal((await bus.endOffsets(TOPICS.state)).size, 3);
    assert.equal(bus.name(TOPICS.alerts), `${prefix}${TOPICS.alerts}`);
  } finally {
    await bus.close();
  }
});
