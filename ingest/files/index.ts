/** Flow-file readers: the public surface of `ingest/files/`. */
export { readButIec104, decodeIec104, IEC104_HEADERS, IEC104_PORT } from './but-iec104.ts';
export {
  readButMms, readButMmsAttackIntervals, decodeMms, MMS_HEADER, MMS_PORT, MMS_DEFAULT_DATE, type AttackInterval,
} from './but-mms.ts';
export { sniffCsvKind } from './sniff.ts';
export { newFileStats, DEFAULT_SLICE_MS, DEFAULT_DATE, type FileStats, type ReaderOptions } from './csv.ts';
