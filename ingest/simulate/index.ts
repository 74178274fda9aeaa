/** The plant traffic simulator: `simulatePlant` writes a labelled pcap of a simulated plant. */
export { simulatePlant, type SimResult, type LabelsFile } from './simulate.ts';
export { SimOptions, ANOMALY_KINDS, type AnomalyKind, type SimOptionsInput } from './options.ts';
export { planAnomalies, minimumDuration, ANOMALY_MS, GAP_MS, BASELINE_CYCLES, type Label } from './anomalies.ts';
export * as plant from './plant.ts';
