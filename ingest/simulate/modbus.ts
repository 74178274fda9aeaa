/**
 * Modbus/TCP ADUs the simulator sends (Modbus Application Protocol v1.1b3 §6, Messaging on TCP/IP
 * §3.1.3). Requests are built into a small per-connection scratch buffer (the response needs them
 * after the output buffer may have been flushed); responses are written straight into the output.
 *
 *   off len field        notes
 *   0   2   transaction  echoed by the server
 *   2   2   protocol     0
 *   4   2   length       unit + PDU bytes
 *   6   1   unit         unit id of the PLC
 *   7   1   function     1, 3, 4 reads; 5, 6, 16, 21 writes
 *   8   …   data         per function code, below
 */
import type { Rng } from './prng.ts';

/** Function codes the simulator writes. */
export const FC = {
  readCoils: 1,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleRegisters: 16,
  writeFileRecord: 21,
} as const;

/** Largest register count of FC 3/4 (§6.3) and FC 16 (§6.12) that fits a PDU. */
export const MAX_READ_REGS = 125;
export const MAX_WRITE_REGS = 123;
/** Largest FC 21 record length (registers) in a single sub-request that fits a PDU. */
export const MAX_FILE_RECORD_REGS = 120;

/** What one request asks for. */
export interface Request {
  fc: number;
  unit: number;
  /** Start address (coil, register or record number). */
  addr: number;
  /** Coils or registers read or written (FC 5/6: 1). */
  qty: number;
}

/** The process image one PLC serves: registers drift slowly, coils flip rarely. */
export class ProcessImage {
  readonly regs = new Uint16Array(MAX_READ_REGS);
  readonly coils = new Uint8Array(32);

  constructor(private readonly rng: Rng) {
    for (let i = 0; i < this.regs.length; i++) this.regs[i] = 200 + Math.floor(rng() * 3000);
    for (let i = 0; i < this.coils.length; i++) this.coils[i] = Math.floor(rng() * 256);
  }

  /** Advances the process a little: a random walk on one register and, rarely, a coil flip. */
  tick(): void {
    const r = this.rng;
    const i = Math.floor(r() * this.regs.length);
    this.regs[i] = (this.regs[i]! + Math.floor(r() * 21) - 10) & 0xffff;
    if (r() < 0.02) this.coils[Math.floor(r() * this.coils.length)]! ^= 1 << Math.floor(r() * 8);
  }
}

const mbap = (b: Buffer, o: number, tid: number, unit: number, pduLen: number): void => {
  b.writeUInt16BE(tid & 0xffff, o);
  b.writeUInt16BE(0, o + 2);
  b.writeUInt16BE(pduLen + 1, o + 4);
  b[o + 6] = unit;
};

/** Writes the request ADU into `b` at 0 and returns its length. Write values come from `rng`. */
export const writeRequest = (b: Buffer, tid: number, q: Request, rng: Rng): number => {
  const o = 7;
  b[o] = q.fc;
  b.writeUInt16BE(q.addr, o + 1);
  switch (q.fc) {
    case FC.writeSingleCoil:
      b.writeUInt16BE(rng() < 0.5 ? 0xff00 : 0x0000, o + 3);
      mbap(b, 0, tid, q.unit, 5);
      return 12;
    case FC.writeSingleRegister:
      b.writeUInt16BE(Math.floor(rng() * 4000), o + 3);
      mbap(b, 0, tid, q.unit, 5);
      return 12;
    case FC.writeMultipleRegisters: {
      b.writeUInt16BE(q.qty, o + 3);
      b[o + 5] = q.qty * 2;
      for (let i = 0; i < q.qty; i++) b.writeUInt16BE(Math.floor(rng() * 65536), o + 6 + 2 * i);
      const pdu = 6 + 2 * q.qty;
      mbap(b, 0, tid, q.unit, pdu);
      return 7 + pdu;
    }
    case FC.writeFileRecord: {
      // One sub-request: reference type 6, file number, record number, record length, data.
      b[o + 1] = 7 + 2 * q.qty;
      b[o + 2] = 6;
      b.writeUInt16BE(1 + (q.addr >> 12), o + 3);
      b.writeUInt16BE(q.addr & 0x0fff, o + 5);
      b.writeUInt16BE(q.qty, o + 7);
      for (let i = 0; i < q.qty; i++) b.writeUInt16BE(Math.floor(rng() * 65536), o + 9 + 2 * i);
      const pdu = 9 + 2 * q.qty;
      mbap(b, 0, tid, q.unit, pdu);
      return 7 + pdu;
    }
    default: // reads: FC 1, 2, 3, 4
      b.writeUInt16BE(q.qty, o + 3);
      mbap(b, 0, tid, q.unit, 5);
      return 12;
  }
};

/** Length of the response ADU to `q`, given the request ADU length `reqLen`. */
export const responseLength = (q: Request, reqLen: number): number => {
  switch (q.fc) {
    case FC.readCoils:
      return 9 + Math.ceil(q.qty / 8);
    case FC.readHoldingRegisters:
    case FC.readInputRegisters:
      return 9 + 2 * q.qty;
    case FC.writeMultipleRegisters:
      return 12;
    default: // FC 5, 6 and 21 echo the request
      return reqLen;
  }
};

/** Writes the response ADU to the request in `req` (length `reqLen`) into `out` at `o`. */
export const writeResponse = (out: Buffer, o: number, req: Buffer, reqLen: number, q: Request, img: ProcessImage): void => {
  const tid = req.readUInt16BE(0);
  switch (q.fc) {
    case FC.readCoils: {
      const n = Math.ceil(q.qty / 8);
      mbap(out, o, tid, q.unit, 2 + n);
      out[o + 7] = q.fc;
      out[o + 8] = n;
      for (let i = 0; i < n; i++) out[o + 9 + i] = img.coils[(q.addr / 8 + i) % img.coils.length]!;
      // Bits past the quantity are zero (§6.1).
      if (q.qty % 8) out[o + 8 + n] = out[o + 8 + n]! & ((1 << (q.qty % 8)) - 1);
      return;
    }
    case FC.readHoldingRegisters:
    case FC.readInputRegisters:
      img.tick();
      mbap(out, o, tid, q.unit, 2 + 2 * q.qty);
      out[o + 7] = q.fc;
      out[o + 8] = 2 * q.qty;
      for (let i = 0; i < q.qty; i++) out.writeUInt16BE(img.regs[(q.addr + i) % MAX_READ_REGS]!, o + 9 + 2 * i);
      return;
    case FC.writeMultipleRegisters:
      req.copy(out, o, 0, 12);
      out.writeUInt16BE(6, o + 4);
      return;
    default:
      req.copy(out, o, 0, reqLen);
  }
};
