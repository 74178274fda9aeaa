/**
 * A promotion (one rule of one conduit going from monitor to block) and the states it moves through:
 *
 *   proposed ──whatif──► review ──approve──► approved ──schedule──► scheduled ──window opens──► applying
 *      │                   │ reject              │                     │ (reschedule)            │
 *      ▼                   ▼                     ▼                     ▼                         ▼
 *   cancelled          rejected              cancelled             cancelled        watching ──watch ends──► confirmed
 *                                                                                      │ criterion trips / abort
 *                                              applying or watching ──────────────────►│
 *                                                                                      ▼
 *                                                                       rolling_back ──► rolled_back
 *
 * Terminal: confirmed, rolled_back, rejected, cancelled. Only `confirmed` leaves the rule live; the
 * others leave the known-good ruleset (or never touched it). At most one non-terminal promotion per
 * conduit ("one conduit at a time").
 */
import type { AbortCriteria, Trip, WatchState } from './criteria.ts';
import type { CounterReading, Readiness, WatchedEdge, WhatIfResult } from './ports.ts';
import type { WindowOccurrence } from './windows.ts';

export const STATES = [
  'proposed', 'review', 'approved', 'scheduled', 'applying', 'watching', 'rolling_back',
  'confirmed', 'rolled_back', 'rejected', 'cancelled',
] as const;
export type State = (typeof STATES)[number];

export const TERMINAL: ReadonlySet<State> = new Set(['confirmed', 'rolled_back', 'rejected', 'cancelled']);

/** Allowed moves; anything else is a bug or a stale job and is refused. */
export const TRANSITIONS: Record<State, readonly State[]> = {
  proposed: ['review', 'cancelled'],
  review: ['approved', 'rejected', 'cancelled'],
  approved: ['scheduled', 'cancelled'],
  scheduled: ['scheduled', 'applying', 'cancelled', 'rolling_back'],
  applying: ['watching', 'rolling_back'],
  watching: ['confirmed', 'rolling_back'],
  rolling_back: ['rolled_back'],
  // A confirmed rule can still be rolled back on command (rules rollback), if its conduit is free.
  confirmed: ['rolling_back'], rolled_back: [], rejected: [], cancelled: [],
};

export const canMove = (from: State, to: State): boolean => TRANSITIONS[from].includes(to);

/** A person as the record names them. */
export interface Person { account: string; displayName: string }

export interface Promotion {
  id: string;
  conduit: string;
  ruleHash: string;
  rule: unknown;
  readiness: Readiness;
  edges: WatchedEdge[];
  state: State;
  /** Bumped on every write; writes compare-and-set on it. */
  version: number;
  proposer: Person;
  proposedAt: number;
  proposeReason: string;
  whatif?: WhatIfResult;
  whatifError?: string;
  approval?: Person & { at: number; reason: string; criteria: AbortCriteria };
  rejection?: Person & { at: number; reason: string };
  schedule?: WindowOccurrence & { by: string; at: number; n: number };
  apply?: { attempts: number; startedAt: number; appliedAt?: number; snapshot?: string };
  watch?: WatchState & { until: number; lastTickAt?: number; alerts?: number; lastReading?: CounterReading };
  abort?: Person & { at: number; reason: string; kind: 'abort' | 'rollback' };
  outcome?: { state: State; at: number; trip?: Trip; note?: string };
  history: { at: number; state: State; actor: string; note?: string }[];
}

/** Promotion ids go into BullMQ job ids: no ':' and never an integer. */
export const promotionIdFor = (conduit: string, ruleHash: string): string =>
  `${conduit.replace('->', '_to_').replace(/[^A-Za-z0-9_.-]/g, '_')}-${ruleHash.replace(/^sha256[:-]/, '').slice(0, 12)}`;

/** What the console and `rules status` show: the record minus the rule body. */
export const summarize = (p: Promotion): Omit<Promotion, 'rule'> => {
  const { rule: _r, ...rest } = p;
  return rest;
};
