/** Every unit reads time from an injected clock; tests advance a fake one, never sleep (STYLE.md §6). */
import { parseDuration } from './units.ts';

export interface Clock {
  /** Processing time, epoch ms. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface FakeClock extends Clock {
  advance(by: string | number): void;
  set(to: string | number): void;
}

export const fakeClock = (start: string | number = 0): FakeClock => {
  let t = typeof start === 'string' ? Date.parse(start) : start;
  return {
    now: () => t,
    advance: (by) => { t += typeof by === 'string' ? parseDuration(by) : by; },
    set: (to) => { t = typeof to === 'string' ? Date.parse(to) : to; },
  };
};
