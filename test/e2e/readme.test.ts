/**
 * The README as a new user meets it: every ```sh block is run as written, top to bottom, in a fresh
 * copy of the clone with the recorded data at ../shared/data, and each must exit as expected and show
 * one sign that it worked. A ```text block is not run and must say next to it why. The copy holds the
 * files git knows (tracked, and new ones not ignored), so a block that needs a file the repository
 * lacks fails here as it would on a fresh clone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot, requireTool, sharedData } from '../support/data.ts';

interface Block { lang: string; body: string; line: number; before: string; after: string }

/** The fenced blocks of a Markdown text, each with the prose right before and after it. */
export const fencedBlocks = (md: string): Block[] => {
  const lines = md.split('\n');
  const blocks: Block[] = [];
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) { prose.push(lines[i]!); continue; }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const prev = blocks.at(-1);
    if (prev) prev.after = prose.join('\n');
    blocks.push({ lang: open[1]!, body: body.join('\n'), line: start + 1, before: prose.join('\n'), after: '' });
    prose = [];
  }
  const last = blocks.at(-1);
  if (last) last.after = prose.join('\n');
  return blocks;
};

/** The paragraph next to a block: the last one before it, the first one after it. */
const adjacent = (b: Block): string => {
  const paras = (s: string) => s.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  return `${paras(b.before).at(-1) ?? ''}\n${paras(b.after)[0] ?? ''}`;
};

interface Outcome { code: number | null; out: string; err: string; cwd: string }

/**
 * What each ```sh block must show, in README order. `first` is how the block's first line starts,
 * so a block added, removed or moved in the README fails here until this list says what it proves.
 */
const expectations: { first: string; exit?: number; needs?: [tool: string, install: string]; check: (o: Outcome) => void }[] = [
  { first: 'npm run demo', check: (o) => assert.match(o.out, /6 of 6 injected anomalies alerted inside their interval/) },
  { first: 'npx conduitwatch replay ../shared/data/lemay/send_a_fake_command', check: (o) => assert.match(o.out, /CRITICAL \(risk [\d.]+\) {2}field->field/) },
  { first: 'npx conduitwatch sql "SELECT conduit, detector', check: (o) => {
    assert.match(o.out, /field->field/);
    assert.match(o.out, /severity: +critical[\s\S]*write_single_coil/);
  } },
  { first: 'npx conduitwatch flows ../shared/data/pcaps/ModbusTCP', check: (o) => {
    const rows = o.out.trim().split('\n').map((l) => JSON.parse(l) as { dstPort: number; l7?: string });
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.dstPort === 502), o.out);
  } },
  { first: 'npx conduitwatch simulate --out plant.pcap', check: (o) => {
    assert.ok(existsSync(join(o.cwd, 'plant.pcap.labels.json')));
    assert.match(o.out, /scada->field +ready since \d\d:\d\d:\d\d/);
    // The site and the simulated plant agree: no note asking to check site.yaml.
    assert.doesNotMatch(o.out, /check site\.yaml/);
  } },
  { first: 'npx conduitwatch replay ../shared/data/but-iec104/', check: (o) => {
    assert.match(o.out, /scada->substation +ready since \d\d:\d\d:\d\d/);
    assert.match(o.out, /"dstPort":502/);
  } },
  { first: 'node bin/conduitwatch.mjs collect --listen udp://127.0.0.1:2055', needs: ['softflowd', 'apt-get install softflowd'], check: (o) => {
    const flows = readFileSync(join(o.cwd, 'flows.jsonl'), 'utf8').trim().split('\n').filter(Boolean);
    assert.ok(flows.length > 100, `${flows.length} flow records received`);
    assert.match(o.out, new RegExp(`stopped: \\d+ datagrams, ${flows.length} records`));
  } },
  { first: 'npx conduitwatch eval evals/lemay.yaml', check: (o) => {
    assert.ok(existsSync(join(o.cwd, 'new.json')));
    assert.match(o.out, /compared with the old result/);
  } },
  { first: 'capture=../shared/data/lemay/', check: (o) => {
    assert.match(readFileSync(join(o.cwd, 'site.yaml'), 'utf8'), /^zones:/m);
    assert.match(readFileSync(join(o.cwd, 'evidence.md'), 'utf8'), /^# IEC 62443 evidence/m);
  } },
  { first: 'npx conduitwatch dashboards build', check: (o) => {
    assert.match(o.out, /Wrote \d+ dashboards/);
    assert.ok(readdirSync(join(o.cwd, 'infra', 'grafana', 'dashboards')).some((f) => f.endsWith('.json')));
  } },
  { first: 'npx conduitwatch train ../shared/data/lemay/', check: (o) => {
    assert.match(o.out, /lemay@1 +id [0-9a-f]+/);
    assert.match(o.out, /\(forecast lemay@1 from the last 6 windows/);
  } },
  { first: 'npx conduitwatch replay ../shared/data/lemay/send_a_fake_command', exit: 3, check: (o) => {
    assert.match(o.out, /^INTACT: /m);
    assert.match(o.out, /NOT promotable: 2 blocked flow/);
  } },
];

const copyClone = (to: string): void => {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: projectRoot, encoding: 'utf8' })
    .split('\0').filter(Boolean);
  assert.ok(files.length > 100, `git lists ${files.length} files`);
  for (const f of files) {
    const src = join(projectRoot, f);
    if (f === '.cache' || !existsSync(src)) continue; // a tracked file deleted in the work tree
    mkdirSync(dirname(join(to, f)), { recursive: true });
    // Timestamps kept: package-lock.json newer than node_modules would make the demo reinstall.
    cpSync(src, join(to, f), { preserveTimestamps: true, verbatimSymlinks: true });
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(to, 'node_modules'));
};

