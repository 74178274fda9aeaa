#!/usr/bin/env bash
# The test command (README: `npm test`): installs what is missing, then typecheck, lint and
# every test on node:test. Set TEST_ONLY=path/prefix to run a subset while developing.
set -euo pipefail
cd "$(dirname "$0")/.."
export TZ=UTC
bash scripts/ensure-deps.sh --system
# Kafka broker jars from Maven Central into .cache/ (skipped when cached), so no test waits on a download.
node --import tsx infra/services/prefetch.ts

echo "== typecheck" >&2
npx tsc --noEmit -p tsconfig.json
echo "== lint" >&2
npx eslint --max-warnings 0 .
echo "== tests" >&2
mapfile -t files < <(find test -name '*.test.ts' -path "test/${TEST_ONLY:-}*" | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files under test/${TEST_ONLY:-}" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
