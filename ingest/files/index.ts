/** Flow-file readers: the public surface of `ingest/files/`. */
export { readButIec104, decodeIec104, IEC104_HEADERS, IEC104_PORT } from './but-iec104.ts';
export {
  readButMms, readButMmsAttackIntervals, decodeMms, MMS_HEADER, MMS_PORT, MMS_DEFAULT_DATE, type AttackInterval,
} from './but-mms.ts';
export { sniffCsvKind, sniffFlowFile, unknownFlowFile, FLOW_FILE_KINDS, type FlowFileKind } from './sniff.ts';
export { newFileStats, DEFAULT_SLICE_MS, DEFAULT_DATE, type FileStats, type ReaderOptions } from './csv.ts';
export { readZeek, zeekGroups, historyFlags, type ZeekOptions } from './zeek.ts';
export { readNfdumpCsv, type NfdumpOptions } from './nfdump-csv.ts';
export { readIpfixFile, type IpfixFileOptions } from './ipfix-file.ts';
export { readGenericCsv, loadCsvMapping, parseCsvMapping, CsvMapping, type GenericCsvOptions } from './generic-csv.ts';
export { REORDER_DEFAULTS, type ReorderOptions } from './reorder.ts';
