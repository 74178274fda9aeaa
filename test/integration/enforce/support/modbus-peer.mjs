/* global setTimeout, clearTimeout */
// A Modbus/TCP server and client written for the namespace tests (plain node:net, no dependencies).
//   server: node modbus-peer.mjs server PORT            answers FC 1-4 with zeros, echoes FC 5/6/15/16
//   client: node modbus-peer.mjs client SRC DST PORT TIMEOUT_MS FC[,FC…]
//           one TCP connection from SRC; sends each function code in turn and prints one JSON line:
//           {"connected":true,"results":[{"fc":3,"ok":true},{"fc":16,"ok":false,"timeout":true}]}
//           A dropped SYN prints {"connected":false,"timeout":true}. After a timed-out request the
//           connection is given up (a dropped segment is retransmitted and blocks the ones behind it).
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);

const adu = (tid, unit, pdu) => {
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(tid, 0); b.writeUInt16BE(0, 2); b.writeUInt16BE(pdu.length + 1, 4); b.writeUInt8(unit, 6);
  pdu.copy(b, 7);
  return b;
};

if (mode === 'server') {
  const port = Number(args[0]);
  const srv = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 7 && buf.length >= 6 + buf.readUInt16BE(4)) {
        const len = buf.readUInt16BE(4);
        const tid = buf.readUInt16BE(0);
        const unit = buf.readUInt8(6);
        const pdu = buf.subarray(7, 6 + len);
        buf = buf.subarray(6 + len);
        const fc = pdu[0];
        let reply;
        if (fc >= 1 && fc <= 4) {
          const qty = pdu.readUInt16BE(3);
          const bytes = fc <= 2 ? Math.ceil(qty / 8) : qty * 2;
          reply = Buffer.concat([Buffer.from([fc, bytes]), Buffer.alloc(bytes)]);
        } else if (fc === 5 || fc === 6 || fc === 15 || fc === 16) {
          reply = Buffer.from(pdu.subarray(0, 5));
        } else {
          reply = Buffer.from([fc | 0x80, 1]);
        }
        sock.write(adu(tid, unit, reply));
      }
    });
    sock.on('error', () => {});
  });
  srv.listen(port, '0.0.0.0', () => process.stdout.write('listening\n'));
} else if (mode === 'client') {
  const [src, dst, port, timeoutMs, fcList] = args;
  const fcs = fcList.split(',').map(Number);
  const timeout = Number(timeoutMs);
  const results = [];
  const sock = net.connect({ host: dst, port: Number(port), localAddress: src });
  const done = (out) => { process.stdout.write(`${JSON.stringify(out)}\n`); sock.destroy(); process.exit(0); };
  const t0 = setTimeout(() => done({ connected: false, timeout: true }), timeout);
  sock.on('error', (e) => done({ connected: false, error: e.code }));
  sock.on('connect', () => {
    clearTimeout(t0);
    let tid = 0;
    let pending;
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 8 && buf.length >= 6 + buf.readUInt16BE(4)) {
        buf = buf.subarray(6 + buf.readUInt16BE(4));
        clearTimeout(pending.timer);
        results.push({ fc: pending.fc, ok: true });
        next();
      }
    });
    const next = () => {
      const fc = fcs[results.length];
      if (fc === undefined) return done({ connected: true, results });
      tid += 1;
      const pdu = fc === 16 ? Buffer.from([16, 0, 0, 0, 1, 2, 0, 7]) : fc === 5 ? Buffer.from([5, 0, 0, 0xff, 0]) : Buffer.from([fc, 0, 0, 0, 8]);
      pending = { fc, timer: setTimeout(() => { results.push({ fc, ok: false, timeout: true }); done({ connected: true, results }); }, timeout) };
      sock.write(adu(tid, 1, pdu));
    };
    next();
  });
}
