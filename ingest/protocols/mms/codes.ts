/**
 * MMS (ISO 9506-2) names for the pcap dissector. The op names are those of the BUT MMS message-record
 * reader (`ingest/files/mms-codes.ts`) — `<service>.<kind>` such as `read.request`,
 * `informationReport.unconfirmed`, or the PDU kind alone (`initiate_request`) — so flows from a capture
 * and from the CSV export are comparable; this file re-exports them and adds the security markings.
 */
import { CONFIRMED_SERVICES, PDU_ERRORS, PDU_KINDS, UNCONFIRMED_SERVICES, mmsOpName } from '../../files/mms-codes.ts';

export { CONFIRMED_SERVICES, PDU_ERRORS, PDU_KINDS, UNCONFIRMED_SERVICES, mmsOpName };

/** MMSpdu CHOICE tags (context class, 0–13). */
export const MMS_PDU = {
  confirmedRequest: 0,
  confirmedResponse: 1,
  confirmedError: 2,
  unconfirmed: 3,
  reject: 4,
  cancelRequest: 5,
  cancelResponse: 6,
  cancelError: 7,
  initiateRequest: 8,
  initiateResponse: 9,
  initiateError: 10,
  concludeRequest: 11,
  concludeResponse: 12,
  concludeError: 13,
} as const;

/**
 * Parses an op name back into its PDU kind tag and service tag (for comparison with tshark's
 * `mms.confirmedServiceRequest` …); undefined for a name this module does not produce.
 */
export const parseOpName = (name: string): { type: number; service?: number } | undefined => {
  const dot = name.lastIndexOf('.');
  const kindName = dot < 0 ? name : name.slice(dot + 1);
  const kind = Object.entries(PDU_KINDS).find(([, k]) => k === kindName);
  const type = kind ? Number(kind[0]) : /^mms_type_(\d+)$/.exec(kindName) ? Number(kindName.slice(9)) : undefined;
  if (type === undefined) return undefined;
  if (dot < 0) return { type };
  const svc = name.slice(0, dot);
  const table = type === MMS_PDU.unconfirmed ? UNCONFIRMED_SERVICES : CONFIRMED_SERVICES;
  const i = table.indexOf(svc);
  if (i >= 0) return { type, service: i };
  const m = /^service_(\d+)$/.exec(svc);
  return m ? { type, service: Number(m[1]) } : undefined;
};

/**
 * Confirmed services that change process values, configuration, programs or files: write; variable
 * list and type deletion; domain (program) download/upload and deletion; program invocation control
 * (start/stop/resume/reset/kill …); file transfer, rename and deletion; journal writes and wipes.
 */
export const MMS_SECURITY_SERVICES: ReadonlySet<string> = new Set([
  'write', 'deleteVariableAccess', 'deleteNamedVariableList', 'deleteNamedType', 'defineNamedVariable',
  'initiateDownloadSequence', 'downloadSegment', 'terminateDownloadSequence', 'initiateUploadSequence',
  'uploadSegment', 'terminateUploadSequence', 'requestDomainDownload', 'requestDomainUpload',
  'loadDomainContent', 'storeDomainContent', 'deleteDomain', 'createProgramInvocation',
  'deleteProgramInvocation', 'start', 'stop', 'resume', 'reset', 'kill', 'obtainFile', 'fileOpen', 'fileRead',
  'fileClose', 'fileRename', 'fileDelete', 'writeJournal', 'initializeJournal', 'deleteJournal',
  'takeControl', 'relinquishControl',
]);

/** Whether an op name (`write.request`, `fileDelete.response` …) is a security-relevant service. */
export const isSecurityOp = (op: string): boolean => {
  const dot = op.lastIndexOf('.');
  return dot > 0 && MMS_SECURITY_SERVICES.has(op.slice(0, dot));
};
