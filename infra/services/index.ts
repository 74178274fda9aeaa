/**
 * The launcher that starts real services for integration tests and benchmarks on a fresh machine,
 * without Docker (README.md beside this file):
 *
 *   const kafka = await startKafka();   // { bootstrap: '127.0.0.1:PORT', stop(), kill9(), restart() }
 *   const redis = await startRedis();   // { url: 'redis://127.0.0.1:PORT', port, stop(), restart() }
 */
export { KAFKA_VERSION, KafkaOptions, checkJava, ensureKafkaJars, kafkaLibsDir, startKafka } from './kafka.ts';
export type { KafkaJars, KafkaService } from './kafka.ts';
export { ClickHouseOptions, pingClickHouse, startClickHouse } from './clickhouse.ts';
export type { ClickHouseService } from './clickhouse.ts';
export { RedisOptions, pingRedis, startRedis } from './redis.ts';
export type { RedisService } from './redis.ts';
export { kafkajsCompatibility, requestApiVersions } from './kafka-protocol.ts';
export type { ApiVersions, NegotiatedApi, VersionRange } from './kafka-protocol.ts';
export { redisCommand } from './resp.ts';
export type { RespValue } from './resp.ts';
export { startRsyslog } from './rsyslog.ts';
export type { ReceivedMessage, RsyslogService } from './rsyslog.ts';
export { freePort, freeUdpPort } from './process.ts';
