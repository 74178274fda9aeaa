/**
 * NetFlow v9 export packet (RFC 3954).
 *
 * Header, 20 bytes (§5.1):
 *   off len field        notes
 *   0   2   version      must be 9, else `bad_version`
 *   2   2   count        records of all flowsets; unreliable in practice, not used
 *   4   4   sysUptime    ms since the exporter booted, at export
 *   8   4   unix_secs    export time, seconds since the epoch
 *   12  4   sequence     export packets sent by this (exporter, source id); gaps count packets
 *   16  4   source_id    observation domain: templates and sequence are scoped by it
 *
 * FlowSet (§5.2–5.4): [id:2][length:2 incl. these 4][body], length ≥ 4 and within the packet,
 * else the rest of the packet is dropped (`set_too_short` / `set_past_end`).
 *   id 0     template flowset: {template_id:2, field_count:2, {type:2, length:2} × field_count}…
 *   id 1     options template flowset (§6.1): template_id:2, scope_length:2, option_length:2,
 *            scope fields {type, length}… (opaque), option fields {type, length}…, padding
 *   id 2–255 reserved: `reserved_set_id`, skipped
 *   id ≥256  data flowset: records laid out by template `id`, then padding
 */
import {
  allZero, countError, countFidelity, u16, u32,
  type DecodeResult,
} from './common.ts';
import { MAX_FIELDS, compileTemplate, readDataSet, sameLayout, type FieldSpec, type TimeBase } from './data.ts';
import { TemplateDecoder } from './template-decoder.ts';

const HEADER = 20;
const MAX_RECORD = 65_535 - HEADER - 4;

export type { TemplateDecoderOptions } from './template-decoder.ts';

export class V9Decoder extends TemplateDecoder {
  protected readonly idHeader = { sequence: 12, exportTime: 8 };
  protected decodeInto(b: Uint8Array, exporter: string, receivedAt: number, session: string, r: DecodeResult): void {
    if (b.length < HEADER) { countError(r, 'truncated'); return; }
    if (u16(b, 0) !== 9) { countError(r, 'bad_version'); return; }
    const base: TimeBase = { exportMs: u32(b, 8) * 1000, sysUptime: u32(b, 4), sysInitMs: -1 };
    const domain = u32(b, 16);
    if (Math.abs(base.exportMs - receivedAt) > this.options.clockSkewMs) countFidelity(r, 'clock_skew');
    const key = this.domainKey(session, domain);
    r.sequenceGap = this.seq.check(key, u32(b, 12), 1);
    const info = this.infos.get(key);
    const budget = { records: this.options.maxRecordsPerDatagram };
    let off = HEADER;
    for (let sets = 0; off + 4 <= b.length; sets++) {
      if (sets >= this.options.maxSetsPerDatagram) { countError(r, 'iteration_cap'); return; }
      const id = u16(b, off), len = u16(b, off + 2);
      if (len < 4) { countError(r, 'set_too_short'); return; }
      if (off + len > b.length) { countError(r, 'set_past_end'); return; }
      const body = off + 4, end = off + len;
      if (id === 0) this.templateSet(b, body, end, session, domain, r, budget);
      else if (id === 1) this.optionsSet(b, body, end, session, domain, r);
      else if (id < 256) countError(r, 'reserved_set_id');
      else {
        const t = this.templates.get(session, domain, id);
        if (t === undefined || t === 'expired') countError(r, 'template_missing');
        else readDataSet(b, body, end, t, this.acc, base, info, 'netflow9', exporter, domain, r, budget);
      }
      off = end;
    }
    if (off < b.length) countError(r, 'truncated');
  }

  private store(session: string, domain: number, id: number, fields: FieldSpec[], options: boolean, scope: number, r: DecodeResult): void {
    const old = this.templates.peek(session, domain, id);
    const t = old && sameLayout(old, fields, options, scope) ? old : compileTemplate(id, fields, options, scope, true);
    if (t.invalidFields > 0) countError(r, 'field_length_invalid', t.invalidFields);
    if (t.minLength > MAX_RECORD) { countError(r, 'template_invalid'); return; }
    const out = this.templates.put(session, domain, t);
    if (out.evicted > 0) countError(r, 'template_evicted', out.evicted);
    r.templates++;
  }

  /** Template flowset: records until the end; zero bytes at the end are padding. */
  private templateSet(b: Uint8Array, off: number, end: number, session: string, domain: number, r: DecodeResult, budget: { records: number }): void {
    while (end - off >= 4) {
      if (budget.records-- <= 0) { countError(r, 'iteration_cap'); return; }
      const id = u16(b, off), count = u16(b, off + 2);
      if (id === 0 && count === 0 && allZero(b, off, end)) return; // padding
      if (count === 0) { countError(r, 'template_invalid'); return; }
      if (count > MAX_FIELDS) { countError(r, 'template_too_many_fields'); return; }
      if (off + 4 + count * 4 > end) { countError(r, 'template_invalid'); return; }
      off += 4;
      if (id < 256) { countError(r, 'template_id_invalid'); off += count * 4; continue; }
      const fields: FieldSpec[] = [];
      for (let i = 0; i < count; i++, off += 4) fields.push({ id: u16(b, off), pen: 0, length: u16(b, off + 2) });
      this.store(session, domain, id, fields, false, 0, r);
    }
  }

  /** Options template flowset: one or more options templates, then padding. */
  private optionsSet(b: Uint8Array, off: number, end: number, session: string, domain: number, r: DecodeResult): void {
    while (end - off >= 6) {
      const id = u16(b, off), scopeLen = u16(b, off + 2), optLen = u16(b, off + 4);
      if (id === 0 && allZero(b, off, end)) return; // padding
      // FastNetMon CVE-2026-48684: scope/option lengths must be whole specifiers and inside the set.
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0 || off + 6 + scopeLen + optLen > end) {
        countError(r, 'options_template_invalid'); return;
      }
      const count = (scopeLen + optLen) / 4;
      if (count === 0) { countError(r, 'options_template_invalid'); return; }
      if (count > MAX_FIELDS) { countError(r, 'template_too_many_fields'); return; }
      off += 6;
      if (id < 256) { countError(r, 'template_id_invalid'); off += count * 4; continue; }
      const fields: FieldSpec[] = [];
      for (let i = 0; i < count; i++, off += 4) fields.push({ id: u16(b, off), pen: 0, length: u16(b, off + 2) });
      this.store(session, domain, id, fields, true, scopeLen / 4, r);
    }
  }
}
