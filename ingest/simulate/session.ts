/**
 * The actors that put packets on the simulated wire. Each actor knows the event time of its next
 * packet (`t`, epoch µs) and writes exactly one packet per `step`; the simulator always steps the
 * actor with the earliest `t`, so the capture comes out in time order.
 *
 * A `ModbusSession` is one long-lived Modbus/TCP connection the way a real master keeps it:
 *
 *   client                      server
 *   SYN (MSS 1460)        →
 *                         ←     SYN-ACK (MSS 1460)
 *   ACK                   →
 *   PSH,ACK request       →                      ┐ one exchange per poll; the server's
 *                         ←     PSH,ACK response │ response carries the ACK of the request,
 *   ACK                   →                      ┘ the client acknowledges it at once
 *   …
 *   FIN,ACK               →
 *                         ←     FIN,ACK
 *   ACK                   →
 *
 * One request is outstanding at a time (a poll that falls due during an exchange waits for it).
 */
import { ProcessImage, writeRequest, writeResponse, responseLength, FC, type Request } from './modbus.ts';
import { ACK, FIN, half, PSH, RST, SYN, type Half, type PcapWriter } from './pcap-writer.ts';
import { intIn, jitter, type Rng } from './prng.ts';
import type { Host, Plc } from './plant.ts';

/** Something that writes packets in event-time order. */
export interface Actor {
  /** Event time of the next packet, epoch µs; `Infinity` when done. */
  t: number;
  /** Tie-break for equal `t`, so the order never depends on heap internals. */
  readonly id: number;
  step(w: PcapWriter): void;
}

/** Counters shared by every actor of one run. */
export interface SimStats {
  /** Modbus ADUs written (requests + responses): one per frame that carries Modbus. */
  modbusPdus: number;
}

/** One poll or write schedule inside a session. */
export interface LoopSpec {
  /** Requests sent in turn, one per due time. */
  requests: Request[];
  periodMs: number;
  jitterMs: number;
  /** Offset of the first poll after the handshake. */
  phaseMs: number;
  /** When given, a poll whose due time (µs) it rejects is skipped. */
  active?: (dueUs: number) => boolean;
  /** When given, the gap (µs) after a poll nominally at `nominalUs`; otherwise `periodMs`. */
  periodAt?: (nominalUs: number) => number;
}

interface Loop {
  spec: LoopSpec;
  periodUs: number;
  jitterUs: number;
  nominal: number;
  due: number;
  next: number;
}

export interface SessionSpec {
  id: number;
  client: Host;
  server: Plc;
  clientPort: number;
  /** SYN time, epoch µs. */
  openAt: number;
  /** No poll starts at or after this time; the FIN follows. Epoch µs. */
  closeAt: number;
  loops: LoopSpec[];
  rng: Rng;
  stats: SimStats;
}

const enum Phase { Syn, SynAck, HsAck, Req, Resp, Ack, Fin1, Fin2, Fin3, Done }

/** Extra time a PLC takes to commit written registers (µs): single writes vs block writes. */
const writeCostUs = (fc: number): number =>
  fc === FC.writeMultipleRegisters || fc === FC.writeFileRecord ? 12_000 : fc === FC.writeSingleCoil || fc === FC.writeSingleRegister ? 1_500 : 0;

/** One long-lived Modbus/TCP connection from `client` to `server`:502. */
export class ModbusSession implements Actor {
  t: number;
  readonly id: number;
  private phase = Phase.Syn;
  private readonly c: Half;
  private readonly s: Half;
  private cSeq: number;
  private sSeq: number;
  private tid: number;
  private readonly loops: Loop[];
  private current: Loop | undefined;
  private readonly req = Buffer.alloc(264);
  private reqLen = 0;
  private readonly img: ProcessImage;

  constructor(private readonly spec: SessionSpec) {
    const r = spec.rng;
    this.id = spec.id;
    this.t = spec.openAt;
    this.c = half(spec.client.ip, spec.clientPort, spec.server.ip, 502, { ttl: spec.client.ttl, window: 64_240, ipId: intIn(r, 0, 0xffff) });
    this.s = half(spec.server.ip, 502, spec.client.ip, spec.clientPort, { ttl: spec.server.ttl, window: 8_192, ipId: intIn(r, 0, 0xffff) });
    this.cSeq = intIn(r, 0, 0xffffffff);
    this.sSeq = intIn(r, 0, 0xffffffff);
    this.tid = intIn(r, 0, 0xffff);
    this.img = new ProcessImage(r);
    const first = spec.openAt + 5_000;
    this.loops = spec.loops.map((l) => {
      const loop: Loop = { spec: l, periodUs: Math.round(l.periodMs * 1000), jitterUs: Math.round(l.jitterMs * 1000), nominal: first + Math.round(l.phaseMs * 1000), due: 0, next: 0 };
      loop.due = loop.nominal + jitter(r, loop.jitterUs);
      this.skipInactive(loop);
      return loop;
    });
  }

