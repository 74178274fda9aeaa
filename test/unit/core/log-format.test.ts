/** Log lines: readable on a terminal, JSON when asked or when stderr is not a terminal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logFormat, textLogLine } from '../../../core/telemetry.ts';

test('a pino JSON line reads as one sentence with its fields', () => {
  const line = JSON.stringify({ level: 40, time: '2026-01-01T00:00:00.000Z', msg: 'The kernel granted a smaller UDP receive buffer.', requested: 33554432, granted: 8388608, where: { a: 1 } });
  assert.equal(textLogLine(line), 'conduitwatch: warning: The kernel granted a smaller UDP receive buffer. (requested=33554432, granted=8388608, where={"a":1})\n');
  assert.equal(textLogLine('not json\n'), 'not json\n');
});

test('JSON lines when asked or when stderr is not a terminal, text on a terminal', () => {
  assert.equal(logFormat({}, true), 'text');
  assert.equal(logFormat({}, false), 'json');
  assert.equal(logFormat({ CONDUITWATCH_LOG_FORMAT: 'json' }, true), 'json');
  assert.equal(logFormat({ CONDUITWATCH_LOG_FORMAT: 'text' }, false), 'text');
});
