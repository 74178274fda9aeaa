/**
 * The simulated plant (ingest/simulate) put into network namespaces for the workflow tests: a scada
 * zone with the HMI (10.10.1.10), a router namespace that gets the conduit's nftables table, a field
 * zone with PLC 101 (10.10.3.101), joined by veth pairs; the Modbus/TCP server of part 1's namespace
 * test (test/integration/enforce/support/modbus-peer.mjs) plays the PLC and an HMI-like poller
 * (poller.mjs) polls it. The addresses are the simulator's, so the rule learned from a simulated
 * capture governs this live traffic; they exist only inside the namespaces. Under CI=true missing
 * root, ip or nft fails the test; elsewhere it skips with the reason.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const HMI = '10.10.1.10';
export const PLC = '10.10.3.101';
const PEER = fileURLToPath(new URL('../../enforce/support/modbus-peer.mjs', import.meta.url));
const POLLER = fileURLToPath(new URL('./poller.mjs', import.meta.url));

const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** True when the namespaces can be made; else fails (CI) or skips the test with the reason. */
export const canNetns = (t: TestContext): boolean => {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const tool of ['ip', 'nft']) {
    try { sh(['sh', '-c', `command -v ${tool}`]); } catch { missing.push(tool); }
  }
  if (missing.length === 0) return true;
  const why = `needs ${missing.join(', ')} (network namespaces and nftables; scripts/ensure-deps.sh --system installs iproute2 and nftables as root)`;
  if (process.env.CI === 'true') throw new Error(`missing under CI: ${why}`);
  t.skip(why);
  return false;
};

export interface Plant {
  /** The router namespace (pass to the console's --netns). */
  router: string;
  /** Starts the HMI poller (FC 3 every `everyMs`); `send(fc)` slips one other function code in. */
  startPoller(everyMs: number): Poller;
  stop(): void;
}

export interface Poller {
  send(fc: number): void;
  /** The poller's latest counts. */
  stats(): { sent: number; answered: number; timeouts: number; connects: number };
  stop(): void;
}

/** Builds the three namespaces and starts the PLC; `tag` keeps parallel test files apart. */
export const startPlant = async (tag: string): Promise<Plant> => {
  const id = `${tag}${process.pid % 10000}`;
  const NS = { ctl: `cwc${id}`, rtr: `cwr${id}`, fld: `cwf${id}` };
  const procs: ChildProcess[] = [];
  const inNs = (ns: string, ...cmd: string[]): string => sh(['ip', 'netns', 'exec', ns, ...cmd]);
  const tearDown = (): void => {
    for (const p of procs) p.kill('SIGKILL');
    for (const ns of Object.values(NS)) {
      try { sh(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean).forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }); } catch { /* no ns */ }
      try { sh(['ip', 'netns', 'del', ns]); } catch { /* not there */ }
    }
  };
  tearDown();
  for (const ns of Object.values(NS)) sh(['ip', 'netns', 'add', ns]);
  sh(['ip', 'link', 'add', `c${id}`, 'netns', NS.ctl, 'type', 'veth', 'peer', 'name', `rc${id}`, 'netns', NS.rtr]);
  sh(['ip', 'link', 'add', `f${id}`, 'netns', NS.fld, 'type', 'veth', 'peer', 'name', `rf${id}`, 'netns', NS.rtr]);
  inNs(NS.ctl, 'ip', 'addr', 'add', `${HMI}/24`, 'dev', `c${id}`);
  inNs(NS.rtr, 'ip', 'addr', 'add', '10.10.1.1/24', 'dev', `rc${id}`);
  inNs(NS.rtr, 'ip', 'addr', 'add', '10.10.3.1/24', 'dev', `rf${id}`);
  inNs(NS.fld, 'ip', 'addr', 'add', `${PLC}/24`, 'dev', `f${id}`);
  for (const [ns, dev] of [[NS.ctl, `c${id}`], [NS.rtr, `rc${id}`], [NS.rtr, `rf${id}`], [NS.fld, `f${id}`]] as const) {
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  inNs(NS.ctl, 'ip', 'route', 'add', 'default', 'via', '10.10.1.1');
  inNs(NS.fld, 'ip', 'route', 'add', 'default', 'via', '10.10.3.1');
  inNs(NS.rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  const server = spawn('ip', ['netns', 'exec', NS.fld, process.execPath, PEER, 'server', '502'], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(server);
  await once(server.stdout!, 'data');
  return {
    router: NS.rtr,
    startPoller: (everyMs) => {
      const p = spawn('ip', ['netns', 'exec', NS.ctl, process.execPath, POLLER, HMI, PLC, '502', String(everyMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
      procs.push(p);
      let last = { sent: 0, answered: 0, timeouts: 0, connects: 0 };
      let buf = '';
      p.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        if (lines.length) last = JSON.parse(lines.at(-1)!);
      });
      return { send: (fc) => { p.stdin!.write(`fc ${fc}\n`); }, stats: () => last, stop: () => { p.kill('SIGKILL'); } };
    },
    stop: tearDown,
  };
};
