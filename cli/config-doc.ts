/** The text of docs/config.md, generated from the schemas that parse the config. */
import { Site } from '../core/config.ts';
import { schemaTable } from '../core/schema-docs.ts';
import { SiemConfig } from '../bus/siem/sender.ts';
import { QueryEndpointConfig } from '../dashboards/http/server.ts';
import { REGISTRY } from './registry.ts';
import { ReachConfig } from './serve/reach.ts';

export const configDoc = (): string => `# Configuration reference

Generated from the zod schemas by \`npm run docs\`; do not edit by hand (a test checks it is current).
Durations are strings with a unit: \`250ms\`, \`60s\`, \`15m\`, \`8h\`, \`7d\`.

## site.yaml

${schemaTable(Site)}
Traffic inside one zone is expected; traffic between two zones with no declared conduit is itself an
alert (score 1, detector \`novelty\`). Addresses in no zone belong to the zone \`unknown\`.
Examples: \`examples/sim/site.yaml\`, \`examples/lemay/site.yaml\`, \`examples/but-iec104/site.yaml\`,
\`examples/but-mms/site.yaml\`.

## Detector settings

\`detection.detectors\` names the detectors to run (default: the statistical ones, \`cadence\` to \`size\`;
the learned \`autoencoder\` and \`forecast\` run when named here or with \`--model\`); \`detection.detectorConfig.<name>\`
holds each one's settings (every key optional but a model's \`model\`). \`replay\`, \`serve\` and \`eval\` read them; an eval
spec's own \`detectorConfig\` applies on top, key by key. Example:

\`\`\`yaml
detection:
  window: 60s
  detectorConfig:
    rate: { minWindows: 8, relativeFloor: 0.15 }
    silence: { gapFloor: 10s }
\`\`\`

${REGISTRY.map((d) => `### \`${d.name}\`\n\n${d.summary}\n\n${schemaTable(d.config)}`).join('\n')}
## Read-only ClickHouse HTTP endpoint (serve)

\`--query-listen\` (or \`--listen\` with \`--role query\`) sets \`listen\`; \`CONDUITWATCH_QUERY_USER\`,
\`CONDUITWATCH_QUERY_PASSWORD\` and \`CONDUITWATCH_QUERY_TOKEN\` set the credentials (dashboards/http/README.md).

${schemaTable(QueryEndpointConfig)}
## SIEM output (serve --siem)

\`--siem\` sets \`url\`, \`--siem-format\` \`format\`, \`--siem-ca\` \`caFile\`; the rest keep their defaults (bus/siem/README.md).

${schemaTable(SiemConfig)}
## Reaching the brokers at start (serve --connect-timeout)

\`--connect-timeout\` sets \`connectTimeout\`; the rest keep their defaults (cli/serve/reach.ts).

${schemaTable(ReachConfig)}`;
