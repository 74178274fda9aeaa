/** Picks the reader for a message-record CSV by its header line. */
import { firstLine } from './csv.ts';
import { IEC104_HEADERS } from './but-iec104.ts';
import { MMS_HEADER } from './but-mms.ts';

/** Which BUT reader fits a file, judged by its header line; undefined when none does or it cannot be read. */
export const sniffCsvKind = (path: string): 'but-iec104' | 'but-mms' | undefined => {
  const header = firstLine(path);
  if (header === undefined) return undefined;
  if ((IEC104_HEADERS as readonly string[]).includes(header)) return 'but-iec104';
  if (header === MMS_HEADER) return 'but-mms';
  return undefined;
};
