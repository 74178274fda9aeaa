/**
 * Sends alerts to a SIEM over syslog: UDP (RFC 5426, one message per datagram), TCP (RFC 6587,
 * octet-counting `LEN SP MSG` by default, or LF-terminated for old receivers) or TLS (RFC 5425,
 * octet-counting), formatted as RFC 5424 or CEF (format.ts).
 *
 * `send` resolves once the socket took every message (syslog has no application-level ack); a
 * broken connection rejects with `not_connected` and the next `send` reconnects, so a caller that
 * retries a batch until `send` resolves (the serve SIEM role commits Kafka offsets only then) gets
 * at-least-once delivery.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { errorMessage, PipelineError } from '../../core/errors.ts';
import type { Alert } from '../../core/records.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import { cef, FACILITIES, rfc5424, type Facility, type FormatOptions } from './format.ts';

export const SiemConfig = z.object({
  url: z.string().regex(/^(udp|tcp|tls):\/\/(\[[^\]]+\]|[^:/]+):\d+$/, 'udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT')
    .describe('Where the SIEM listens: udp://host:514 (RFC 5426), tcp://host:601 (RFC 6587) or tls://host:6514 (RFC 5425).'),
  format: z.enum(['rfc5424', 'cef']).default('rfc5424')
    .describe('rfc5424: the alert fields as structured data, the explanation as the message; cef: ArcSight CEF as the message.'),
  facility: z.enum(Object.keys(FACILITIES) as [Facility, ...Facility[]]).default('local4').describe('Syslog facility of every message.'),
  framing: z.enum(['octet-counting', 'lf']).default('octet-counting')
    .describe('TCP framing: octet-counting (RFC 6587 §3.4.1; always on TLS) or a line feed after each message (§3.4.2).'),
  hostname: z.string().optional().describe('HOSTNAME field; default this machine\'s name.'),
  appName: z.string().default('conduitwatch').describe('APP-NAME field, and the CEF vendor and product.'),
  enterprise: z.number().int().positive().default(32473).describe('Private enterprise number in the SD-ID conduitwatch@N (32473: the RFC 5612 documentation number).'),
  caFile: z.string().optional().describe('TLS: PEM file of the CA that signed the SIEM\'s certificate; default the system CAs.'),
  serverName: z.string().optional().describe('TLS: the name to verify in the SIEM\'s certificate; default the URL\'s host.'),
  maxMessageBytes: z.number().int().min(480).default(8192).describe('Longest message; a longer explanation is cut (and counted). UDP receivers must take 480, should take 2048.'),
  connectTimeoutMs: z.number().int().positive().default(5000).describe('TCP/TLS connect timeout.'),
}).strict();
export type SiemConfig = z.output<typeof SiemConfig>;

const VERSION = '0.1.0';

export interface SiemDeps {
  log?: Logger;
  metrics?: Metrics;
}

export class SiemSender {
  private readonly c: SiemConfig;
  private readonly transport: 'udp' | 'tcp' | 'tls';
  private readonly host: string;
  private readonly port: number;
  private readonly fmt: FormatOptions;
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;

  constructor(config: z.input<typeof SiemConfig>, private readonly deps: SiemDeps = {}) {
    this.c = SiemConfig.parse(config);
    const m = /^(udp|tcp|tls):\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(this.c.url)!;
    this.transport = m[1] as 'udp' | 'tcp' | 'tls';
    this.host = m[2]!.replace(/^\[|\]$/g, '');
    this.port = Number(m[3]);
    this.fmt = { facility: this.c.facility, appName: this.c.appName, enterprise: this.c.enterprise, version: VERSION, ...(this.c.hostname ? { hostname: this.c.hostname } : {}) };
  }

  private get labels() {
    return { component_kind: 'sink', component_type: `syslog_${this.transport}`, component_id: this.c.format };
  }

  /** Opens the socket (TCP/TLS: connects). Rejects `not_connected` when the SIEM cannot be reached. */
  async open(): Promise<void> {
    if (this.transport === 'udp') {
      if (this.udp) return;
      const s = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
      s.on('error', (e) => this.deps.log?.warn({ err: errorMessage(e) }, 'SIEM UDP socket error.'));
      this.udp = s;
      return;
    }
    if (this.stream && !this.stream.destroyed) return;
    const ca = this.c.caFile ? readFileSync(this.c.caFile) : undefined;
    this.stream = await new Promise<Socket>((resolve, reject) => {
      const s: Socket = this.transport === 'tls'
        ? tlsConnect({ host: this.host, port: this.port, servername: this.c.serverName ?? (isIP(this.host) ? undefined : this.host), ...(ca ? { ca } : {}) }, () => resolve(s))
        : tcpConnect({ host: this.host, port: this.port }, () => resolve(s));
      s.setTimeout(this.c.connectTimeoutMs, () => s.destroy(new Error(`no connection in ${this.c.connectTimeoutMs} ms`)));
      s.once('error', (e) => reject(new PipelineError('not_connected', `Cannot reach the SIEM at ${this.c.url}: ${errorMessage(e)}`, { url: this.c.url }, { cause: e })));
    });
    this.stream.setTimeout(0);
    this.stream.on('error', (e) => this.deps.log?.warn({ err: errorMessage(e), url: this.c.url }, 'SIEM connection lost; the next send reconnects.'));
    this.stream.setNoDelay(true);
  }

  /** One alert's message bytes, cut to maxMessageBytes. */
  message(a: Alert): Buffer {
    let m = this.c.format === 'cef' ? cef(a, this.fmt) : rfc5424(a, this.fmt);
    if (m.length > this.c.maxMessageBytes) {
      m = m.subarray(0, this.c.maxMessageBytes);
      this.deps.metrics?.add('conduitwatch_siem_truncated_total', this.labels, 1);
    }
    return m;
  }

  /** Sends the alerts in order; resolves once the socket took them all. */
  async send(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    await this.open();
    try {
      if (this.transport === 'udp') {
        for (const a of alerts) {
          const m = this.message(a);
          await new Promise<void>((resolve, reject) => this.udp!.send(m, this.port, this.host, (e) => (e ? reject(e) : resolve())));
        }
      } else {
        const lf = this.transport === 'tcp' && this.c.framing === 'lf';
        const frames = alerts.map((a) => {
          const m = this.message(a);
          return lf ? Buffer.concat([m, Buffer.from('\n')]) : Buffer.concat([Buffer.from(`${m.length} `), m]);
        });
        const s = this.stream!;
        await new Promise<void>((resolve, reject) => {
          if (s.destroyed) { reject(new Error('connection closed')); return; }
          s.write(Buffer.concat(frames), (e) => (e ? reject(e) : resolve()));
        });
      }
    } catch (e) {
      this.stream?.destroy();
      this.stream = undefined;
      this.deps.metrics?.add('conduitwatch_component_errors_total', { ...this.labels, error_code: 'not_connected', stage: 'sending' }, 1);
      throw new PipelineError('not_connected', `Sending ${alerts.length} alert(s) to the SIEM at ${this.c.url} failed: ${errorMessage(e)}`, { url: this.c.url }, { cause: e });
    }
    this.deps.metrics?.add('conduitwatch_component_sent_records_total', this.labels, alerts.length);
  }

  /** Flushes and closes. Calling it twice is harmless. */
  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s && !s.destroyed) await new Promise<void>((r) => s.end(() => r()));
    const u = this.udp;
    this.udp = undefined;
    if (u) await new Promise<void>((r) => u.close(() => r()));
  }
}