  step(w: PcapWriter): void {
    const r = this.spec.rng;
    switch (this.phase) {
      case Phase.Syn:
        w.bare(this.t, this.c, SYN, this.cSeq, 0, 1460);
        this.cSeq = (this.cSeq + 1) >>> 0;
        this.phase = Phase.SynAck;
        this.t += intIn(r, 200, 600);
        return;
      case Phase.SynAck:
        w.bare(this.t, this.s, SYN | ACK, this.sSeq, this.cSeq, 1460);
        this.sSeq = (this.sSeq + 1) >>> 0;
        this.phase = Phase.HsAck;
        this.t += intIn(r, 80, 200);
        return;
      case Phase.HsAck:
        w.bare(this.t, this.c, ACK, this.cSeq, this.sSeq);
        this.schedule();
        return;
      case Phase.Req: {
        const q = this.current!.spec.requests[this.current!.next]!;
        this.reqLen = writeRequest(this.req, this.tid, q, r);
        this.tid = (this.tid + 1) & 0xffff;
        const off = w.begin(this.t, this.c, PSH | ACK, this.cSeq, this.sSeq, this.reqLen);
        this.req.copy(w.buf, off, 0, this.reqLen);
        w.commit();
        this.cSeq = (this.cSeq + this.reqLen) >>> 0;
        this.spec.stats.modbusPdus += 1;
        this.phase = Phase.Resp;
        const base = this.spec.server.responseUs;
        this.t += base + intIn(r, -base / 4, base / 4) + writeCostUs(q.fc);
        return;
      }
      case Phase.Resp: {
        const q = this.current!.spec.requests[this.current!.next]!;
        const len = responseLength(q, this.reqLen);
        const off = w.begin(this.t, this.s, PSH | ACK, this.sSeq, this.cSeq, len);
        writeResponse(w.buf, off, this.req, this.reqLen, q, this.img);
        w.commit();
        this.sSeq = (this.sSeq + len) >>> 0;
        this.spec.stats.modbusPdus += 1;
        this.phase = Phase.Ack;
        this.t += intIn(r, 120, 400);
        return;
      }
      case Phase.Ack: {
        w.bare(this.t, this.c, ACK, this.cSeq, this.sSeq);
        const l = this.current!;
        l.next = (l.next + 1) % l.spec.requests.length;
        this.advance(l);
        this.schedule();
        return;
      }
      case Phase.Fin1:
        w.bare(this.t, this.c, FIN | ACK, this.cSeq, this.sSeq);
        this.cSeq = (this.cSeq + 1) >>> 0;
        this.phase = Phase.Fin2;
        this.t += intIn(r, 300, 800);
        return;
      case Phase.Fin2:
        w.bare(this.t, this.s, FIN | ACK, this.sSeq, this.cSeq);
        this.sSeq = (this.sSeq + 1) >>> 0;
        this.phase = Phase.Fin3;
        this.t += intIn(r, 100, 200);
        return;
      case Phase.Fin3:
        w.bare(this.t, this.c, ACK, this.cSeq, this.sSeq);
        this.phase = Phase.Done;
        this.t = Infinity;
        return;
      default:
        this.t = Infinity;
    }
  }

  /** Picks the loop due first; sends its request once the connection is free, or closes. */
  private schedule(): void {
    let best: Loop | undefined;
    for (const l of this.loops) if (l.due < this.spec.closeAt && (!best || l.due < best.due)) best = l;
    const free = this.t + 1_000;
    if (!best) {
      this.phase = Phase.Fin1;
      this.t = Math.max(this.spec.closeAt, free);
    } else {
      this.current = best;
      this.phase = Phase.Req;
      this.t = Math.max(best.due, free);
    }
  }

  private advance(l: Loop): void {
    l.nominal += l.spec.periodAt ? l.spec.periodAt(l.nominal) : l.periodUs;
    l.due = l.nominal + jitter(this.spec.rng, l.jitterUs);
    this.skipInactive(l);
  }

  private skipInactive(l: Loop): void {
    const active = l.spec.active;
    if (!active) return;
    while (l.due < this.spec.closeAt && !active(l.due)) {
      l.nominal += l.spec.periodAt ? l.spec.periodAt(l.nominal) : l.periodUs;
      l.due = l.nominal + jitter(this.spec.rng, l.jitterUs);
    }
  }
}

/** One bare segment of a scripted exchange. */
export interface ScriptedSegment {
  t: number;
  h: Half;
  flags: number;
  seq: number;
  ack: number;
  mss: number;
}

/** Replays a precomputed, time-ordered list of bare segments (used for the scan). */
export class ScriptActor implements Actor {
  t: number;
  private i = 0;
  constructor(readonly id: number, private readonly segs: ScriptedSegment[]) {
    this.t = segs[0]?.t ?? Infinity;
  }

  step(w: PcapWriter): void {
    const s = this.segs[this.i++]!;
    w.bare(s.t, s.h, s.flags, s.seq, s.ack, s.mss);
    this.t = this.segs[this.i]?.t ?? Infinity;
  }
}

/**
 * A SYN scan probe the way nmap -sS sends one: SYN; an open port answers SYN-ACK and the scanner
 * resets; a closed port answers RST-ACK.
 */
export const synProbe = (scanner: Host, srcPort: number, target: Plc, port: number, open: boolean, t: number, r: Rng): ScriptedSegment[] => {
  const c = half(scanner.ip, srcPort, target.ip, port, { ttl: scanner.ttl, window: 1_024, ipId: intIn(r, 0, 0xffff) });
  const s = half(target.ip, port, scanner.ip, srcPort, { ttl: target.ttl, window: open ? 8_192 : 0, ipId: intIn(r, 0, 0xffff) });
  const isn = intIn(r, 0, 0xffffffff);
  const syn: ScriptedSegment = { t, h: c, flags: SYN, seq: isn, ack: 0, mss: 1460 };
  const t2 = t + intIn(r, 200, 900);
  if (!open) return [syn, { t: t2, h: s, flags: RST | ACK, seq: 0, ack: (isn + 1) >>> 0, mss: 0 }];
  const sisn = intIn(r, 0, 0xffffffff);
  return [
    syn,
    { t: t2, h: s, flags: SYN | ACK, seq: sisn, ack: (isn + 1) >>> 0, mss: 1460 },
    { t: t2 + intIn(r, 50, 150), h: c, flags: RST, seq: (isn + 1) >>> 0, ack: 0, mss: 0 },
  ];
};
