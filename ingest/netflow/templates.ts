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
 * Bounded, with quotas per exporter so one exporter's flood cannot evict another's templates:
 *   - `maxPerDomain` per (session, domain) and `maxPerSession` per session: a full scope evicts its own
 *     least recently used template;
 *   - `maxPerExporter` per exporter address (all its source ports: the session key is `ip|port`): a
 *     full exporter evicts from its own biggest session — a flood from many source ports of one host
 *     evicts the flooding sessions' templates, not those of a real exporter on the same host that
 *     holds a handful;
 *   - `maxTotal` overall: evicts from the biggest session of the exporter holding the most templates.
 * An exporter that keeps within its quota (a real one holds a few templates per domain) is never
 * evicted by another one filling the cache; a flood from many spoofed addresses is what the
 * collector's exporter allow-list is for.
 */
import type { Clock } from '../../core/clock.ts';
import type { Template } from './data.ts';

/** Template cache limits. */
export interface TemplateStoreOptions {
  /** Templates not refreshed within this many ms expire (RFC 6728 default template lifetime 1800 s). */
  lifetimeMs: number;
  maxPerDomain: number;
  maxPerSession: number;
  /** Per exporter address, over all its sessions (source ports). */
  maxPerExporter: number;
  maxTotal: number;
}

export const DEFAULT_TEMPLATE_STORE_OPTIONS: TemplateStoreOptions = {
  lifetimeMs: 1_800_000,
  maxPerDomain: 1024,
  maxPerSession: 4096,
  maxPerExporter: 8192,
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
  /** exporter address → its sessions holding templates; and its template count. */
  private readonly exporterSessions = new Map<string, Set<string>>();
  private readonly perExporter = new Map<string, number>();
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
      const exporter = exporterOf(session);
      if ((this.perExporter.get(exporter) ?? 0) >= this.options.maxPerExporter) evicted += this.evictBiggestSession(exporter);
      if (this.total >= this.options.maxTotal) evicted += this.evictBiggestSession(this.biggestExporter());
    }
    const domains = this.touchSession(session);
    let ids = domains.get(domain);
    if (ids) { domains.delete(domain); domains.set(domain, ids); } else domains.set(domain, (ids = new Map()));
    ids.delete(t.id);
    ids.set(t.id, { t, refreshedAt: now });
    if (old) return { kind: old.t.signature === t.signature ? 'refreshed' : 'changed', evicted: 0 };
    this.perSession.set(session, this.sessionSize(session) + 1);
    const exporter = exporterOf(session);
    this.perExporter.set(exporter, (this.perExporter.get(exporter) ?? 0) + 1);
    let set = this.exporterSessions.get(exporter);
    if (!set) this.exporterSessions.set(exporter, (set = new Set()));
    set.add(session);
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

  /** Templates held for one exporter address (all its sessions). */
  exporterSize(exporter: string): number {
    return this.perExporter.get(exporter) ?? 0;
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
    const exporter = exporterOf(session);
    const held = (this.perExporter.get(exporter) ?? 1) - 1;
    if (held <= 0) { this.perExporter.delete(exporter); this.exporterSessions.delete(exporter); } else this.perExporter.set(exporter, held);
    if (left <= 0) {
      this.perSession.delete(session);
      this.sessions.delete(session);
      this.exporterSessions.get(exporter)?.delete(session);
    } else this.perSession.set(session, left);
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

  /** The exporter address holding the most templates (first such in insertion order). */
  private biggestExporter(): string {
    let best = '';
    let most = -1;
    for (const [exporter, n] of this.perExporter) if (n > most) { most = n; best = exporter; }
    return best;
  }

  /** Evicts the least recently used template of `exporter`'s session holding the most templates. */
  private evictBiggestSession(exporter: string): number {
    let best: string | undefined;
    let most = -1;
    for (const session of this.exporterSessions.get(exporter) ?? []) {
      const n = this.sessionSize(session);
      if (n > most) { most = n; best = session; }
    }
    const domains = best === undefined ? undefined : this.sessions.get(best);
    return domains ? this.evictOldestDomain(best!, domains) : 0;
  }
}

/** The exporter address of a session key `ip|port` (a key without a port is its own exporter). */
export const exporterOf = (session: string): string => {
  const bar = session.lastIndexOf('|');
  return bar < 0 ? session : session.slice(0, bar);
};
