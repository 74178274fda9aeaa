/**
 * IPFIX message (RFC 7011).
 *
 * Message header, 16 bytes (§3.1):
 *   off len field        notes
 *   0   2   version      must be 10, else `bad_version`
 *   2   2   length       total message length; must equal the datagram length, else `length_mismatch` (message rejected)
 *   4   4   exportTime   seconds since the epoch
 *   8   4   sequence     data records sent before this message in this domain, mod 2^32; gaps count records
 *   12  4   domain       observation domain id: templates and sequence are scoped by it
 *
 * Set (§3.3.2): [id:2][length:2 incl. these 4][records][padding]; length ≥ 4 and within the message,
 * else the rest of the message is dropped (`set_too_short` / `set_past_end`).
 *   id 2     template set: {template_id:2, field_count:2, field specifiers…}…
 *   id 3     options template set: {template_id:2, field_count:2, scope_field_count:2, specifiers…}…
 *   id 0–1, 4–255  unused/reserved: `reserved_set_id`, skipped
 *   id ≥256  data set: records laid out by template `id`
 *
 * Field specifier (§3.2): [E|id:2][length:2][PEN:4 when E=1]; length 65535 = variable length.
 * A field count of 0 is a withdrawal (§8.1): over UDP it must not be sent and is ignored
 * (`withdrawal_ignored`, §8.4), so a spoofed datagram cannot wipe the cache.
 *
 * Times: flowStart/EndSysUpTime (22/21) are relative to systemInitTimeMilliseconds (160), which
 * exporters send in an options record (softflowd) or in the data record; absolute IEs are used as is.
 */
import {
  allZero, countError, countFidelity, u16, u32,
  type DecodeResult,
} from './common.ts';
import { MAX_FIELDS, compileTemplate, readDataSet, sameLayout, type FieldSpec, type TimeBase } from './data.ts';
import { TemplateDecoder } from './template-decoder.ts';

const HEADER = 16;
const MAX_RECORD = 65_535 - HEADER - 4;

export class IpfixDecoder extends TemplateDecoder {
  protected readonly idHeader = { sequence: 8, exportTime: 4 };
  protected decodeInto(b: Uint8Array, exporter: string, receivedAt: number, session: string, r: DecodeResult): void {
    if (b.length < HEADER) { countError(r, 'truncated'); return; }
    if (u16(b, 0) !== 10) { countError(r, 'bad_version'); return; }
    if (u16(b, 2) !== b.length) { countError(r, 'length_mismatch'); return; }
    const base: TimeBase = { exportMs: u32(b, 4) * 1000, sysUptime: -1, sysInitMs: -1 };
    const domain = u32(b, 12);
    if (Math.abs(base.exportMs - receivedAt) > this.options.clockSkewMs) countFidelity(r, 'clock_skew');
    const key = this.domainKey(session, domain);
    const info = this.infos.get(key);
    const budget = { records: this.options.maxRecordsPerDatagram };
    let dataRecords = 0;
    let off = HEADER;
    for (let sets = 0; off + 4 <= b.length; sets++) {
      if (sets >= this.options.maxSetsPerDatagram) { countError(r, 'iteration_cap'); break; }
      const id = u16(b, off), len = u16(b, off + 2);
      if (len < 4) { countError(r, 'set_too_short'); break; }
      if (off + len > b.length) { countError(r, 'set_past_end'); break; }
      const body = off + 4, end = off + len;
      if (id === 2 || id === 3) this.templateSet(b, body, end, id === 3, session, domain, r, budget);
      else if (id < 256) countError(r, 'reserved_set_id');
      else {
        const t = this.templates.get(session, domain, id);
        if (t === undefined || t === 'expired') countError(r, 'template_missing');
        else dataRecords += readDataSet(b, body, end, t, this.acc, base, info, 'ipfix', exporter, domain, r, budget);
      }
      off = end;
    }
    if (off < b.length && off + 4 > b.length) countError(r, 'truncated');
    r.sequenceGap = this.seq.check(key, u32(b, 8), dataRecords);
  }

  /** Template or options template set: records until the end; trailing zero bytes are padding. */
  private templateSet(
    b: Uint8Array, off: number, end: number, options: boolean, session: string, domain: number,
    r: DecodeResult, budget: { records: number },
  ): void {
    const head = options ? 6 : 4;
    while (end - off >= 4) {
      if (budget.records-- <= 0) { countError(r, 'iteration_cap'); return; }
      const id = u16(b, off), count = u16(b, off + 2);
      if (id === 0 && count === 0 && allZero(b, off, end)) return; // padding
      if (count === 0) { countError(r, 'withdrawal_ignored'); off += 4; continue; }
      if (end - off < head) { countError(r, options ? 'options_template_invalid' : 'template_invalid'); return; }
      const scope = options ? u16(b, off + 4) : 0;
      if (options && (scope === 0 || scope > count)) { countError(r, 'options_template_invalid'); return; }
      if (count > MAX_FIELDS) { countError(r, 'template_too_many_fields'); return; }
      off += head;
      const fields: FieldSpec[] = [];
      for (let i = 0; i < count; i++) {
        if (off + 4 > end) { countError(r, options ? 'options_template_invalid' : 'template_invalid'); return; }
        const raw = u16(b, off), length = u16(b, off + 2);
        off += 4;
        let pen = 0;
        if (raw & 0x8000) {
          if (off + 4 > end) { countError(r, options ? 'options_template_invalid' : 'template_invalid'); return; }
          pen = u32(b, off);
          off += 4;
        }
        fields.push({ id: raw & 0x7fff, pen, length });
      }
      if (id < 256) { countError(r, 'template_id_invalid'); continue; }
      const old = this.templates.peek(session, domain, id);
      const t = old && sameLayout(old, fields, options, scope) ? old : compileTemplate(id, fields, options, scope);
      if (t.invalidFields > 0) countError(r, 'field_length_invalid', t.invalidFields);
      if (t.minLength > MAX_RECORD) { countError(r, 'template_invalid'); continue; }
      const out = this.templates.put(session, domain, t);
      if (out.evicted > 0) countError(r, 'template_evicted', out.evicted);
      r.templates++;
    }
  }
}
