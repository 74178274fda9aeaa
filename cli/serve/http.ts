/**
 * /healthz (process alive), /readyz (every role joined its group / bound its socket) and /metrics
 * (Prometheus text from core/telemetry.ts `Metrics`) on a small node:http server.
 */
import { createServer, type Server } from 'node:http';
import { PipelineError } from '../../core/errors.ts';
import type { Metrics } from '../../core/telemetry.ts';

export interface HealthServer {
  /** The bound `host:port` (port 0 picks one). */
  address: string;
  close(): Promise<void>;
}

export const parseHttp = (spec: string): { host: string; port: number } => {
  const m = /^(?:http:\/\/)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(spec);
  if (!m || Number(m[2]) > 65535) throw new PipelineError('config_invalid', `--http "${spec}" must be HOST:PORT, e.g. 127.0.0.1:9464`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};

export const startHealthServer = async (spec: string, metrics: Metrics, ready: () => boolean): Promise<HealthServer> => {
  const { host, port } = parseHttp(spec);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'); return; }
    if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
      return;
    }
    if (path === '/metrics') { res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render()); return; }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz, /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PipelineError('config_invalid', `Cannot listen on ${spec}: ${(e as NodeJS.ErrnoException).code}`, { spec }, { cause: e })));
    server.listen(port, host, resolve);
  });
  const a = server.address();
  const address = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : spec;
  return { address, close: () => new Promise((r) => server.close(() => r())) };
};
