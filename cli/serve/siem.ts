/**
 * SIEM role: a consumer group of its own on the alerts topic, forwarding each alert as syslog
 * (RFC 5424 or CEF, bus/siem/) beside the JSON on Kafka. Offsets are committed only after the
 * sender took the batch; while the SIEM is unreachable the batch is retried with backoff
 * (100 ms doubling to 5 s), heartbeating, so nothing is skipped (at-least-once: a SIEM may see an
 * alert twice after a crash, and can deduplicate on its id). The incident versions the alerts topic
 * carries beside the alerts (schema `incident-json/1`) are not forwarded: each alert names its incident.
 */
import { errorMessage } from '../../core/errors.ts';
import type { Alert } from '../../core/records.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import { HEADERS, TOPICS, type Bus, type Subscription } from '../../bus/bus.ts';
import { decodeAlert, SCHEMAS } from '../../bus/codec.ts';
import { SiemSender, type SiemConfig } from '../../bus/siem/sender.ts';

export const SIEM_GROUP = 'conduitwatch-siem';

export class SiemRole {
  private sub: Subscription | undefined;
  private stopping = false;
  readonly sender: SiemSender;

  constructor(private readonly o: { bus: Bus; config: SiemConfig; log: Logger; metrics: Metrics; groupId?: string }) {
    this.sender = new SiemSender(o.config, { log: o.log, metrics: o.metrics });
  }

  get ready(): boolean {
    return this.sub?.ready ?? false;
  }

  async start(): Promise<void> {
    this.sub = await this.o.bus.subscribe({ groupId: this.o.groupId ?? SIEM_GROUP, topics: [TOPICS.alerts] }, async (b, ctl) => {
      const alerts: Alert[] = [];
      for (const m of b.messages) {
        if (m.headers[HEADERS.schema] === SCHEMAS.incident) continue;
        const d = decodeAlert(m.value);
        // The sink dead-letters undecodable alerts; here they are only counted.
        if (d.ok) alerts.push(d.value); else this.o.metrics.add('conduitwatch_siem_skipped_total', { reason: 'undecodable' }, 1);
      }
      let wait = 100;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.sender.send(alerts);
          return;
        } catch (e) {
          if (attempt === 1 || attempt % 20 === 0) this.o.log.warn({ attempt, err: errorMessage(e) }, 'SIEM send failed; retrying.');
          if (this.stopping || !ctl.isRunning()) throw e;
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, 5_000);
          await ctl.heartbeat().catch(() => {});
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.sub?.stop();
    await this.sender.close();
  }
}
