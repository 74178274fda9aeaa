/**
 * infra/docker-compose.yml cannot be started here (no Docker engine), so its structure is checked:
 * the services a deployment needs, pinned images, KRaft Kafka, Grafana with the plugin and the
 * provisioning, and every file it mounts or builds from exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../../support/data.ts';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, unknown>;
  healthcheck?: unknown;
}

const file = join(projectRoot, 'infra/docker-compose.yml');
const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;

/** `${VAR:-default}` → default; `${VAR:?msg}` → undefined (must be set). */
const interpolate = (s: string): string => s.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

test('the stack has Kafka, ClickHouse, Redis, Grafana and the collector, detector and sink roles', () => {
  for (const name of ['kafka', 'clickhouse', 'redis', 'grafana', 'collector', 'detector', 'sink']) assert.ok(services[name], name);
  const roles = Object.values(services).flatMap((s) => {
    const i = s.command?.indexOf('--role') ?? -1;
    return i >= 0 ? [s.command![i + 1]!] : [];
  });
  assert.deepEqual(roles.sort(), ['collector', 'detector', 'sink']);
});

test('every image is pinned to an exact version', () => {
  const images = Object.entries(services).map(([n, s]) => [n, s.image] as const);
  assert.ok(images.length >= 7);
  for (const [name, image] of images) {
    assert.ok(image, `${name} has an image`);
    assert.match(image, /^[\w./-]+:\d+\.\d+\.\d+(\.\d+)?(-[\w.]+)?$/, `${name}: ${image} is not an exact version`);
  }
});

test('Kafka runs in KRaft mode, with no ZooKeeper', () => {
  const env = services.kafka!.environment!;
  assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
  assert.ok(String(env.KAFKA_CONTROLLER_QUORUM_VOTERS).includes('@kafka:9093'));
  assert.ok(!Object.keys(services).some((n) => /zookeeper/i.test(n)));
  assert.ok(!JSON.stringify(env).toLowerCase().includes('zookeeper'));
});

test('Grafana installs the ClickHouse plugin at a pinned version and mounts the provisioning and the built dashboards', () => {
  const g = services.grafana!;
  assert.match(String(g.environment!.GF_PLUGINS_PREINSTALL_SYNC), /^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/);
  assert.ok(g.volumes!.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'));
  const provider = parse(readFileSync(join(projectRoot, 'infra/grafana/provisioning/dashboards/conduitwatch.yaml'), 'utf8')) as { providers: { options: { path: string } }[] };
  assert.ok(g.volumes!.some((v) => v.startsWith('./grafana/dashboards:') && v.split(':')[1] === provider.providers[0]!.options.path));
  // The data source provisioning reads these from Grafana's environment.
  const ds = readFileSync(join(projectRoot, 'infra/grafana/provisioning/datasources/conduitwatch.yaml'), 'utf8');
  for (const v of ds.matchAll(/\$\{(\w+)\}/g)) assert.ok(v[1]! in g.environment!, `grafana sets ${v[1]}`);
});

test('every mounted file and build input exists, and named volumes are declared', () => {
  const base = dirname(file);
  let mounts = 0;
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const src = interpolate(v).split(':')[0]!;
      if (src.startsWith('.') || src.startsWith('/')) {
        assert.ok(existsSync(resolve(base, src)), `${name}: ${src} (from ${v}) does not exist`);
        mounts++;
      } else {
        assert.ok(src in compose.volumes, `${name}: volume ${src} is not declared`);
      }
    }
    if (s.build) {
      assert.ok(existsSync(resolve(base, s.build.context, s.build.dockerfile)), `${name}: ${s.build.dockerfile}`);
    }
    for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(services[dep], `${name} depends on unknown ${dep}`);
  }
  assert.ok(mounts >= 6, `${mounts} bind mounts checked`);
});

test('secrets come from the environment, never from the file', () => {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(PASSWORD|TOKEN)\w*:\s*(\S+)/g)) assert.match(m[2]!, /^\$\{\w+:\?/, `${m[0]} must be \${VAR:?…}`);
});
