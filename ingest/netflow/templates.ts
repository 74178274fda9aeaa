/**
 * The template store: templates keyed by (exporter transport session = source ip:port, observation
 * domain / source id, template id), as RFC 7011 §8 and RFC 3954 §5.2 scope them. Two exporters, or
 * two domains of one exporter, may use the same template id for different layouts
 * (the "template conflicts" class of bugs in other collectors).
 *
 * Over UDP (RFC 7011 §8.4): templates are re-sent periodically, and a template not refreshed within
 * `lifetimeMs` expires (read from the injected clock). Withdrawals are not honoured over UDP; the
 * decoders count and ignore them, which also blocks a spoofed cache wipe.
 *
 * Bounded: at most `maxPerDomain` templates per (session, domain), `maxPerSession` per session and
 * `maxTotal` overall. When full, the least recently used template of that scope is evicted.
 */
import type { Clock } from '../../core/clock.ts';
import type { Template } from './data.ts';

/** Template cache limits. */
export interface TemplateStoreOptions {
  /** Templates not refreshed within this many ms expire (RFC 6728 default template lifetime 1800 s). */
  lifetimeMs: number;
  maxPerDomain: number;
  maxPerSession: number;
  maxTotal: number;
}

export const DEFAULT_TEMPLATE_STORE_OPTIONS: TemplateStoreOptions = {
  lifetimeMs: 1_800_000,
  maxPerDomain: 1024,
  maxPerSession: 4096,
  maxTotal: 65_536,
};

/** A stored template and when it was last (re)sent. */
interface Entry {
  t: Template;
  refreshedAt: number;
}

/** What `put` did. */
export interface PutOutcome {
  kind: 'new' | 'refreshed' | 'changed';
  /** Templates evicted to make room. */
  evicted: number;
}

type Domains = Map<number, Map<number, Entry>>;

export class TemplateStore {
  /** session → domain → template id → entry; every level in least-recently-used-first order. */
  private readonly sessions = new Map<string, Domains>();
  private readonly perSession = new Map<string, number>();
  private total = 0;
  readonly options: TemplateStoreOptions;

  constructor(private readonly clock: Clock, options: Partial<TemplateStoreOptions> = {}) {
    this.options = { ...DEFAULT_TEMPLATE_STORE_OPTIONS, ...options };
  }

  /** Templates held. */
  get size(): number {
    return this.total;
  }

  /** Stores or refreshes a template. */
  put(session: string, domain: number, t: Template): PutOutcome {
    const now = this.clock.now();
    const old = this.sessions.get(session)?.get(domain)?.get(t.id);
    let evicted = 0;
    if (!old) {
      const existing = this.sessions.get(session);
      const inDomain = existing?.get(domain)?.size ?? 0;
      if (existing && inDomain >= this.options.maxPerDomain) evicted += this.evictFrom(session, existing, domain);
      const again = this.sessions.get(session);
      if (again && this.sessionSize(session) >= this.options.maxPerSession) evicted += this.evictOldestDomain(session, again);
      if (this.total >= this.options.maxTotal) evicted += this.evictOldestSession(session);
    }
    const domains = this.touchSession(session);
    let ids = domains.get(domain);
    if (ids) { domains.delete(domain); domains.set(domain, ids); } else domains.set(domain, (ids = new Map()));
    ids.delete(t.id);
    ids.set(t.id, { t, refreshedAt: now });
    if (old) return { kind: old.t.signature === t.signature ? 'refreshed' : 'changed', evicted: 0 };
    this.perSession.set(session, this.sessionSize(session) + 1);
    this.total++;
    return { kind: 'new', evicted };
  }

  /** The template, `'expired'` when it outlived its lifetime (and is now dropped), or undefined. */
  get(session: string, domain: number, id: number): Template | 'expired' | undefined {
    const ids = this.sessions.get(session)?.get(domain);
    const e = ids?.get(id);
    if (!e || !ids) return undefined;
    if (this.clock.now() - e.refreshedAt > this.options.lifetimeMs) {
      this.remove(session, domain, id);
      return 'expired';
    }
    return e.t;
  }

  /** The stored template, expired or not, without touching its age or LRU position. */
  peek(session: string, domain: number, id: number): Template | undefined {
    return this.sessions.get(session)?.get(domain)?.get(id)?.t;
  }

  /** Drops every expired template; returns how many. */
  sweep(): number {
    const now = this.clock.now();
    let n = 0;
    for (const [session, domains] of [...this.sessions]) {
      for (const [domain, ids] of [...domains]) {
        for (const [id, e] of [...ids]) {
          if (now - e.refreshedAt > this.options.lifetimeMs) { this.remove(session, domain, id); n++; }
        }
      }
    }
    return n;
  }

  /** Templates held for one session (all domains). */
  sessionSize(session: string): number {
    return this.perSession.get(session) ?? 0;
  }

  private touchSession(session: string): Domains {
    let domains = this.sessions.get(session);
    if (domains) { this.sessions.delete(session); this.sessions.set(session, domains); } else {
      this.sessions.set(session, (domains = new Map()));
    }
    return domains;
  }

  private remove(session: string, domain: number, id: number): void {
    const domains = this.sessions.get(session);
    const ids = domains?.get(domain);
    if (!domains || !ids?.delete(id)) return;
    this.total--;
    const left = (this.perSession.get(session) ?? 1) - 1;
    if (ids.size === 0) domains.delete(domain);
    if (left <= 0) { this.perSession.delete(session); this.sessions.delete(session); } else this.perSession.set(session, left);
  }

  private evictFrom(session: string, domains: Domains, domain: number): number {
    const first = domains.get(domain)?.keys().next();
    if (!first || first.done) return 0;
    this.remove(session, domain, first.value);
    return 1;
  }

  private evictOldestDomain(session: string, domains: Domains): number {
    for (const [domain, ids] of domains) if (ids.size > 0) return this.evictFrom(session, domains, domain);
    return 0;
  }

  private evictOldestSession(current: string): number {
    for (const [session, domains] of this.sessions) {
      // Prefer another exporter's oldest template; fall back to our own when we are alone.
      if (session === current && this.sessions.size > 1) continue;
      return this.evictOldestDomain(session, domains);
    }
    return 0;
  }
}
