/**
 * MMS (ISO 9506-2) names: the MMSpdu CHOICE tags (the probe's `MMS Type` column) and the
 * ConfirmedServiceRequest / UnconfirmedService CHOICE tags (its `MMS Service` column).
 */

/** MMSpdu kinds by CHOICE tag, as `l7Ops` suffixes. */
export const PDU_KINDS: Readonly<Record<number, string>> = {
  0: 'request', 1: 'response', 2: 'error', 3: 'unconfirmed', 4: 'reject',
  5: 'cancel_request', 6: 'cancel_response', 7: 'cancel_error',
  8: 'initiate_request', 9: 'initiate_response', 10: 'initiate_error',
  11: 'conclude_request', 12: 'conclude_response', 13: 'conclude_error',
};

/** PDU kinds that report a failure; counted in `l7Errors` under this name. */
export const PDU_ERRORS: Readonly<Record<number, string>> = {
  2: 'confirmed_error', 4: 'reject', 7: 'cancel_error', 10: 'initiate_error', 13: 'conclude_error',
};

/** PDU kinds whose `MMS Service` column names a confirmed service (confirmed and cancel PDUs). */
const CONFIRMED_KINDS = new Set([0, 1, 2, 5, 6, 7]);

/** ConfirmedServiceRequest CHOICE tags 0–77. */
export const CONFIRMED_SERVICES: readonly string[] = [
  'status', 'getNameList', 'identify', 'rename', 'read', 'write', 'getVariableAccessAttributes',
  'defineNamedVariable', 'defineScatteredAccess', 'getScatteredAccessAttributes', 'deleteVariableAccess',
  'defineNamedVariableList', 'getNamedVariableListAttributes', 'deleteNamedVariableList', 'defineNamedType',
  'getNamedTypeAttributes', 'deleteNamedType', 'input', 'output', 'takeControl', 'relinquishControl',
  'defineSemaphore', 'deleteSemaphore', 'reportSemaphoreStatus', 'reportPoolSemaphoreStatus',
  'reportSemaphoreEntryStatus', 'initiateDownloadSequence', 'downloadSegment', 'terminateDownloadSequence',
  'initiateUploadSequence', 'uploadSegment', 'terminateUploadSequence', 'requestDomainDownload',
  'requestDomainUpload', 'loadDomainContent', 'storeDomainContent', 'deleteDomain', 'getDomainAttributes',
  'createProgramInvocation', 'deleteProgramInvocation', 'start', 'stop', 'resume', 'reset', 'kill',
  'getProgramInvocationAttributes', 'obtainFile', 'defineEventCondition', 'deleteEventCondition',
  'getEventConditionAttributes', 'reportEventConditionStatus', 'alterEventConditionMonitoring',
  'triggerEvent', 'defineEventAction', 'deleteEventAction', 'getEventActionAttributes',
  'reportEventActionStatus', 'defineEventEnrollment', 'deleteEventEnrollment', 'alterEventEnrollment',
  'reportEventEnrollmentStatus', 'getEventEnrollmentAttributes', 'acknowledgeEventNotification',
  'getAlarmSummary', 'getAlarmEnrollmentSummary', 'readJournal', 'writeJournal', 'initializeJournal',
  'reportJournalStatus', 'createJournal', 'deleteJournal', 'getCapabilityList', 'fileOpen', 'fileRead',
  'fileClose', 'fileRename', 'fileDelete', 'fileDirectory',
];

/** UnconfirmedService CHOICE tags. */
export const UNCONFIRMED_SERVICES: readonly string[] = ['informationReport', 'unsolicitedStatus', 'eventNotification'];

/**
 * `l7Ops` name of one PDU: `<service>.<kind>` when the PDU names a service (`read.request`,
 * `informationReport.unconfirmed`), else the kind alone (`initiate_request`). Unknown service
 * tags are `service_<n>`, unknown PDU tags `mms_type_<n>`.
 */
export const mmsOpName = (type: number, service: number | undefined): string => {
  const kind = PDU_KINDS[type] ?? `mms_type_${type}`;
  if (service === undefined) return kind;
  const table = type === 3 ? UNCONFIRMED_SERVICES : CONFIRMED_KINDS.has(type) ? CONFIRMED_SERVICES : undefined;
  const name = table?.[service] ?? `service_${service}`;
  return `${name}.${kind}`;
};
