/**
 * The edge index: every edge the engine has seen gets a small integer, resolved once per flow,
 * and every column of the windows and of every detector model is indexed by it. An edge is
 * (src ip, dst ip, proto, dst port, l7) — `edgeId` in core/records.ts — and belongs to one host
 * pair and, through the pair's zones, to one conduit.
 *
 * Strings that repeat (addresses, l7 names, operation names, the operation sets of connections,
 * conduit ids) are interned once; an edge stores their ids. Lookup: src → dst → pair (two Map
 * reads on the flow's own strings, no key built per flow), then the pair's few edges by
 * (proto, port, l7) — a Map once a pair has many.
 *
 * The pair table also holds what `DetectionEngine` knew as "services each host pair has
 * initiated, site-wide" (novelty's reverse-direction hint): an edge's service is registered on
 * its pair when a window holding the edge closes, at most `PAIR_SERVICES_MAX` per pair, in the
 * same order as before (closed windows, conduits by name, edges by first flow).
 */
import { edgeId, protoName, type EdgeKey } from '../core/records.ts';
import { colFromJson, colToJson, grow, type NumJSON } from './columns.ts';

/** Most services registered per host pair for the reverse-direction hint. */
export const PAIR_SERVICES_MAX = 64;

/** Above this many edges a pair looks its edges up in a Map instead of walking them. */
const PAIR_WALK_MAX = 32;

/** String ↔ small integer, in first-seen order. */
export class Interner {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();
  /** The last string looked up and its id: runs of flows from one poller or with one l7 skip the Map. */
  private last = '';
  private lastId = -1;
  constructor(seed: readonly string[] = []) {
    for (const s of seed) this.id(s);
  }
  id(s: string): number {
    if (s === this.last && this.lastId >= 0) return this.lastId;
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.ids.set(s, i);
    }
    this.last = s;
    this.lastId = i;
    return i;
  }
  /** The id of `s`, or -1 when it was never interned. */
  find(s: string): number {
    return this.ids.get(s) ?? -1;
  }
  get size(): number {
    return this.list.length;
  }
}

/** Plain-data state of an `EdgeTable`. */
export interface EdgeTableJSON {
  ips: string[];
  l7s: string[];
  ops: string[];
  sigs: string[];
  conduits: string[];
  pairs: { src: NumJSON[]; dst: NumJSON[] };
  edges: { pair: NumJSON[]; proto: NumJSON[]; port: NumJSON[]; l7: NumJSON[]; firstWindow: NumJSON[]; registered: NumJSON[]; ephemeral: NumJSON[]; portLo: NumJSON[]; portHi: NumJSON[] };
  /** Dynamic port ranges the table folded. */
  ephemeralPorts: [number, number][];
}

export class EdgeTable {
  readonly ips = new Interner();
  /** l7 names; id 0 is '' (no l7). */
  readonly l7s = new Interner(['']);
  /** Operation names (l7Ops keys), for per-edge op sets. */
  readonly ops = new Interner();
  /** Connection signatures: a SYN connection's sorted op names joined by '+'; id 0 is ''. */
  readonly sigs = new Interner(['']);
  readonly conduits = new Interner();

  // Pairs.
  pairCount = 0;
  pairSrc = new Int32Array(16);
  pairDst = new Int32Array(16);
  pairConduit = new Int32Array(16);
  /** First edge of the pair (then `nextInPair`), -1 when none. */
  pairFirst = new Int32Array(16).fill(-1);
  pairEdges = new Int32Array(16);
  /** Registered services of the pair (the reverse-direction hint), and the first of them (then `regNext`). */
  pairRegCount = new Int32Array(16);
  pairRegFirst = new Int32Array(16).fill(-1);
  /** Open-addressing table (src id, dst id) → pair, -1 = empty; size a power of two, at most half full. */
  private pairSlots = new Int32Array(64).fill(-1);
  /** Pairs with more than PAIR_WALK_MAX edges: (l7, proto, port) code → edge. */
  private readonly bigPairs = new Map<number, Map<number, number>>();

