/**
 * The command line's vocabulary and its checks: one meaning per option name across commands
 * (`--data` is always the store's directory, `--site` the site config, `--json` one JSON document
 * on stdout, `--quiet` no progress on stderr), a misspelt option answered with the nearest one
 * ("did you mean --site?"), and every enum error listing the valid choices.
 */
import { parseArgs } from 'node:util';
import { PipelineError } from '../core/errors.ts';
import { parseDuration } from '../core/units.ts';

/** One option as node:util parseArgs takes it, plus the values it accepts (checked after parsing). */
export interface OptionDef {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The values a string option accepts; anything else is an error that lists them. */
  choices?: readonly string[];
}

export type Options = Record<string, OptionDef>;

/** The store's directory when --data is not given. */
export const DEFAULT_DATA_DIR = 'conduitwatch-data';

/** Options every command takes, with the same meaning everywhere. */
export const COMMON_OPTIONS = {
  quiet: { type: 'boolean' },
} as const satisfies Options;

/** The shared names, for the commands that use them (their meaning never changes between commands). */
export const VOCABULARY = {
  /** The store: a chDB data directory (default ./conduitwatch-data). */
  data: { type: 'string' },
  /** The site config: zones, conduits, production cycle. */
  site: { type: 'string' },
  /** One JSON document (or JSON lines for record streams) on stdout instead of text. */
  json: { type: 'boolean' },
  /** Which stored run a command reads: latest (default), an id, or all. */
  run: { type: 'string' },
} as const satisfies Options;

/** Names that older versions or other tools used, with what to write instead. */
const RENAMED: Record<string, Record<string, string>> = {
  demo: { dir: '--data DIR/data for the store and --out DIR/plant.pcap for the capture' },
  '*': { dir: '--data DIR (the store\'s directory)', 'data-dir': '--data DIR', output: '--out FILE', config: '--site FILE' },
};

export const usageError = (command: string, message: string): PipelineError =>
  new PipelineError('config_invalid', `${message}\nRun 'conduitwatch ${command} --help' for usage and examples.`);

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export const editDistance = (a: string, b: string): number => {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
};

/**
 * The candidates nearest to `word`: a prefix of one name (`--sit` → `--site`), or within an edit
 * distance that grows with the length (1 up to 4 letters, 2 up to 8, then 3; one more when the two
 * start with the same two letters). Nearest first.
 */
export const nearest = (word: string, candidates: readonly string[]): string[] => {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : w.length <= 8 ? 2 : 3;
  const shared = (c: string): number => {
    let i = 0;
    while (i < c.length && i < w.length && c[i] === w[i]) i++;
    return i;
  };
  const scored = candidates
    .map((c) => ({ c, d: c.startsWith(w) && w.length >= 2 ? 0.5 : editDistance(w, c.toLowerCase()) }))
    // A shared start of two letters or more allows one edit more (--sight → --site).
    .filter((x) => x.d <= limit + (shared(x.c.toLowerCase()) >= 2 ? 1 : 0))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  return scored.map((x) => x.c);
};

/** "a, b or c" */
export const orList = (items: readonly string[]): string =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** `--flag: "value" is not one of …`, with the nearest choice first when there is one. */
export const choiceError = (command: string, flag: string, value: string, choices: readonly string[]): PipelineError => {
  const near = nearest(value, choices);
  return usageError(command, `--${flag}: "${value}" is not a valid choice${near.length ? ` (did you mean ${near[0]}?)` : ''}; ` +
    `choose ${orList(choices)}.`);
};

/** Checks a comma list against `choices` (`--inject scan,unusual_write`); `all` may stand for every choice. */
export const listArg = (command: string, flag: string, v: unknown, choices: readonly string[], opts: { all?: boolean } = {}): string[] => {
  if (typeof v !== 'string') return [];
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (opts.all && item === 'all') continue;
    if (!choices.includes(item)) throw choiceError(command, flag, item, opts.all ? [...choices, 'all'] : choices);
  }
  return items;
};

interface ParseContext {
  command: string;
  options: Options;
  /** Every command's option names, to say "--listen is an option of collect, serve" for a stray one. */
  others?: Record<string, readonly string[]>;
}

const unknownOption = (ctx: ParseContext, token: string): PipelineError => {
  const name = token.replace(/^-+/, '').split('=')[0]!;
  const mine = Object.keys(ctx.options);
  const renamed = RENAMED[ctx.command]?.[name] ?? RENAMED['*']![name];
  if (renamed && !mine.includes(name)) return usageError(ctx.command, `Unknown option --${name}: write ${renamed}.`);
  const near = nearest(name, mine);
  if (near.length) return usageError(ctx.command, `Unknown option --${name}: did you mean --${near[0]}?`);
  const elsewhere = Object.entries(ctx.others ?? {}).filter(([c, names]) => c !== ctx.command && names.includes(name)).map(([c]) => c);
  const list = mine.filter((o) => o !== 'help').sort().map((o) => `--${o}`).join(', ');
  return usageError(ctx.command, `Unknown option --${name}${elsewhere.length ? ` (an option of ${orList(elsewhere)}, not of ${ctx.command})` : ''}. ` +
    `Options of ${ctx.command}: ${list}.`);
};

/**
 * Parses `argv` for `command`: unknown options get a suggestion, a string option without its value
 * says so, and `choices` are checked. Returns the values and the positionals.
 */
export const parseCommandArgs = (ctx: ParseContext, argv: string[]): { values: Record<string, unknown>; positionals: string[] } => {
  const known = new Set(Object.keys(ctx.options));
  const shorts = new Set(Object.values(ctx.options).map((o) => o.short).filter(Boolean));
  for (const token of argv) {
    if (token === '--') break;
    if (token.startsWith('--') && token.length > 2) {
      const name = token.slice(2).split('=')[0]!;
      if (!known.has(name)) throw unknownOption(ctx, token);
    } else if (/^-[A-Za-z]/.test(token) && !shorts.has(token[1]!)) {
      throw usageError(ctx.command, `Unknown option ${token}${known.has(token.slice(1)) ? `: options take two dashes, --${token.slice(1)}` : ''}.`);
    }
  }
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [k, o] of Object.entries(ctx.options)) {
    config[k] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const missing = /^Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(msg);
    if (missing) throw usageError(ctx.command, `--${missing[1]} needs a value.`);
    const ambiguous = /^Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(msg);
    if (ambiguous) throw usageError(ctx.command, `--${ambiguous[1]} is a switch and takes no value.`);
    throw usageError(ctx.command, msg);
  }
  const values = parsed.values as Record<string, unknown>;
  for (const [k, o] of Object.entries(ctx.options)) {
    if (!o.choices) continue;
    const v = values[k];
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      if (!o.choices.includes(String(item))) throw choiceError(ctx.command, k, String(item), o.choices);
    }
  }
  return { values, positionals: parsed.positionals };
};

export const durationArg = (command: string, flag: string, v: unknown, fallback: string): number => {
  const text = typeof v === 'string' ? v : fallback;
  try {
    return parseDuration(text);
  } catch (e) {
    throw usageError(command, `--${flag}: ${(e as Error).message}`);
  }
};

export const intArg = (command: string, flag: string, v: unknown, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw usageError(command, `--${flag} takes a whole number, not "${String(v)}".`);
  return n;
};

/** The string value of an option, or undefined (empty strings count as absent). */
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
