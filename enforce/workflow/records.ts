/**
 * Promotion records in Redis (the same Redis as the queue, with AOF): one hash per promotion
 * (`v` version, `state`, `json`), a key per conduit naming its promotion in flight, and a sorted
 * set of ids by proposal time. Every write is a compare-and-set on `v` in a Lua script, so two
 * runs of the same step (BullMQ re-runs a stalled job) cannot both win.
 */
import { PipelineError } from '../../core/errors.ts';
import { TERMINAL, canMove, type Promotion, type State } from './promotion.ts';
import type { Kv } from './queue.ts';

const CREATE = `
local st = redis.call('HGET', KEYS[1], 'state')
if st then
  if st == 'confirmed' or st == 'rolled_back' or st == 'rejected' or st == 'cancelled' then return 'terminal' end
  return 'exists'
end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 'busy:' .. holder end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'v', '1', 'state', ARGV[4], 'json', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 'created'`;

// ARGV: expected v, new v, state, json, id, release ('1': terminal, free the conduit), acquire ('1': take the conduit back)
const UPDATE = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 'conflict' end
if ARGV[7] == '1' then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[5] then return 'busy:' .. holder end
  redis.call('SET', KEYS[2], ARGV[5])
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'state', ARGV[3], 'json', ARGV[4])
if ARGV[6] == '1' and redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
return 'ok'`;

export type CreateOutcome = { outcome: 'created' | 'exists'; promotion: Promotion } | { outcome: 'busy'; holder: string };

export class PromotionRecords {
  constructor(private readonly kv: Kv, private readonly prefix: string) {}

  private key(id: string): string { return `${this.prefix}:cw:promotion:${id}`; }
  private conduitKey(conduit: string): string { return `${this.prefix}:cw:conduit:${conduit}`; }
  private get indexKey(): string { return `${this.prefix}:cw:promotions`; }

  /**
   * Creates `p` under its id, or under `<id>.2`, `<id>.3`… when earlier promotions of the same rule
   * have ended. Returns the existing one when the same rule is already in flight (a double click),
   * and 'busy' when another promotion holds the conduit.
   */
  async create(p: Promotion): Promise<CreateOutcome> {
    for (let n = 1; n <= 1000; n++) {
      const id = n === 1 ? p.id : `${p.id}.${n}`;
      const rec = { ...p, id, version: 1 };
      const r = String(await this.kv.eval(CREATE, [this.key(id), this.conduitKey(p.conduit), this.indexKey], [id, JSON.stringify(rec), p.proposedAt, p.state]));
      if (r === 'created') return { outcome: 'created', promotion: rec };
      if (r === 'exists') return { outcome: 'exists', promotion: (await this.get(id))! };
      if (r.startsWith('busy:')) return { outcome: 'busy', holder: r.slice(5) };
    }
    throw new PipelineError('unrecoverable', `Rule ${p.ruleHash} of ${p.conduit} was promoted 1000 times; change the rule.`);
  }

  async get(id: string): Promise<Promotion | undefined> {
    const json = await this.kv.hget(this.key(id), 'json');
    return json ? (JSON.parse(json) as Promotion) : undefined;
  }

  async require(id: string): Promise<Promotion> {
    const p = await this.get(id);
    if (!p) throw new PipelineError('unrecoverable', `No promotion "${id}"; 'conduitwatch rules status' lists them.`, { id, status: 404 });
    return p;
  }

  /** Newest first. */
  async list(limit = 100): Promise<Promotion[]> {
    const ids = await this.kv.zrevrange(this.indexKey, 0, limit - 1);
    const out: Promotion[] = [];
    for (const id of ids) {
      const p = await this.get(id);
      if (p) out.push(p);
    }
    return out;
  }

  /** The promotion in flight on `conduit`, if any. */
  async inFlight(conduit: string): Promise<string | undefined> {
    return (await this.kv.get(this.conduitKey(conduit))) ?? undefined;
  }

  /**
   * Read-modify-write with compare-and-set: `fn` gets the current record and returns the next one
   * (or undefined to leave it). A lost race re-reads and calls `fn` again. A state change must be
   * an allowed move (promotion.ts); reaching a terminal state frees the conduit.
   */
  async update(id: string, fn: (p: Promotion) => Promotion | undefined, o: { acquire?: boolean } = {}): Promise<{ promotion: Promotion; changed: boolean }> {
    for (let i = 0; i < 50; i++) {
      const cur = await this.require(id);
      const next = fn(structuredClone(cur));
      if (!next) return { promotion: cur, changed: false };
      if (next.state !== cur.state && !canMove(cur.state, next.state)) {
        throw new PipelineError('unrecoverable', `Promotion ${id} cannot go from ${cur.state} to ${next.state}.`, { id, from: cur.state, to: next.state, status: 409 });
      }
      const rec = { ...next, version: cur.version + 1 };
      const r = String(await this.kv.eval(UPDATE, [this.key(id), this.conduitKey(cur.conduit)], [
        cur.version, rec.version, rec.state, JSON.stringify(rec), id, TERMINAL.has(rec.state) ? '1' : '0', o.acquire ? '1' : '0',
      ]));
      if (r === 'ok') return { promotion: rec, changed: true };
      if (r.startsWith('busy:')) {
        throw new PipelineError('unrecoverable', `Conduit ${cur.conduit} has promotion ${r.slice(5)} in flight; wait for it to end or abort it.`, { id, holder: r.slice(5), status: 409 });
      }
    }
    throw new PipelineError('write_rejected', `Promotion ${id} kept changing under 50 writes; try again.`);
  }
}

/** Adds a history line and moves to `state`. */
export const moveTo = (p: Promotion, state: State, actor: string, at: number, note?: string): Promotion => ({
  ...p, state, history: [...p.history, { at, state, actor, ...(note ? { note } : {}) }],
});