  // Edges.
  count = 0;
  pair = new Int32Array(16);
  proto = new Int32Array(16);
  port = new Int32Array(16);
  l7 = new Int32Array(16);
  nextInPair = new Int32Array(16);
  /** Start of the earliest window that holds a flow of the edge; Infinity before any. */
  firstWindow = new Float64Array(16).fill(Infinity);
  registered = new Uint8Array(16);
  regNext = new Int32Array(16);
  /** Ephemeral edges (port 0 standing for dynamic ports) and the range of ports seen on them. */
  ephem = new Uint8Array(16);
  portLo = new Int32Array(16);
  portHi = new Int32Array(16);

  // Conduits: their edges in creation order.
  private conduitEdges: Int32Array[] = [];
  private conduitEdgeCount: number[] = [];

  /**
   * `ephemeral`: port ranges of dynamic services (`detection.ephemeralPorts`). A TCP or UDP server
   * port in them is not its own edge: every such port of a host pair (and l7) is one edge with
   * port 0, "tcp/ephemeral", whose range seen is kept (`portLo`, `portHi`, widened by `seePorts`
   * as windows close, so an explanation shows the range as of its window).
   */
  constructor(private readonly conduitOf: (srcIp: string, dstIp: string) => string, private readonly ephemeral: readonly (readonly [number, number])[] = []) {}

  /** Whether a server port of `proto` is a dynamic one (see the constructor). */
  isEphemeral(proto: number, port: number): boolean {
    if (proto !== 6 && proto !== 17) return false;
    const r = this.ephemeral;
    for (let i = 0; i < r.length; i += 1) if (port >= r[i]![0] && port <= r[i]![1]) return true;
    return false;
  }

