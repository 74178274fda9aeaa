/**
 * Learn / unlearn: an analyst folds a deviation into a conduit's baseline ("this new edge is the new
 * historian") or takes an item out of it, with a reason. Each decision is one line of
 * `baseline-overrides.jsonl` in the data directory (append-only, fsync'ed; the audit trail holds
 * the same decision with who and why). The latest decision per item wins.
 *
 * Who sees it:
 * - the next what-if and proposal: `applyOverrides` turns a learned edge/op into an `allow` entry
 *   (evidence: flows 0, "learned by …") and an unlearned one into `hold`, so the rule the what-if
 *   replays — and its hash — change with the decision;
 * - the detectors: `learnedEdges` lists what is learned, for the wiring to hand to the novelty
 *   detector as already known (an unlearned item alerts again on its next sighting).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';

export const OVERRIDES_FILE = 'baseline-overrides.jsonl';

/** The item a decision is about: an edge, or one operation on an edge. */
export const BaselineItem = z.object({
  conduit: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*->[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'write the conduit as FROM->TO, e.g. "scada->field"').describe('Conduit id, FROM->TO.'),
  src: z.string().min(1).describe('Initiator address (or "zone:<name>").'),
  dst: z.string().min(1).describe('Responder address.'),
  proto: z.number().int().min(0).max(255).describe('IP protocol number (6 TCP, 17 UDP).'),
  dstPort: z.number().int().min(0).max(65535).describe('Responder port.'),
  l7: z.string().default('').describe('Application protocol (modbus, dnp3, …); empty when none.'),
  op: z.string().optional().describe('One operation on the edge (e.g. "write_single_register"); absent: the edge itself.'),
  units: z.array(z.number().int().min(0)).optional().describe('Unit ids / station addresses the edge may address (for the detectors; others still alert as new).'),
}).strict();
export type BaselineItem = z.output<typeof BaselineItem>;

export interface Override {
  seq: number;
  at: number;
  actor: string;
  kind: 'learn' | 'unlearn';
  item: BaselineItem;
  reason: string;
}

export const itemKey = (i: BaselineItem): string => `${i.conduit}|${i.src}>${i.dst}/${i.proto}/${i.dstPort}|${i.op ?? ''}`;

export class BaselineOverrides {
  readonly file: string;
  constructor(dataDir: string) {
    this.file = join(dataDir, OVERRIDES_FILE);
  }

  /** Every decision, oldest first. */
  all(): Override[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return text.split('\n').filter(Boolean).map((l, i) => {
      try {
        return JSON.parse(l) as Override;
      } catch {
        throw new PipelineError('config_invalid', `${this.file}:${i + 1}: not a JSON line; restore the file from a backup (the audit trail lists every decision).`);
      }
    });
  }

  /** The decision in force per item (the latest), conduit first. */
  current(conduit?: string): Override[] {
    const last = new Map<string, Override>();
    for (const o of this.all()) if (!conduit || o.item.conduit === conduit) last.set(itemKey(o.item), o);
    return [...last.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Records a decision; resolves once it is on disk. */
  record(kind: 'learn' | 'unlearn', item: BaselineItem, actor: string, reason: string, at: number): Override {
    if (!reason.trim()) throw new PipelineError('config_invalid', `A ${kind} needs a reason (who is this, why is it normal or not).`);
    const parsed = BaselineItem.parse(item);
    const o: Override = { seq: this.all().length + 1, at, actor, kind, item: parsed, reason };
    mkdirSync(join(this.file, '..'), { recursive: true });
    const fd = openSync(this.file, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(o)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return o;
  }

  /**
   * What the detectors should know from the first window: every learned edge with its learned
   * operations (the novelty detector's `learned` setting). An op learned on an edge learns the edge.
   */
  learnedEdges(conduit?: string): { src: string; dst: string; proto: number; dstPort: number; l7: string; ops: string[]; units: number[] }[] {
    const out = new Map<string, { src: string; dst: string; proto: number; dstPort: number; l7: string; ops: string[]; units: number[] }>();
    for (const o of this.current(conduit)) {
      if (o.kind !== 'learn') continue;
      const i = o.item;
      const k = `${i.src}>${i.dst}/${i.proto}/${i.dstPort}/${i.l7}`;
      const e = out.get(k) ?? { src: i.src, dst: i.dst, proto: i.proto, dstPort: i.dstPort, l7: i.l7, ops: [], units: [] };
      if (i.op !== undefined && !e.ops.includes(i.op)) e.ops.push(i.op);
      for (const u of i.units ?? []) if (!e.units.includes(u)) e.units.push(u);
      out.set(k, e);
    }
    return [...out.values()];
  }
}

/** The part of a rule `applyOverrides` reads and writes (part 1's `Rule`, enforce/rules.ts). */
interface RuleShape {
  conduit: string;
  entries: {
    src: string; dst: string; proto: number; dstPort: number; l7?: string; status: string; held?: string[];
    ops: { op: string; status: string; held?: string[]; [k: string]: unknown }[]; [k: string]: unknown;
  }[];
  [k: string]: unknown;
}

/**
 * The rule with the decisions in force folded in: a learned edge or op becomes `allow` (added
 * when missing), an unlearned one `hold` with the reason. Returns the rule unchanged (same object)
 * when no decision touches it, so its hash stays.
 */
export const applyOverrides = <R>(rule: R, overrides: readonly Override[]): R => {
  const r = rule as unknown as RuleShape;
  const mine = overrides.filter((o) => o.item.conduit === r.conduit);
  if (mine.length === 0) return rule;
  const out: RuleShape = structuredClone(r);
  for (const o of mine) {
    const i = o.item;
    let e = out.entries.find((x) => x.src === i.src && x.dst === i.dst && x.proto === i.proto && x.dstPort === i.dstPort);
    const why = `${o.kind === 'learn' ? 'learned' : 'unlearned'} by ${o.actor}: ${o.reason}`;
    if (!e) {
      if (o.kind === 'unlearn') continue;
      e = { src: i.src, dst: i.dst, proto: i.proto, dstPort: i.dstPort, l7: i.l7, status: 'allow', held: [], ops: [], evidence: { cycles: 0, firstSeen: o.at, lastSeen: o.at, flows: 0, firstSeenInAlert: '' } };
      out.entries.push(e);
    }
    if (i.op === undefined) {
      e.status = o.kind === 'learn' ? 'allow' : 'hold';
      e.held = o.kind === 'learn' ? [] : [why];
      continue;
    }
    let op = e.ops.find((x) => x.op === i.op);
    if (!op) {
      if (o.kind === 'unlearn') continue;
      op = { op: i.op, status: 'allow', held: [] };
      e.ops.push(op);
    }
    op.status = o.kind === 'learn' ? 'allow' : 'hold';
    op.held = o.kind === 'learn' ? [] : [why];
  }
  return out as unknown as R;
};
