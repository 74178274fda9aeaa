/**
 * MAC address → vendor from the IEEE registries (MA-L, MA-M, MA-S) as the npm package `oui-data`
 * ships them (a JSON of prefix → "Company\naddress…", regenerated from the IEEE files upstream).
 * Loaded once, on the first lookup, so runs without link-layer addresses never pay for it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let table: Record<string, string> | undefined;
let failed: string | undefined;

const load = (): Record<string, string> | undefined => {
  if (table || failed) return table;
  try {
    const file = createRequire(import.meta.url).resolve('oui-data');
    table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (e) {
    failed = (e as Error).message;
  }
  return table;
};

/** Why the registry could not be loaded (undefined when it was, or was not tried yet). */
export const ouiProblem = (): string | undefined => failed;

/**
 * The registered vendor of `mac` (`aa:bb:cc:dd:ee:ff`, any case or separator): the longest
 * registered prefix (36, 28 or 24 bits) wins. `locally administered` for addresses with the U/L bit
 * set (no vendor is registered for them); undefined when the prefix is not registered.
 */
export const ouiVendor = (mac: string): string | undefined => {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 12) return undefined;
  if (parseInt(hex.slice(0, 2), 16) & 0x02) return 'locally administered';
  const t = load();
  if (!t) return undefined;
  const entry = t[hex.slice(0, 9)] ?? t[hex.slice(0, 7)] ?? t[hex.slice(0, 6)];
  return entry?.split('\n')[0]?.trim() || undefined;
};
