/**
 * A real syslog receiver for the SIEM tests: Debian's `rsyslogd` (8.x) in the foreground with its
 * own config, work dir and pid file in a temp dir, listening on free loopback ports for UDP
 * (RFC 5426), TCP (RFC 6587, octet-counted or LF framing) and TLS (RFC 5425, gtls driver, a
 * self-signed certificate made with openssl for 127.0.0.1). Every message it receives is written
 * as one JSON object per line (its RFC 5424 fields as rsyslog parsed them) to `messages.log`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import { ServiceProcess, ensureDebianCommand, freePorts, progress, serviceLifecycle, waitReady, type RunningService } from './process.ts';

/** One message as rsyslog parsed it. */
export interface ReceivedMessage {
  input: string;
  pri: string;
  facility: string;
  severity: string;
  timestamp: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
  raw: string;
}

export interface RsyslogService extends RunningService {
  udpPort: number;
  tcpPort: number;
  tlsPort: number;
  /** PEM of the receiver's self-signed certificate (the CA a TLS client must trust). */
  caFile: string;
  /** Messages received so far. */
  messages(): ReceivedMessage[];
}

const GTLS = '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so';

const tcpOpen = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect({ host: '127.0.0.1', port }, () => { s.end(); resolve(true); });
  s.once('error', () => resolve(false));
});

export const startRsyslog = async (): Promise<RsyslogService> => {
  ensureDebianCommand('rsyslog', 'rsyslogd', 'rsyslog');
  if (!existsSync(GTLS)) {
    // The TLS driver is its own package; no command tells it is there, so look for the module.
    if (process.getuid?.() !== 0) throw new PipelineError('unrecoverable', `rsyslog's TLS driver ${GTLS} is missing. Run: sudo apt-get install -y rsyslog-gnutls`);
    progress('rsyslog', 'installing Debian package rsyslog-gnutls…');
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'rsyslog-gnutls'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8' });
    if (r.status !== 0) throw new PipelineError('unrecoverable', `apt-get install rsyslog-gnutls failed (exit ${r.status}): ${r.stderr}`);
  }
  ensureDebianCommand('rsyslog', 'openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'conduitwatch-rsyslog-'));
  const [udpPort, tcpPort, tlsPort] = (await freePorts(3)) as [number, number, number];
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (ssl.status !== 0) throw new PipelineError('unrecoverable', `openssl could not make a test certificate: ${ssl.stderr}`);
  const out = join(dir, 'messages.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(conf, `
global(workDirectory="${dir}" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="${cert}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
module(load="imudp")
module(load="imtcp" maxSessions="64")
input(type="imudp" address="127.0.0.1" port="${udpPort}" name="udp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" name="tls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="cw" type="list" option.jsonf="on") {
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="facility" name="syslogfacility-text" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}
*.* action(type="omfile" file="${out}" template="cw" flushOnTXEnd="on" asyncWriting="off")
`);
  const logFile = join(dir, 'rsyslogd.log');
  const proc = new ServiceProcess({ command: 'rsyslogd', args: ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], cwd: dir, logFile });
  const launch = async (): Promise<void> => {
    const t0 = Date.now();
    proc.start();
    await waitReady(`rsyslogd on 127.0.0.1:${tcpPort}`, proc, async () => (await tcpOpen(tcpPort)) && (await tcpOpen(tlsPort)), 20_000, logFile);
    progress('rsyslog', `ready on 127.0.0.1 udp ${udpPort}, tcp ${tcpPort}, tls ${tlsPort} in ${Date.now() - t0} ms (pid ${proc.pid})`);
  };
  try {
    await launch();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port: tcpPort,
    dir,
    udpPort,
    tcpPort,
    tlsPort,
    caFile: cert,
    messages: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ReceivedMessage) : []),
    ...serviceLifecycle({
      component: 'rsyslog', label: `127.0.0.1:${tcpPort}`, startFn: 'startRsyslog', proc, dir,
      stopTimeout: 10_000, keepDirs: false, launch,
    }),
  };
};
