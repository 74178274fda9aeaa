/**
 * A detector worker in its own process, for the worker-kill fault test (faults.test.ts):
 *
 *   node --import tsx test/integration/serve/detector-worker.ts <bootstrap> <prefix> <group> <hangAfter>
 *
 * Runs the detector role on the lemay site with small fetches (about one collector batch each).
 * After `hangAfter` state checkpoints it hangs inside the next one — scores of that batch already
 * published, its state and offset not — prints `HUNG <partition> <nextOffset>` and waits to be
 * killed. Prints `READY` once it joined the group.
 */
import { join } from 'node:path';
import { TOPICS, type Bus } from '../../../bus/bus.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import { loadSite, SiteMap } from '../../../core/config.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { DetectorRole } from '../../../cli/serve/detector.ts';
import { projectRoot } from '../../support/data.ts';
import { SMALL } from './helpers.ts';

const [bootstrap, prefix, group, hangAfterArg] = process.argv.slice(2);
if (!bootstrap || !prefix || !group || !hangAfterArg) throw new Error('usage: detector-worker.ts <bootstrap> <prefix> <group> <hangAfter>');
const hangAfter = Number(hangAfterArg);
const siteMap = new SiteMap(loadSite(join(projectRoot, 'examples/lemay/site.yaml')));
const kafka = await KafkaBus.connect({ brokers: [bootstrap], prefix, partitions: SMALL, clientId: `${prefix}worker-a`, maxBytesPerPartition: 1 });
let checkpoints = 0;
const bus: Bus = Object.create(kafka, {
  publish: {
    value: async (topic: (typeof TOPICS)[keyof typeof TOPICS], messages: Parameters<Bus['publish']>[1]) => {
      if (topic === TOPICS.state && ++checkpoints > hangAfter) {
        const st = JSON.parse(messages[0]!.value.toString('utf8')) as { partition: number; nextOffset: string };
        process.stdout.write(`HUNG ${st.partition} ${st.nextOffset}\n`);
        return new Promise<void>(() => {});
      }
      return kafka.publish(topic, messages);
    },
  },
}) as Bus;
const role = new DetectorRole({ bus, siteMap, runId: 'worker-a', log: silentLogger(), metrics: new Metrics(), groupId: group });
await role.start();
process.stdout.write('READY\n');
