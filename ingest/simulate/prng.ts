/**
 * Seeded pseudo-random numbers for the simulator. Never `Math.random`: the same seed must give the
 * same capture, byte for byte.
 */

/** A generator of floats in [0, 1). */
export interface Rng {
  (): number;
}

/** mulberry32: a 32-bit state generator, fast and good enough for traffic jitter. */
export const mulberry32 = (seed: number): Rng => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

/** FNV-1a of a string: turns a stream name into 32 bits. */
const fnv1a = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/**
 * An independent stream per named actor, so injecting an anomaly does not shift the jitter of
 * the baseline traffic: `stream(seed, 'hmi>10.10.3.101')`.
 */
export const stream = (seed: number, name: string): Rng => {
  // splitmix32-style finaliser over (seed, name) so nearby seeds give unrelated streams.
  let z = (seed ^ fnv1a(name)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return mulberry32((z ^ (z >>> 16)) >>> 0);
};

/** Integer in [lo, hi] inclusive. */
export const intIn = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));

/** Symmetric integer jitter in [-amp, +amp]. */
export const jitter = (rng: Rng, amp: number): number => Math.round((rng() * 2 - 1) * amp);