  private slotFor(src: number, dst: number): number {
    const mask = this.pairSlots.length - 1;
    let i = (Math.imul(src, 0x9e3779b1) ^ Math.imul(dst + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
    for (;;) {
      i &= mask;
      const p = this.pairSlots[i]!;
      if (p < 0 || (this.pairSrc[p] === src && this.pairDst[p] === dst)) return i;
      i += 1;
    }
  }

  /** The pair of two addresses, created on first sight. */
  pairOf(srcIp: string, dstIp: string): number {
    if (srcIp === this.lastSrc && dstIp === this.lastDst) return this.lastPair;
    const src = srcIp === this.lastSrc ? this.lastSrcId : this.ips.id(srcIp);
    const dst = dstIp === this.lastDst ? this.lastDstId : this.ips.id(dstIp);
    const i = this.slotFor(src, dst);
    let p = this.pairSlots[i]!;
    if (p < 0) {
      p = this.pairCount;
      this.newPair(p, src, dst);
      this.pairSlots[i] = p;
      if (2 * this.pairCount > this.pairSlots.length) this.rehash();
    }
    this.lastSrc = srcIp;
    this.lastSrcId = src;
    this.lastDst = dstIp;
    this.lastDstId = dst;
    this.lastPair = p;
    return p;
  }

  // The last pair looked up (a poller's flows often come in runs).
  private lastSrc = '';
  private lastSrcId = -1;
  private lastDst = '';
  private lastDstId = -1;
  private lastPair = -1;

  private rehash(): void {
    this.pairSlots = new Int32Array(this.pairSlots.length * 2).fill(-1);
    for (let p = 0; p < this.pairCount; p += 1) this.pairSlots[this.slotFor(this.pairSrc[p]!, this.pairDst[p]!)] = p;
  }

  private pairCap = 16;

  private newPair(p: number, src: number, dst: number): void {
    const n = p + 1;
    if (n > this.pairCap) {
      this.pairSrc = grow(this.pairSrc, n);
      this.pairDst = grow(this.pairDst, n);
      this.pairConduit = grow(this.pairConduit, n);
      this.pairFirst = grow(this.pairFirst, n, -1);
      this.pairEdges = grow(this.pairEdges, n);
      this.pairRegCount = grow(this.pairRegCount, n);
      this.pairRegFirst = grow(this.pairRegFirst, n, -1);
      this.pairCap = this.pairSrc.length;
    }
    this.pairSrc[p] = src;
    this.pairDst[p] = dst;
    const c = this.conduits.id(this.conduitOf(this.ips.list[src]!, this.ips.list[dst]!));
    while (this.conduitEdges.length <= c) { this.conduitEdges.push(new Int32Array(16)); this.conduitEdgeCount.push(0); }
    this.pairConduit[p] = c;
    this.pairCount = n;
  }

  /** The pair of two addresses, or -1 when they never talked in this direction. */
  findPair(srcIp: string, dstIp: string): number {
    const src = this.ips.find(srcIp);
    const dst = this.ips.find(dstIp);
    if (src < 0 || dst < 0) return -1;
    return this.pairSlots[this.slotFor(src, dst)]!;
  }

  /**
   * The edge of a flow (pair, proto, server port, l7 id), created on first sight; a dynamic
   * port is folded into the pair's ephemeral edge and widens its range.
   */
  flowEdge(p: number, proto: number, port: number, l7: number): number {
    if (this.ephemeral.length === 0 || !this.isEphemeral(proto, port)) return this.edgeOf(p, proto, port, l7);
    const e = this.edgeOf(p, proto, 0, l7);
    if (this.ephem[e] === 0) { this.ephem[e] = 1; this.portLo[e] = 65_536; this.portHi[e] = -1; }
    return e;
  }

  /** Widens an ephemeral edge's range seen by the ports of a window that closed. */
  seePorts(e: number, lo: number, hi: number): void {
    if (this.ephem[e] !== 1) return;
    if (lo < this.portLo[e]!) this.portLo[e] = lo;
    if (hi > this.portHi[e]!) this.portHi[e] = hi;
  }

  /** The edge (pair, proto, port, l7 id), created on first sight. */
  edgeOf(p: number, proto: number, port: number, l7: number): number {
    // Only a pair past PAIR_WALK_MAX edges has a Map: the others skip the lookup.
    const big = this.pairEdges[p]! > PAIR_WALK_MAX ? this.bigPairs.get(p) : undefined;
    const code = (l7 * 256 + (proto & 255)) * 65_536 + (port & 65_535);
    if (big) {
      const e = big.get(code);
      if (e !== undefined && this.proto[e] === proto && this.port[e] === port) return e;
      if (e === undefined) return this.newEdge(p, proto, port, l7, code);
    }
    for (let e = this.pairFirst[p]!; e >= 0; e = this.nextInPair[e]!) {
      if (this.port[e] === port && this.proto[e] === proto && this.l7[e] === l7) return e;
    }
    return this.newEdge(p, proto, port, l7, code);
  }

  /** Edge columns hold this many edges before they grow. */
  private cap = 16;

  private growEdges(need: number): void {
    this.pair = grow(this.pair, need);
    this.proto = grow(this.proto, need);
    this.port = grow(this.port, need);
    this.l7 = grow(this.l7, need);
    this.nextInPair = grow(this.nextInPair, need);
    this.firstWindow = grow(this.firstWindow, need, Infinity);
    this.registered = grow(this.registered, need);
    this.regNext = grow(this.regNext, need);
    this.ephem = grow(this.ephem, need);
    this.portLo = grow(this.portLo, need);
    this.portHi = grow(this.portHi, need);
    this.cap = Math.min(this.pair.length, this.proto.length, this.port.length, this.l7.length, this.nextInPair.length, this.firstWindow.length, this.registered.length, this.regNext.length, this.ephem.length, this.portLo.length, this.portHi.length);
  }

  private newEdge(p: number, proto: number, port: number, l7: number, code: number): number {
    const e = this.count;
    const n = e + 1;
    if (n > this.cap) this.growEdges(n);
    this.pair[e] = p;
    this.proto[e] = proto;
    this.port[e] = port;
    this.l7[e] = l7;
    // Appended at the pair's tail, so a pair's edges stay in creation order.
    this.nextInPair[e] = -1;
    if (this.pairFirst[p] === -1) this.pairFirst[p] = e;
    else {
      let t = this.pairFirst[p]!;
      while (this.nextInPair[t]! >= 0) t = this.nextInPair[t]!;
      this.nextInPair[t] = e;
    }
    this.pairEdges[p] = this.pairEdges[p]! + 1;
    const c = this.pairConduit[p]!;
    const k = this.conduitEdgeCount[c]!;
    this.conduitEdges[c] = grow(this.conduitEdges[c]!, k + 1);
    this.conduitEdges[c]![k] = e;
    this.conduitEdgeCount[c] = k + 1;
    this.count = n;
    const big = this.bigPairs.get(p);
    if (big) {
      if (!big.has(code)) big.set(code, e);
    } else if (this.pairEdges[p]! > PAIR_WALK_MAX) {
      const m = new Map<number, number>();
      for (let x = this.pairFirst[p]!; x >= 0; x = this.nextInPair[x]!) {
        const cx = (this.l7[x]! * 256 + (this.proto[x]! & 255)) * 65_536 + (this.port[x]! & 65_535);
        if (!m.has(cx)) m.set(cx, x);
      }
      this.bigPairs.set(p, m);
    }
    return e;
  }

  /** The edge's id (`edgeId`), built when asked: only emitted findings need it. */
  idOf(e: number): string {
    return edgeId(this.key(e));
  }

  conduitOfEdge(e: number): number {
    return this.pairConduit[this.pair[e]!]!;
  }

  src(e: number): string {
    return this.ips.list[this.pairSrc[this.pair[e]!]!]!;
  }

  dst(e: number): string {
    return this.ips.list[this.pairDst[this.pair[e]!]!]!;
  }

  l7Name(e: number): string {
    return this.l7s.list[this.l7[e]!]!;
  }

  key(e: number): EdgeKey {
    return { src: this.src(e), dst: this.dst(e), proto: this.proto[e]!, dstPort: this.port[e]!, l7: this.l7Name(e) };
  }

  /** The conduit's edges in creation order (a view; valid until the next edge is added) and how many. */
  edgesOf(c: number): { list: Int32Array; count: number } {
    return { list: this.conduitEdges[c] ?? new Int32Array(0), count: this.conduitEdgeCount[c] ?? 0 };
  }

  /** Registers the edge's service on its pair (see the file comment). */
  register(e: number): void {
    if (this.registered[e] === 1) return;
    const p = this.pair[e]!;
    if (this.pairRegCount[p]! >= PAIR_SERVICES_MAX) return;
    this.registered[e] = 1;
    this.regNext[e] = this.pairRegFirst[p]!;
    this.pairRegFirst[p] = e;
    this.pairRegCount[p] = this.pairRegCount[p]! + 1;
  }

  /** The service text the engine registers: 'tcp/502 modbus', '1/0', 'tcp/ephemeral'. */
  serviceText(e: number): string {
    const proto = this.proto[e]!;
    const l7 = this.l7Name(e);
    return `${proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto}/${this.portLabel(e)}${l7 ? ` ${l7}` : ''}`;
  }

  /** The server port as text: '502', or 'ephemeral' for the dynamic-port edge. */
  portLabel(e: number): string {
    return this.ephem[e] === 1 ? 'ephemeral' : String(this.port[e]);
  }

  /** The range of dynamic ports seen on an ephemeral edge, '50123–50200'; '' for other edges. */
  portRange(e: number): string {
    if (this.ephem[e] !== 1) return '';
    return this.portLo[e] === this.portHi[e] ? `${this.portLo[e]}` : `${this.portLo[e]}–${this.portHi[e]}`;
  }

  /** The server side as 'host:port' ('[v6]:port', 'host:ephemeral'). */
  dstText(e: number): string {
    const dst = this.dst(e);
    return `${dst.includes(':') ? `[${dst}]` : dst}:${this.portLabel(e)}`;
  }

  /** '192.168.1.101 → 192.168.1.102:502 modbus'; an ephemeral edge 'A → B:ephemeral (ports 50123–50200) tcp'. */
  text(e: number): string {
    const range = this.ephem[e] === 1 ? ` (ports ${this.portRange(e)})` : '';
    return `${this.src(e)} → ${this.dstText(e)}${range} ${this.l7Name(e) || protoName(this.proto[e]!)}`;
  }

  /** Novelty's service text: 'tcp/502 modbus', 'tcp/ephemeral'. */
  service(e: number): string {
    const l7 = this.l7Name(e);
    return `${protoName(this.proto[e]!)}/${this.portLabel(e)}${l7 ? ` ${l7}` : ''}`;
  }

  /** Services registered for `src` → `dst` (unsorted), or undefined when none. */
  pairServices(src: string, dst: string): string[] | undefined {
    const p = this.findPair(src, dst);
    if (p < 0 || this.pairRegCount[p] === 0) return undefined;
    const out: string[] = [];
    for (let e = this.pairRegFirst[p]!; e >= 0; e = this.regNext[e]!) out.push(this.serviceText(e));
    return out;
  }

  /** Whether `src` → `dst` has registered services, without listing them. */
  hasPairServices(src: string, dst: string): boolean {
    const p = this.findPair(src, dst);
    return p >= 0 && this.pairRegCount[p]! > 0;
  }

  toJSON(): EdgeTableJSON {
    const n = this.count;
    const regs: NumJSON[] = [];
    // Registration order (newest first in the list) is kept as a rank so a restore rebuilds it.
    const rank = new Int32Array(n).fill(0);
    for (let p = 0; p < this.pairCount; p += 1) {
      let r = this.pairRegCount[p]!;
      for (let e = this.pairRegFirst[p]!; e >= 0; e = this.regNext[e]!) rank[e] = r--;
    }
    for (let e = 0; e < n; e += 1) regs.push(rank[e]!);
    return {
      ephemeralPorts: this.ephemeral.map(([lo, hi]) => [lo, hi]),
      ips: [...this.ips.list], l7s: [...this.l7s.list], ops: [...this.ops.list], sigs: [...this.sigs.list], conduits: [...this.conduits.list],
      pairs: { src: colToJson(this.pairSrc, this.pairCount), dst: colToJson(this.pairDst, this.pairCount) },
      edges: {
        pair: colToJson(this.pair, n), proto: colToJson(this.proto, n), port: colToJson(this.port, n), l7: colToJson(this.l7, n),
        firstWindow: colToJson(this.firstWindow, n), registered: regs,
        ephemeral: colToJson(this.ephem, n), portLo: colToJson(this.portLo, n), portHi: colToJson(this.portHi, n),
      },
    };
  }

  static fromJSON(j: EdgeTableJSON, conduitOf: (srcIp: string, dstIp: string) => string): EdgeTable {
    const t = new EdgeTable(conduitOf, j.ephemeralPorts ?? []);
    for (const s of j.ips) t.ips.id(s);
    for (const s of j.l7s) t.l7s.id(s);
    for (const s of j.ops) t.ops.id(s);
    for (const s of j.sigs) t.sigs.id(s);
    for (const s of j.conduits) t.conduits.id(s);
    const src = colFromJson(Int32Array, j.pairs.src);
    const dst = colFromJson(Int32Array, j.pairs.dst);
    for (let p = 0; p < j.pairs.src.length; p += 1) {
      t.pairOf(t.ips.list[src[p]!]!, t.ips.list[dst[p]!]!);
    }
    const e = j.edges;
    const pair = colFromJson(Int32Array, e.pair);
    const proto = colFromJson(Int32Array, e.proto);
    const port = colFromJson(Int32Array, e.port);
    const l7 = colFromJson(Int32Array, e.l7);
    const first = colFromJson(Float64Array, e.firstWindow);
    const reg = colFromJson(Int32Array, e.registered);
    const eph = colFromJson(Uint8Array, e.ephemeral);
    const lo = colFromJson(Int32Array, e.portLo);
    const hi = colFromJson(Int32Array, e.portHi);
    const order: [number, number][] = [];
    for (let i = 0; i < e.pair.length; i += 1) {
      const x = t.edgeOf(pair[i]!, proto[i]!, port[i]!, l7[i]!);
      t.firstWindow[x] = first[i]!;
      t.ephem[x] = eph[i]!;
      t.portLo[x] = lo[i]!;
      t.portHi[x] = hi[i]!;
      if (reg[i]! > 0) order.push([reg[i]!, x]);
    }
    for (const [, x] of order.sort((a, b) => a[0] - b[0] || a[1] - b[1])) t.register(x);
    return t;
  }
}

/** '192.168.1.101 → 192.168.1.102:502 modbus' for an edge key (novelty's wording, used by every detector). */
export const edgeKeyText = (src: string, dst: string, proto: number, port: number, l7: string): string =>
  `${src} → ${dst.includes(':') ? `[${dst}]:${port}` : `${dst}:${port}`} ${l7 || protoName(proto)}`;
