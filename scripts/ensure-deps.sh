#!/usr/bin/env bash
# Installs what conduitwatch needs on a fresh machine: npm packages (from package-lock.json)
# and, with --system and when root, the Debian tools the tests compare against.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm ci` refuses this lock file: chdb's optional macOS/arm builds are not on every registry
  # mirror, so they are absent from the lock. `npm install --no-save` installs exactly the locked
  # versions for this platform and leaves package-lock.json alone.
  echo "conduitwatch: installing npm packages (locked versions)…" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
fi

if [ "${1:-}" = "--system" ]; then
  # Real peers and services the tests use: tshark (peer decoder), softflowd (NetFlow/IPFIX exporter),
  # nfdump/nfcapd (peer collector), redis-server (BullMQ), Java 17 + Maven (Kafka broker jars),
  # nftables + iproute2 (enforcement tested in network namespaces: nft, ip netns),
  # clickhouse-server (the server store's transport and fault tests; Debian ships 18.16).
  missing=()
  command -v tshark >/dev/null || missing+=(tshark)
  command -v softflowd >/dev/null || missing+=(softflowd)
  command -v nfcapd >/dev/null || missing+=(nfdump)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v kcat >/dev/null || missing+=(kcat)
  command -v nft >/dev/null || missing+=(nftables)
  command -v ip >/dev/null || missing+=(iproute2)
  # SIEM receiver (rsyslogd; its TLS driver is a package of its own, found by its module) and the
  # headless browser of the dashboard pictures and the approval console test.
  command -v rsyslogd >/dev/null || missing+=(rsyslog)
  [ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || missing+=(rsyslog-gnutls)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "conduitwatch: installing Debian packages: ${missing[*]}…" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
      echo "conduitwatch: the tests need: ${missing[*]}. Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
fi
