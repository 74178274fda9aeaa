/** The command line's vocabulary: misspelt options get a suggestion, enum errors list the choices. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choiceError, editDistance, listArg, nearest, parseCommandArgs, type Options } from '../../../cli/args.ts';
import { commandOptions, COMMAND_NAMES } from '../../../cli/main.ts';

const replay = commandOptions('replay')!;
const others = Object.fromEntries(COMMAND_NAMES.map((c) => [c, Object.keys(commandOptions(c)!)]));
const parse = (command: string, argv: string[], options: Options = commandOptions(command)!) => parseCommandArgs({ command, options, others }, argv);
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected an error');
};

test('a misspelt option is answered with the nearest one', () => {
  const cases: [string, string[], RegExp][] = [
    ['replay', ['x.pcap', '--sit', 'a.yaml'], /Unknown option --sit: did you mean --site\?/],
    ['replay', ['x.pcap', '--sight', 'a.yaml'], /did you mean --site\?/],
    ['replay', ['x.pcap', '--jsno'], /did you mean --json\?/],
    ['sql', ['--dat', 'd', 'SELECT 1'], /did you mean --data\?/],
    ['eval', ['s.yaml', '--fail-on-regresion'], /did you mean --fail-on-regression\?/],
  ];
  assert.ok(cases.length > 0);
  for (const [cmd, argv, want] of cases) assert.match(message(() => parse(cmd, argv)), want, `${cmd} ${argv.join(' ')}`);
});

test('an option of another command says whose it is and lists this command\'s options', () => {
  const m = message(() => parse('replay', ['x.pcap', '--listen', 'udp://0.0.0.0:2055']));
  assert.match(m, /--listen \(an option of .*collect.*, not of replay\)/);
  assert.match(m, /Options of replay: .*--site/);
  assert.match(m, /conduitwatch replay --help/);
});

test('a renamed option says what to write now', () => {
  assert.match(message(() => parse('demo', ['--dir', 'x'])), /--dir: write --data DIR\/data for the store and --out DIR\/plant\.pcap/);
});

test('every command takes --quiet, and the shared names mean one thing', () => {
  assert.ok(COMMAND_NAMES.length >= 10);
  for (const c of COMMAND_NAMES) {
    const o = commandOptions(c)!;
    assert.equal(o.quiet?.type, 'boolean', `${c} --quiet`);
    for (const [name, type] of [['data', 'string'], ['site', 'string'], ['json', 'boolean'], ['run', 'string']] as const) {
      if (o[name]) assert.equal(o[name]!.type, type, `${c} --${name}`);
    }
  }
  for (const c of ['replay', 'demo', 'sql', 'runs', 'rules', 'audit', 'serve']) assert.ok(commandOptions(c)!.data, `${c} --data`);
  for (const c of ['replay', 'demo', 'sql', 'runs', 'rules', 'audit', 'eval', 'flows', 'collect', 'simulate']) assert.ok(commandOptions(c)!.json, `${c} --json`);
});

test('enum errors list the valid choices and the nearest one', () => {
  assert.match(message(() => parse('serve', ['--role', 'detecter'])), /--role: "detecter" is not a valid choice \(did you mean detector\?\); choose all, collector, detector, sink or query/);
  assert.match(message(() => parse('replay', ['x', '--format', 'yaml'])), /choose text or json/);
  const kinds = ['new_talker', 'scan', 'polling_stop'];
  assert.match(message(() => listArg('simulate', 'inject', 'scan,scam', kinds, { all: true })), /--inject: "scam" is not a valid choice \(did you mean scan\?\); choose new_talker, scan, polling_stop or all/);
  assert.deepEqual(listArg('simulate', 'inject', 'scan, all', kinds, { all: true }), ['scan', 'all']);
  assert.match(choiceError('x', 'f', 'zz', ['a', 'b']).message, /"zz" is not a valid choice; choose a or b/);
});

test('a string option without its value, and a switch given a value, are named', () => {
  assert.match(message(() => parse('replay', ['x.pcap', '--site'])), /--site needs a value/);
  assert.match(message(() => parse('replay', ['x.pcap', '--json=yes'])), /--json is a switch and takes no value/);
  assert.match(message(() => parse('replay', ['x.pcap', '-site', 'a'])), /options take two dashes, --site/);
});

test('after -- every token is a positional, and known options parse', () => {
  const r = parse('replay', ['--site', 'a.yaml', '--json', '--', '--weird-name.pcap']);
  assert.deepEqual(r.positionals, ['--weird-name.pcap']);
  assert.equal(r.values.site, 'a.yaml');
  assert.equal(r.values.json, true);
  assert.ok(replay.site);
});

test('nearest prefers a prefix, then the smallest edit distance, and suggests nothing far away', () => {
  assert.deepEqual(nearest('sit', ['site', 'json']), ['site']);
  assert.equal(editDistance('sihgt', 'sight'), 1, 'a transposition is one edit');
  assert.deepEqual(nearest('zzzzzz', ['site', 'json', 'data']), []);
});
