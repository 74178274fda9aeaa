/**
 * The conduitwatch dashboards, built to Grafana JSON for `conduitwatch dashboards build`
 * (infra/grafana/dashboards/, provisioned by infra/grafana/provisioning/dashboards/).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { alertDetail } from './alert-detail.ts';
import { auditTrail } from './audit-trail.ts';
import { assetInventory } from './asset-inventory.ts';
import { baselineReadiness } from './baseline-readiness.ts';
import { dashboard, type DashboardSpec } from './common.ts';
import { conduitDetail } from './conduit-detail.ts';
import { pipelineHealth } from './pipeline-health.ts';
import { rulesPromotions } from './rules-promotions.ts';
import { socOverview } from './soc-overview.ts';

/** Every dashboard, in menu order. */
export const dashboardSpecs = (): DashboardSpec[] =>
  [socOverview(), conduitDetail(), alertDetail(), assetInventory(), baselineReadiness(), rulesPromotions(), auditTrail(), pipelineHealth()];

/** File name (under infra/grafana/dashboards/) → Grafana dashboard JSON text. */
export const buildDashboards = (): Map<string, string> => {
  const out = new Map<string, string>();
  for (const spec of dashboardSpecs()) {
    const d: Dashboard = dashboard(spec);
    out.set(`${spec.file}.json`, `${JSON.stringify(d, null, 2)}\n`);
  }
  return out;
};
