/**
 * IEC 60870-5-101/104 names, the canonical table of the project: ASDU type identifications
 * (IEC 60870-5-101 §7.2.1.1, IEC 60870-5-104 §8), U-format functions (IEC 60870-5-104 §5.3) and
 * causes of transmission (IEC 60870-5-101 §7.2.3). Names are the standard mnemonics, used as `l7Ops`
 * keys by the pcap dissector and by the BUT flow-file reader (`ingest/files/`), so a conduit learned
 * from one source is scored against the other.
 */

/** Defined type identifications 1–127; anything else is reported as `asdu_<n>`. */
export const ASDU_TYPES: Readonly<Record<number, string>> = {
  // Process information in monitor direction
  1: 'M_SP_NA_1', 2: 'M_SP_TA_1', 3: 'M_DP_NA_1', 4: 'M_DP_TA_1', 5: 'M_ST_NA_1', 6: 'M_ST_TA_1',
  7: 'M_BO_NA_1', 8: 'M_BO_TA_1', 9: 'M_ME_NA_1', 10: 'M_ME_TA_1', 11: 'M_ME_NB_1', 12: 'M_ME_TB_1',
  13: 'M_ME_NC_1', 14: 'M_ME_TC_1', 15: 'M_IT_NA_1', 16: 'M_IT_TA_1', 17: 'M_EP_TA_1', 18: 'M_EP_TB_1',
  19: 'M_EP_TC_1', 20: 'M_PS_NA_1', 21: 'M_ME_ND_1',
  // ... with time tag CP56Time2a
  30: 'M_SP_TB_1', 31: 'M_DP_TB_1', 32: 'M_ST_TB_1', 33: 'M_BO_TB_1', 34: 'M_ME_TD_1', 35: 'M_ME_TE_1',
  36: 'M_ME_TF_1', 37: 'M_IT_TB_1', 38: 'M_EP_TD_1', 39: 'M_EP_TE_1', 40: 'M_EP_TF_1',
  // Process information in control direction
  45: 'C_SC_NA_1', 46: 'C_DC_NA_1', 47: 'C_RC_NA_1', 48: 'C_SE_NA_1', 49: 'C_SE_NB_1', 50: 'C_SE_NC_1',
  51: 'C_BO_NA_1',
  58: 'C_SC_TA_1', 59: 'C_DC_TA_1', 60: 'C_RC_TA_1', 61: 'C_SE_TA_1', 62: 'C_SE_TB_1', 63: 'C_SE_TC_1',
  64: 'C_BO_TA_1',
  // System information in monitor direction
  70: 'M_EI_NA_1',
  // System information in control direction
  100: 'C_IC_NA_1', 101: 'C_CI_NA_1', 102: 'C_RD_NA_1', 103: 'C_CS_NA_1', 104: 'C_TS_NA_1',
  105: 'C_RP_NA_1', 106: 'C_CD_NA_1', 107: 'C_TS_TA_1',
  // Parameters in control direction
  110: 'P_ME_NA_1', 111: 'P_ME_NB_1', 112: 'P_ME_NC_1', 113: 'P_AC_NA_1',
  // File transfer
  120: 'F_FR_NA_1', 121: 'F_SR_NA_1', 122: 'F_SC_NA_1', 123: 'F_LS_NA_1', 124: 'F_AF_NA_1',
  125: 'F_SG_NA_1', 126: 'F_DR_TA_1', 127: 'F_SC_NB_1',
};

const TYPE_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(ASDU_TYPES).map(([t, n]) => [n, Number(t)]));

/** `l7Ops` name of an I-format APDU's ASDU type: `C_SC_NA_1`, or `asdu_<n>` when undefined. */
export const asduTypeName = (t: number): string => ASDU_TYPES[t] ?? `asdu_${t}`;