const runBlock = (body: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Outcome> => new Promise((resolve, reject) => {
  const script = join(cwd, '..', 'block.sh');
  writeFileSync(script, `${body}\n`);
  // A process group of its own, so whatever a block left running in the background is stopped.
  const child = spawn('bash', ['-eo', 'pipefail', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killGroup = (signal: NodeJS.Signals) => {
    try { process.kill(-child.pid!, signal); } catch { /* the group is gone */ }
  };
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const timer = setTimeout(() => killGroup('SIGKILL'), 120_000);
  child.on('error', reject);
  let code: number | null = null;
  child.on('exit', (c) => {
    code = c;
    killGroup('SIGTERM'); // the pipes close once nothing of the group holds them
  });
  child.on('close', () => {
    clearTimeout(timer);
    resolve({ code, out, err, cwd });
  });
});

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
const blocks = fencedBlocks(readme);

test('every README code block is marked sh (run by this test) or text (not run, with the reason beside it)', () => {
  assert.ok(blocks.length > 10, `${blocks.length} blocks`);
  const unmarked = blocks.filter((b) => b.lang !== 'sh' && b.lang !== 'text').map((b) => `line ${b.line}: \`\`\`${b.lang}`);
  assert.deepEqual(unmarked, []);
  const commands = blocks.filter((b) => b.lang === 'text' && /^\s*(npx |npm |conduitwatch )/m.test(b.body));
  assert.ok(commands.length > 0);
  const silent = commands.filter((b) => !/Not run by the README test: \S/.test(adjacent(b))).map((b) => `line ${b.line}`);
  assert.deepEqual(silent, [], 'a text block of commands says beside it why the README test does not run it');
});

test('every relative link of the README points at a file of the clone', () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(links.length > 5, `${links.length} links`);
  assert.deepEqual(links.filter((l) => !existsSync(join(projectRoot, l))), []);
  assert.doesNotMatch(readme, /\.\.\/shared\/(?!data)/, 'a user from the web has ../shared/data at most');
});

test('the README sh blocks run as written on a fresh copy of the clone, top to bottom', async (t) => {
  const sh = blocks.filter((b) => b.lang === 'sh');
  assert.equal(sh.length, expectations.length, `README has ${sh.length} sh blocks, the test knows ${expectations.length}: ${sh.map((b) => b.body.split('\n')[0]).join(' | ')}`);
  sh.forEach((b, i) => assert.ok(b.body.startsWith(expectations[i]!.first), `sh block ${i + 1} (README line ${b.line}) starts "${b.body.split('\n')[0]}", expected "${expectations[i]!.first}"`));
  if (!sharedData(t, 'lemay')) return;

  const root = mkdtempSync(join(tmpdir(), 'cw-readme-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const clone = join(root, 'conduitwatch');
  copyClone(clone);
  mkdirSync(join(root, 'shared'));
  symlinkSync(sharedData(t, '')!, join(root, 'shared', 'data'));
  // npx links the clone into its cache once per path: a cache of the test's own leaves ~/.npm alone.
  const env = { ...process.env, npm_config_cache: join(root, 'npm-cache'), npm_config_update_notifier: 'false' };

  for (const [i, b] of sh.entries()) {
    const e = expectations[i]!;
    await t.test(`README line ${b.line}: ${b.body.split('\n')[0]}`, async (st) => {
      if (e.needs && !(await requireTool(st, e.needs[0], e.needs[1]))) return;
      const o = await runBlock(b.body, clone, env);
      const shown = `--- stdout\n${o.out.slice(-3000)}\n--- stderr\n${o.err.slice(-3000)}`;
      assert.equal(o.code, e.exit ?? 0, shown);
      assert.doesNotMatch(o.err, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace on stderr\n${shown}`);
      e.check(o);
    });
  }
});
