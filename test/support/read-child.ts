/**
 * Reads one input in a child process and prints what it gave and its peak RSS, for tests that
 * bound the memory a hostile file can take: `node --import tsx test/support/read-child.ts KIND FILE`.
 * KIND: nfdump | zeek | csv | pcap | ipfix | none (start-up only, the baseline).
 */
import { newFileStats, parseCsvMapping, readGenericCsv, readIpfixFile, readNfdumpCsv, readZeek } from '../../ingest/files/index.ts';
import { newPcapStats, readPcapFlows } from '../../ingest/pcap/index.ts';
import type { FlowRecord } from '../../core/records.ts';

const [kind, file] = process.argv.slice(2) as [string, string];
const main = async (): Promise<void> => {
  let records = 0;
  let problems: Record<string, number> = {};
  let error = '';
  const drain = async (g: AsyncIterable<FlowRecord[]>): Promise<void> => { for await (const b of g) records += b.length; };
  try {
    if (kind === 'pcap') {
      const s = newPcapStats(file);
      try { await drain(readPcapFlows(file, {}, s)); } finally { problems = s.violations; }
    } else if (kind !== 'none') {
      const s = newFileStats(file);
      try {
        if (kind === 'nfdump') await drain(readNfdumpCsv(file, {}, s));
        else if (kind === 'zeek') await drain(readZeek(file, {}, s));
        else if (kind === 'ipfix') await drain(readIpfixFile(file, {}, s));
        else if (kind === 'csv') {
          const m = parseCsvMapping('time: epoch_s\ncolumns: { tsStart: ts, srcIp: src, dstIp: dst, dstPort: port, l7: app }');
          await drain(readGenericCsv(file, m, {}, s));
        }
      } finally { problems = s.badRows; }
    }
  } catch (e) {
    error = (e as Error).message;
  }
  process.stdout.write(JSON.stringify({ records, problems, error, peakRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
};
void main();