/** Inverse of {@link asduTypeName}: `C_SC_NA_1` → 45, `asdu_200` → 200; undefined for other names. */
export const asduTypeCode = (name: string): number | undefined => {
  const known = TYPE_BY_NAME.get(name);
  if (known !== undefined) return known;
  const m = /^asdu_(\d{1,3})$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/**
 * U-format functions, keyed by the first control octet shifted right by two (0x07 STARTDT act → 0x01 …
 * 0x83 TESTFR con → 0x20); this is also the `uType` column of the BUT probe files.
 */
export const U_FUNCTIONS: Readonly<Record<number, string>> = {
  0x01: 'STARTDT_act', 0x02: 'STARTDT_con',
  0x04: 'STOPDT_act', 0x08: 'STOPDT_con',
  0x10: 'TESTFR_act', 0x20: 'TESTFR_con',
};

/** `l7Ops` name of a U-format APDU (`u` = first control octet >> 2); an unknown pattern is `U_0x<hex>`. */
export const uFunctionName = (u: number): string => U_FUNCTIONS[u] ?? `U_0x${u.toString(16).padStart(2, '0')}`;

/** `l7Ops` name of every S-format APDU (acknowledgement only). */
export const S_FRAME = 'S_frame';

/** Causes of transmission (6-bit cause; the octet's bit 7 is P/N, bit 8 is T). */
export const CAUSES: Readonly<Record<number, string>> = {
  1: 'per_cyc', 2: 'back', 3: 'spont', 4: 'init', 5: 'req', 6: 'act', 7: 'actcon', 8: 'deact',
  9: 'deactcon', 10: 'actterm', 11: 'retrem', 12: 'retloc', 13: 'file',
  20: 'inrogen', 21: 'inro1', 22: 'inro2', 23: 'inro3', 24: 'inro4', 25: 'inro5', 26: 'inro6',
  27: 'inro7', 28: 'inro8', 29: 'inro9', 30: 'inro10', 31: 'inro11', 32: 'inro12', 33: 'inro13',
  34: 'inro14', 35: 'inro15', 36: 'inro16', 37: 'reqcogen', 38: 'reqco1', 39: 'reqco2', 40: 'reqco3',
  41: 'reqco4',
  44: 'unknown_type_id', 45: 'unknown_cause', 46: 'unknown_common_address', 47: 'unknown_ioa',
};

/**
 * The `l7Errors` name a cause-of-transmission octet implies, or undefined for a normal cause.
 * Causes 44–47 are the outstation's "unknown …" replies; the P/N bit (0x40) marks a negative
 * confirmation; a cause the standard does not define is `cot_<n>`.
 */
export const causeError = (cot: number): string | undefined => {
  const cause = cot & 0x3f;
  if (cause >= 44 && cause <= 47) return CAUSES[cause];
  if ((cot & 0x40) !== 0) return 'negative_confirm';
  if (CAUSES[cause] === undefined) return `cot_${cause}`;
  return undefined;
};

/**
 * ASDU types a detector treats as security-relevant when new on a conduit: process commands
 * (single/double/regulating step, set points, bitstring, with and without time tag), clock
 * synchronisation, test command, reset process, delay acquisition, parameter loading and activation,
 * and every file-transfer type. Interrogations and read commands (C_IC, C_CI, C_RD) are routine polling
 * and left out.
 */
export const IEC104_SECURITY_TYPES: ReadonlySet<string> = new Set([
  'C_SC_NA_1', 'C_DC_NA_1', 'C_RC_NA_1', 'C_SE_NA_1', 'C_SE_NB_1', 'C_SE_NC_1', 'C_BO_NA_1',
  'C_SC_TA_1', 'C_DC_TA_1', 'C_RC_TA_1', 'C_SE_TA_1', 'C_SE_TB_1', 'C_SE_TC_1', 'C_BO_TA_1',
  'C_CS_NA_1', 'C_TS_NA_1', 'C_RP_NA_1', 'C_CD_NA_1', 'C_TS_TA_1',
  'P_ME_NA_1', 'P_ME_NB_1', 'P_ME_NC_1', 'P_AC_NA_1',
  'F_FR_NA_1', 'F_SR_NA_1', 'F_SC_NA_1', 'F_LS_NA_1', 'F_AF_NA_1', 'F_SG_NA_1', 'F_DR_TA_1', 'F_SC_NB_1',
]);

/** U-format functions that stop or start data transfer (a STOPDT from a new peer silences a station). */
export const IEC104_SECURITY_U: ReadonlySet<string> = new Set(['STOPDT_act', 'STARTDT_act']);
