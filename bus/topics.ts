/**
 * Topic specs from `infra/kafka/topics.yaml` (the one place topics are declared): partitions,
 * replication factor and topic configs. Both buses read it; the Kafka bus creates topics from it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import { TOPICS, type TopicName } from './bus.ts';

export const TOPICS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'infra', 'kafka', 'topics.yaml');

const configMap = z.record(z.string()).default({});

const TopicsFile = z.object({
  defaults: z.object({
    replicationFactor: z.number().int().positive().default(1).describe('Replication factor unless a topic overrides it.'),
    config: configMap.describe('Topic configs every topic gets unless it overrides them.'),
  }).default({}),
  topics: z.array(z.object({
    name: z.string().describe('Topic name, conduitwatch.<entity>.v<N>.'),
    partitions: z.number().int().positive().describe('Partition count.'),
    replicationFactor: z.number().int().positive().optional().describe('Overrides defaults.replicationFactor.'),
    key: z.string().optional().describe('What the record key holds.'),
    value: z.string().optional().describe('What the record value holds.'),
    config: configMap.describe('Topic-level Kafka configs, passed as-is to CreateTopics.'),
  })).min(1),
});

/** One topic as the bus creates it. */
export interface TopicSpec {
  name: TopicName;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

/**
 * Reads the topic specs. `partitions` overrides counts (tests use small ones); flows and state
 * must stay equal, because state partition p holds the checkpoint of flows partition p.
 */
export const loadTopicSpecs = (file = TOPICS_FILE, partitions: Partial<Record<TopicName, number>> = {}): Map<TopicName, TopicSpec> => {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PipelineError('config_invalid', `Cannot read topic specs ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  const res = TopicsFile.safeParse(raw);
  if (!res.success) throw new PipelineError('config_invalid', `Invalid topic specs ${file}: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { file });
  const out = new Map<TopicName, TopicSpec>();
  const known = new Set<string>(Object.values(TOPICS));
  for (const t of res.data.topics) {
    if (!known.has(t.name)) continue;
    const name = t.name as TopicName;
    out.set(name, {
      name,
      partitions: partitions[name] ?? t.partitions,
      replicationFactor: t.replicationFactor ?? res.data.defaults.replicationFactor,
      config: { ...res.data.defaults.config, ...t.config },
    });
  }
  for (const name of Object.values(TOPICS)) {
    if (!out.has(name)) throw new PipelineError('config_invalid', `${file} does not declare topic ${name}; add it (see DESIGN.md "Topics").`, { file });
  }
  const flows = out.get(TOPICS.flows)!.partitions;
  const state = out.get(TOPICS.state)!.partitions;
  if (flows !== state) {
    throw new PipelineError('config_invalid', `${TOPICS.flows} has ${flows} partitions but ${TOPICS.state} has ${state}; they must be equal (state partition p checkpoints flows partition p).`, { file });
  }
  return out;
};
