/* global setTimeout, clearTimeout, setInterval */
// A Modbus/TCP master that polls like an HMI, for the workflow tests (plain node:net):
//   node poller.mjs SRC DST PORT EVERY_MS
// One connection from SRC; reads holding registers (FC 3) every EVERY_MS; a request unanswered
// within 1 s drops the connection and a new one is opened (a dropped segment blocks the stream).
// A line "fc N" on stdin makes the next request use function code N once (a write the rule lacks).
// Prints one JSON line per second: {"sent":n,"answered":n,"timeouts":n,"connects":n}.
import net from 'node:net';
import { createInterface } from 'node:readline';

const [src, dst, port, every] = process.argv.slice(2);
const stats = { sent: 0, answered: 0, timeouts: 0, connects: 0 };
let next = [];
let sock;
let waiting;
let tid = 0;

const connect = () => {
  stats.connects++;
  sock = net.connect({ host: dst, port: Number(port), localAddress: src });
  sock.on('error', () => {});
  sock.on('close', () => { clearTimeout(waiting); waiting = undefined; sock = undefined; });
  sock.on('data', () => { if (waiting) { clearTimeout(waiting); waiting = undefined; stats.answered++; } });
};

const poll = () => {
  if (!sock) connect();
  if (waiting) return;
  const fc = next.shift() ?? 3;
  const pdu = fc === 16 ? Buffer.from([16, 0, 0, 0, 1, 2, 0, 1]) : fc === 6 ? Buffer.from([6, 0, 0, 0, 1]) : Buffer.from([fc, 0, 0, 0, 2]);
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(++tid & 0xffff, 0); b.writeUInt16BE(0, 2); b.writeUInt16BE(pdu.length + 1, 4); b.writeUInt8(1, 6);
  pdu.copy(b, 7);
  stats.sent++;
  sock.write(b);
  waiting = setTimeout(() => { waiting = undefined; stats.timeouts++; sock?.destroy(); }, 1000);
};

setInterval(poll, Number(every));
setInterval(() => process.stdout.write(`${JSON.stringify(stats)}\n`), 1000);
createInterface({ input: process.stdin }).on('line', (l) => {
  const m = /^fc (\d+)$/.exec(l.trim());
  if (m) next.push(Number(m[1]));
});
