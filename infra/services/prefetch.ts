/**
 * Downloads and installs what the integration tests start, and nothing else, so the first test does not
 * spend its timeout on a download:
 *
 *   node --import tsx infra/services/prefetch.ts            # Kafka jars + redis-server + clickhouse-server
 *   node --import tsx infra/services/prefetch.ts kafka      # only one of them
 *
 * Exits 0 when everything is in place, 1 with the reason on stderr otherwise.
 */
import { errorMessage } from '../../core/errors.ts';
import { KAFKA_VERSION, checkJava, ensureKafkaJars } from './kafka.ts';
import { ensureDebianCommand, progress } from './process.ts';

const wanted = new Set(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['kafka', 'redis', 'clickhouse']);

const main = async (): Promise<void> => {
  if (wanted.has('kafka')) {
    checkJava();
    const jars = await ensureKafkaJars();
    progress('kafka', jars.downloaded
      ? `Kafka ${KAFKA_VERSION} jars downloaded to ${jars.libs} in ${(jars.ms / 1000).toFixed(1)} s`
      : `Kafka ${KAFKA_VERSION} jars already cached in ${jars.libs}`);
  }
  if (wanted.has('redis')) {
    ensureDebianCommand('redis', 'redis-server', 'redis-server');
    progress('redis', 'redis-server is installed');
  }
  if (wanted.has('clickhouse')) {
    ensureDebianCommand('clickhouse', 'clickhouse-server', 'clickhouse-server');
    progress('clickhouse', 'clickhouse-server is installed');
  }
};

main().catch((e: unknown) => {
  process.stderr.write(`conduitwatch services: prefetch failed: ${errorMessage(e)}\n`);
  process.exitCode = 1;
});
