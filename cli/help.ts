/** `--help` texts: each teaches by example. Kept beside the commands they describe. */
export const HELP: Record<string, string> = {
  main: `conduitwatch — learn normal OT traffic per conduit, alert on deviation, and only then block.

Usage: conduitwatch <command> [options]

Commands:
  demo       simulate a small plant with injected anomalies, replay it, print the report
  replay     replay captures or flow files through the detectors into ClickHouse, print findings
  flows      print the flow records of captures or flow files, one JSON per line
  simulate   write a pcap of a simulated plant (Modbus/TCP) and its ground-truth labels
  sql        run a read-only SQL query on the store (the newest run unless --run says otherwise)
  runs       list, show or delete the runs (replays, demos, serve sinks) a store holds
  eval       score detectors on labelled recordings: hits, misses, precision/recall, false alerts/day
  serve      run as a service: collector, detector and sink roles over Kafka (or all in one process)
  collect    receive NetFlow v5/v9 and IPFIX on a UDP port, print the flow records
  rules      allow-list rules from a conduit's stored baseline: propose (readiness gate), what-if, waive, nftables;
             and the promotion workflow: submit, approve, schedule, status, abort, rollback
  audit      verify the tamper-evident audit trail of rule steps
  console    the approval console and HTTP API, with the promote-to-block workflow worker
  accounts   named accounts, roles and API tokens of the console and the API
  train      train the learned cadence models (autoencoder, GRU forecast) on baseline traffic, with a model card
  models     list, show and diff trained models; eval: are they worth running on a data set?
  inventory  list every asset the traffic shows (role, identity, MAC), suggest a site.yaml
  report     IEC 62443 evidence of a stored run (report evidence)

  dashboards build the Grafana dashboards (dashboards/) to JSON under infra/grafana/dashboards/

Examples:
  conduitwatch demo
  conduitwatch replay ../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap --site examples/lemay/site.yaml
  conduitwatch flows conduitwatch-demo/plant.pcap | head
  conduitwatch sql "SELECT severity, conduit, detector, count() FROM alerts GROUP BY ALL ORDER BY 4 DESC"
  conduitwatch runs list
  conduitwatch inventory plant.pcap --suggest-site site.yaml

In a clone, run it as 'npx conduitwatch …' from the checkout ('npm link' once puts conduitwatch on PATH).
The same option means the same thing in every command: --data DIR the store (default ./conduitwatch-data),
--site FILE the site config, --run the stored run (newest by default), --json one JSON document on stdout,
--quiet no progress on stderr. Run 'conduitwatch <command> --help' for a command's options.
Logs go to stderr: readable lines on a terminal, JSON lines otherwise or with CONDUITWATCH_LOG_FORMAT=json;
CONDUITWATCH_LOG=info (or debug) for more.`,

  replay: `conduitwatch replay — the main job: inputs → flows → windows and detectors → ClickHouse → report

Usage: conduitwatch replay <inputs…> --site site.yaml [--data DIR] [--json] [--top N] [--no-store]

Inputs, read in the order given as one event-time stream, are recognised by their content:
pcap/pcapng captures (Modbus/TCP, IEC 104, DNP3, S7comm, MMS, EtherNet/IP-CIP, OPC UA and BACnet
dissected), Zeek conn.log folders or files (TSV or JSON, .gz too, joined with modbus/dnp3/s7comm/…
protocol logs), nfdump CSV (nfdump -o csv), IPFIX files (RFC 5655), the BUT IEC 104 / MMS message CSVs,
and any CSV with a --mapping file. Each conduit learns for its baseline (detection.baseline in
site.yaml, default one productionCycle), then windows that deviate raise alerts. Every alert gets a
severity (info … critical) from what is at stake — the zones' target SL, a security-relevant operation,
the detector's class — and its score; related alerts (same conduit, source or cause within
incidents.gap) form incidents, which the report lists most severe first (incidents/README.md).

Each replay is one run in the store (its own run_id, a row in the runs table); several runs live side
by side ('conduitwatch runs list'). Ctrl-C stops reading: what was read is scored, stored (the run is
marked interrupted) and reported; a second Ctrl-C quits at once.

Options:
  --site FILE     site config: zones, conduits, production cycle (required; see examples/*/site.yaml;
                  none yet? conduitwatch inventory <inputs> --suggest-site site.yaml drafts one)
  --data DIR      the store: a chDB data directory                    [default: ./conduitwatch-data]
  --no-store      do not write to the store (just report)
  --json          print one JSON report on stdout: alerts (findings) with conduit, src, dst, proto,
                  dstPort, tsStart, tsEnd, score, detector, explanation, severity, risk,
                  severityReason, incident; incidents with severity, summary, alertIds, first/last seen
  --format F      text | json (json = --json)                         [default: text]
  --top N         incidents listed in the text report                 [default: 10]
  --mapping FILE  read the inputs as generic CSV with this column mapping (ingest/files/README.md)
  --quiet         no progress on stderr
  --model NAME[@V]  also run this trained model's detectors (autoencoder, forecast); repeatable
  --models DIR    the model store                                       [default: ./conduitwatch-models]
  --backend B     TensorFlow.js backend: auto (tfjs-node, else wasm, else cpu), tensorflow, wasm, cpu

Examples:
  conduitwatch replay conduitwatch-demo/plant.pcap --site examples/sim/site.yaml
  conduitwatch replay plant.pcap --site examples/sim/site.yaml --model plant@1
  conduitwatch replay ../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap \\
      --site examples/lemay/site.yaml --json | jq '.incidents[0].summary'
  conduitwatch replay ../shared/data/but-iec104/mega104-14-12-18.csv --site examples/but-iec104/site.yaml

Exit status: 0 done (alerts or not), 2 bad config or unreadable input, 130 interrupted (what was read is
stored), 1 other failure.`,

  inventory: `conduitwatch inventory — every asset the traffic shows, its role and identity; a suggested site.yaml

Usage: conduitwatch inventory <inputs…> [--suggest-site out.yaml] [--site site.yaml] [--json]

Reads the inputs passively (nothing is sent to any device) and lists, per IP address: the MAC and its
vendor (IEEE OUI registry), protocols and services, peers, first/last seen, the device identity the
traffic reveals (Modbus read device identification, S7 SZL, EtherNet/IP ListIdentity and CIP identity,
BACnet I-Am / ReadProperty, OPC UA application descriptions, DNP3 addresses), and a role from
behaviour with a confidence and its evidence:
  PLC/RTU            answers industrial-protocol requests
  HMI/SCADA master   polls several devices on a cadence (operator writes add to it)
  historian          reads on a cadence, never writes, serves the IT side or polls slowly
  engineering        sends program / stop / reset / download operations, irregularly
  unknown            none of these
Changes are flagged: a new MAC on a known IP, an identity (firmware, model, serial) that changes, a
device that only answered so far and starts commanding others, a first engineering operation.

Options:
  --suggest-site FILE  write a draft site.yaml: zones by role and communication (field SL-T 3, control
                       SL-T 2, historian 2, engineering 3, other 1), conduits with their services, and
                       comments that say why; replay runs on it unchanged. Review it before you rely on it.
  --site FILE          also compare a declared site with what was seen: assets in no zone, declared
                       conduits never used, traffic on undeclared conduits, zones whose behaviour
                       contradicts their SL-T (an SL 3 device talking to the internet …)
  --json               one JSON report: assets[] (ip, mac, role, confidence, evidence, flags, identity
                       fields, identities[] with times, protocols, services, peers, firstSeen, lastSeen),
                       changes[], suggestion, comparison
  --mapping FILE       read the inputs as generic CSV with this column mapping
  --quiet              no progress on stderr

Examples:
  conduitwatch inventory capture.pcap --suggest-site site.yaml
  conduitwatch replay capture.pcap --site site.yaml
  conduitwatch inventory ../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap --site examples/lemay/site.yaml
  conduitwatch inventory ../shared/data/pcaps/s7/s7comm_reading_plc_status.pcap --json | jq '.assets[] | {ip, role, model, firmware}'

Exit status: 0 done, 2 bad config or unreadable input, 1 other failure.`,

  report: `conduitwatch report evidence — IEC 62443 evidence of a stored run, for an auditor

Usage: conduitwatch report evidence --site site.yaml [--data DIR] [--run RUN] [--format md|json]

Reads the store a replay (or serve) wrote and states, per zone, its SL-T and assets (with role and
identity); per conduit, what is monitored (windows, detectors), baseline coverage in production cycles
and cycle phases, alerts, rule and promotion state and the audit trail; then which IEC 62443-3-3 system
requirements (SR 6.2 continuous monitoring, SR 7.8 component inventory, SR 5.1/5.2 segmentation and
boundary protection, SR 2.8/3.9/6.1 audit, SR 3.1/3.5 …) the installation produces evidence for, in
part, or not. It says what was recorded; it is not a conformity assessment.

Options:
  --site FILE     the site.yaml the run was replayed with (required: the store holds no site)
  --data DIR      chDB data directory                                    [default: ./conduitwatch-data]
  --run RUN       the run to report                                      [default: the newest]
  --format F      md (Markdown tables) or json                           [default: md]

Examples:
  conduitwatch replay capture.pcap --site site.yaml
  conduitwatch report evidence --site site.yaml > evidence.md
  conduitwatch report evidence --site examples/lemay/site.yaml --format json | jq '.srs[] | select(.status != "none")'

Exit status: 0 done, 2 bad arguments or no such run, 1 other failure.`,

  flows: `conduitwatch flows — print flow records (the FlowRecord contract), one JSON object per line

Usage: conduitwatch flows <inputs…> [--format jsonl] [--slice 60s] [--mapping FILE]

Inputs as for replay: pcap/pcapng, Zeek log folders, nfdump CSV, IPFIX files, BUT CSVs, mapped CSV.

Each record is one direction-normalised flow slice (initiator = client) with packets/bytes both ways,
and, where the input has payload, l7 (e.g. modbus) and l7Ops (operation → count) / l7OpsRev (responses).

Options:
  --format jsonl   output format (only jsonl for now)                   [default: jsonl]
  --slice DUR      cut flows at event-time multiples of DUR              [default: 60s]
  --mapping FILE   read the inputs as generic CSV with this column mapping

Examples:
  conduitwatch flows ../shared/data/pcaps/ModbusTCP/Modbus/modbus_test.pcap
  conduitwatch flows plant.pcap | jq -c 'select(.l7Ops.write_single_coil)'
  conduitwatch flows /var/log/zeek/current | head
  nfdump -r nfcapd.202501010000 -o csv > flows.csv && conduitwatch flows flows.csv`,

  simulate: `conduitwatch simulate — write a real pcap of a small plant and a labels file

Usage: conduitwatch simulate --out plant.pcap [--duration 2h] [--cycle 30m] [--seed N] [--inject KINDS] [--json]

HMI and SCADA server poll PLCs over Modbus/TCP at set cadences with jitter, a historian reads every
10 s, the SCADA server writes setpoints in the batch phase of each production cycle. Injected anomalies
come after two full cycles; their exact intervals go to <out>.labels.json. Same options, same bytes.
examples/sim/site.yaml describes this plant with the default 30 m cycle: a capture simulated with
another --cycle needs a site with that productionCycle.

Options:
  --out FILE        pcap to write (required)
  --duration DUR    event time to simulate                              [default: 2h]
  --cycle DUR       production cycle length                             [default: 30m]
  --seed N          PRNG seed                                           [default: 1]
  --start ISO       first packet time                                   [default: 2025-03-03T06:00:00Z]
  --inject KINDS    comma list or 'all': new_talker, unusual_write, cadence_change, polling_stop,
                    scan, program_download                              [default: none]
  --json            print what was written (files, packets, labels) as JSON
  --quiet           no progress on stderr

Examples:
  conduitwatch simulate --out plant.pcap --inject all
  conduitwatch simulate --out day.pcap --duration 24h --seed 7
  conduitwatch replay plant.pcap --site examples/sim/site.yaml`,

  demo: `conduitwatch demo — the first thing to run: simulate, replay, report, check against the labels

Usage: conduitwatch demo [--out FILE] [--data DIR] [--duration 2h] [--seed N] [--json]

Writes a capture (default conduitwatch-demo/plant.pcap) with every anomaly kind injected, replays it
with examples/sim/site.yaml into the store (default conduitwatch-demo/data; each demo is one more run
there), prints the report, then says which injected anomalies were alerted inside their labelled
interval.

Options:
  --out FILE        the capture to write                        [default: conduitwatch-demo/plant.pcap]
  --data DIR        the store                                   [default: conduitwatch-demo/data]
  --duration DUR    simulated event time                                [default: 2h]
  --seed N          PRNG seed                                           [default: 1]
  --json            print the JSON report instead of text (--format json)
  --quiet           no progress on stderr

Examples:
  conduitwatch demo
  conduitwatch demo --duration 4h --seed 7 --out /tmp/plant-demo/plant.pcap --data /tmp/plant-demo/data
  conduitwatch sql --data conduitwatch-demo/data "SELECT severity, detector, count() FROM alerts GROUP BY ALL"

Exit status: 0 when every injected anomaly was alerted inside its interval, 1 otherwise.`,

  eval: `conduitwatch eval — judge the detectors on labelled recordings, and compare two runs

Usage: conduitwatch eval SPEC.yaml [--json] [--out FILE] [--compare OLD.json] [--fail-on-regression] [--fail-on-target] [--data-root DIR]

A spec names the site, baseline inputs (learned, never scored), test inputs, labels (time intervals,
Lemay per-packet or conversation labels, BUT MMS attack intervals, simulator labels), the window and
detector settings. The result: each labelled attack hit or missed with its detection delay and detector,
window-level precision/recall/F1, false alerts per conduit per day on normal traffic, alerts per detector.
The detectors and their settings come from the site's detection.detectors / detection.detectorConfig,
with the spec's own on top: copy a tuning that wins into site.yaml and replay and serve use it too.
Specs and committed results for the shared data sets are in evals/ (see evals/README.md).

Options:
  --json                 print the result JSON instead of tables
  --out FILE             also write the result JSON to FILE (diffs cleanly: no processing times)
  --compare OLD.json     show what changed against an earlier result: attacks newly detected/missed,
                         Δ precision/recall/F1, Δ false alerts per conduit per day, per-detector counts
  --fail-on-regression   with --compare: exit 3 when an attack is newly missed or false alerts rise
  --fail-on-target       exit 4 when a target is missed: a labelled attack not detected, or a conduit
                         with 1 or more false alerts per day
  --data-root DIR        where the spec's input and label paths are resolved  [default: the spec's dataRoot]

Examples:
  conduitwatch eval evals/lemay.yaml
  conduitwatch eval evals/but-mms.yaml --out /tmp/mms.json --compare evals/results/but-mms.json
  conduitwatch eval evals/but-iec104.yaml --json | jq '.summary'
  conduitwatch eval evals/but-mms.yaml --fail-on-target    # in CI: non-zero when a target is missed`,

  serve: `conduitwatch serve — the distributed mode: roles that talk only through Kafka

Usage: conduitwatch serve --site site.yaml [--role R]… [--kafka HOST:PORT[,…]] [--listen URL]
                          [--allow-exporter CIDR]… [--data DIR] [--http HOST:PORT|off] [--run-id ID] [--prefix P]
                          [--spool DIR] [--spool-max SIZE] [--spool-age DURATION] [--connect-timeout DURATION] [files…]

Roles: collector (NetFlow/IPFIX on --listen, or the files given, → conduitwatch.flows.v1 as Arrow batches),
detector (a consumer group on flows: one detection engine per partition, state checkpointed to the
compacted conduitwatch.state.v1 and restored when a partition moves; scores and alerts out, each alert
with its severity and incident, the incidents beside them on the alerts topic), sink
(flows, scores, alerts, incidents → ClickHouse; offsets committed only after the insert, each insert with a
deduplication token from topic/partition/offset range, so a retried batch never duplicates rows;
flows also deduplicate on their record ids, so a publish that landed twice is stored once).
While the bus refuses publishes the collector spools them to disk (--spool) and publishes them in
order once it is back. SIGTERM stops each role within 15 s; what could not be written stays in the
spool or uncommitted on the bus, and a log line says how much; then a summary line says what each
role did. With files, log lines say when they are published and, when the detector and sink run in
the same process, when all of it is scored and stored (serve keeps serving until stopped).
A broker that cannot be reached at start is one error line with its address and the fix; serve
tries again with backoff and, after --connect-timeout, exits 1.
Without --kafka only --role all runs, on the in-process bus.

Options:
  --role R        collector | detector | sink | all; repeatable              [default: all]
  --kafka H:P     Kafka bootstrap broker(s), comma-separated
  --site FILE     site.yaml (required)
  --listen URL    collector: udp://HOST:PORT for NetFlow v5/v9 and IPFIX     [default: udp://0.0.0.0:2055]
                  give the address of the interface the exporters reach, not 0.0.0.0
  --allow-exporter CIDR  collector: only exports from these addresses/blocks (repeatable, or a
                  comma list); others are dropped and counted (exporter_denied). UDP has no
                  authentication: set it in production
  --data DIR      sink: chDB data directory                                 [default: ./conduitwatch-data]
                  detector: edges learned there (rules learn/unlearn) are known to novelty; read
                  when a partition's engine is built or restored, so a decision reaches a running
                  detector at its next rebalance or restart
  --http H:P      /healthz, /readyz and Prometheus /metrics; "off" disables  [default: 127.0.0.1:9464]
  --run-id ID     run_id on stored rows; keep it stable across restarts       [default: serve-<site>]
  --prefix P      topic and consumer group prefix (several deployments on one cluster)
  --connect-timeout D  how long to keep trying brokers that cannot be reached at start   [default: 2m]
  --spool DIR     collector: on-disk queue for publishes the bus refuses      [default: ./conduitwatch-spool]
  --spool-max N   collector: most bytes spooled, e.g. 512MiB; oldest dropped   [default: 1GiB]
  --spool-age D   collector: spooled publishes older than this are dropped     [default: 24h]
  --query-listen U  sink: the read-only ClickHouse HTTP endpoint on the store, for Grafana and
                  'conduitwatch sql'; "off" disables                       [default: http://127.0.0.1:8123]

  --siem URL      alerts also to a SIEM as syslog: udp://H:P, tcp://H:P (octet-counted) or tls://H:P
  --siem-format F rfc5424 (fields as structured data) | cef                  [default: rfc5424]
  --siem-ca FILE  TLS: the CA that signed the SIEM's certificate             [default: system CAs]
  --model NAME[@V]  detector role: also run this trained model (conduitwatch train); its version
                  is pinned at start and named in the snapshots on the state topic (a restored
                  engine runs the version its snapshot names); --models DIR, --backend B as for replay

Role query (alone): serve a finished chDB store read-only, e.g. after a replay:
  conduitwatch serve --role query --data DIR --listen http://127.0.0.1:8123
Credentials for the endpoint: CONDUITWATCH_QUERY_USER / CONDUITWATCH_QUERY_PASSWORD, or
CONDUITWATCH_QUERY_TOKEN (bearer); without them only loopback is allowed.

Examples:
  conduitwatch serve --site site.yaml --role all                                  # one process, in-process bus
  conduitwatch serve --site site.yaml --kafka 10.0.0.5:9092 --role collector --listen udp://10.0.0.5:2055 --allow-exporter 10.0.1.0/24
  conduitwatch serve --site site.yaml --kafka 10.0.0.5:9092 --role detector       # start several: one group
  conduitwatch serve --site site.yaml --kafka 10.0.0.5:9092 --role sink --data /var/lib/conduitwatch
  curl -s 127.0.0.1:9464/metrics | grep conduitwatch_
  conduitwatch serve --role query --data conduitwatch-demo/data                   # Grafana reads it on :8123
  conduitwatch serve --site site.yaml --kafka 10.0.0.5:9092 --role sink --siem tls://siem.example:6514 --siem-format cef`,

  collect: `conduitwatch collect — a NetFlow v5, v9 and IPFIX collector on one UDP socket

Usage: conduitwatch collect --listen udp://HOST:PORT [--allow-exporter CIDR]…

Writes one FlowRecord per line on stdout until SIGINT/SIGTERM, then flushes and exits 0; a summary
(datagrams, records, skipped datagrams by reason, sequence gaps) goes to stderr. Templates are kept
per (exporter ip:port, observation domain) and expire after 30 minutes without a refresh; each
exporter address has its own quota (8,192), so one exporter's template flood evicts only its own.
To publish the records to Kafka for the detectors instead, run the collector role:
  conduitwatch serve --role collector --kafka HOST:PORT --site site.yaml --listen udp://10.0.0.5:2055
The kernel caps the socket receive buffer at net.core.rmem_max; for high export rates raise it
(sysctl -w net.core.rmem_max=33554432). A port already in use is an error (exit 2) naming the fix.

Options:
  --listen URL     udp://0.0.0.0:2055, udp://[::]:4739, udp://127.0.0.1:0 (0 = a free port) (required)
  --allow-exporter CIDR  only accept exports from these addresses or blocks (repeatable, or a comma
                   list; --allow is the older spelling); others are dropped and counted
  --json           JSON lines (the only output; --format jsonl says the same)
  --quiet          no "listening" line on stderr (the summary stays)

Examples:
  conduitwatch collect --listen udp://10.0.0.5:2055 --allow-exporter 10.0.1.1 > flows.jsonl
  conduitwatch collect --listen udp://[2001:db8::5]:4739 --allow-exporter 2001:db8:1::/64 | jq -c 'select(.dstPort == 502)'

  # A capture exported by softflowd: start the collector first and wait until it listens, or
  # softflowd (which reads the file in a moment) sends everything before anyone receives it.
  # In the background run conduitwatch itself (npm link) or node bin/conduitwatch.mjs, not npx:
  # kill stops npx and leaves the collector under it running.
  conduitwatch collect --listen udp://127.0.0.1:2055 > flows.jsonl 2> collect.log &
  until grep -q listening collect.log; do kill -0 $! || break; sleep 0.2; done
  softflowd -r capture.pcap -n 127.0.0.1:2055 -v 10 -c none
  sleep 1; kill %1; wait`,

  sql: `conduitwatch sql — query the store that replay (or serve) wrote, read-only

Usage: conduitwatch sql [--data DIR] [--run latest|ID|all] [--format FMT | --json] [--write] "SQL"

Tables: flows, windows (scores ≥ 0.1 and every alerted one), series (rate and cadence per edge-window),
alerts, incidents, assets, inventory, conduits, runs (store/README.md has the columns).

Reads one run: the tables that hold rows per run (flows, windows, series, alerts, incidents, assets,
conduits …) are filtered to the newest run, or to --run ID (a unique prefix is enough), so a query
gives one run's answer in a store that holds several; --run all reads every run. A note on stderr
says which run was read when the store holds more than one (not with --quiet).

Read-only unless --write: one SELECT, WITH, SHOW, DESCRIBE, EXISTS or EXPLAIN statement, run with
ClickHouse's readonly=1 (so DROP, INSERT, ALTER, a second statement, file() and INTO OUTFILE are
refused). A directory that is not a conduitwatch store is refused and left untouched.
While 'conduitwatch serve' holds the directory, the query goes to its read-only HTTP endpoint
(set CONDUITWATCH_QUERY_PASSWORD or CONDUITWATCH_QUERY_TOKEN if serve was started with one).

Options:
  --data DIR      the store                                             [default: ./conduitwatch-data]
  --run R         latest | a run id (or a unique prefix) | all          [default: latest]
  --format FMT    ClickHouse output format                              [default: PrettyCompactMonoBlock]
  --json          one JSON object per row (JSONEachRow)
  --write         allow statements that change the store (ALTER, INSERT, OPTIMIZE …)
  --quiet         no note on stderr

Tables: flows, windows, alerts (with severity, risk, severity_reason, incident), incidents (read with
FINAL), assets, conduits, runs (read with FINAL), rules, audit (see store/README.md for the columns).

Examples:
  conduitwatch sql "SELECT severity, conduit, detector, count() FROM alerts GROUP BY ALL ORDER BY 4 DESC"
  conduitwatch sql "SELECT ts_start, src, dst, dst_port, severity, risk, explanation FROM alerts ORDER BY risk DESC, score DESC LIMIT 5"
  conduitwatch sql "SELECT severity, summary FROM incidents FINAL ORDER BY risk DESC"
  conduitwatch sql --run all "SELECT run_id, count() FROM flows GROUP BY run_id"
  conduitwatch sql --json "SELECT * FROM assets"

Exit status: 0 done; 2 a refused statement, an unknown run, no store; 1 other failure.`,

  runs: `conduitwatch runs — the runs a store holds: list them, show one, delete one

Usage: conduitwatch runs list [--data DIR] [--json]
       conduitwatch runs show [RUN] [--data DIR] [--json]
       conduitwatch runs delete RUN [--data DIR]

Every replay and demo writes its rows under its own run id (and serve under --run-id), with one row
in the runs table: command, site, inputs, start and end, status (running, complete, interrupted,
failed), flows, alerts and incidents. list shows them newest first (the newest is what
'conduitwatch sql' reads unless --run says otherwise); show adds the rows each table holds for the
run and its most severe incidents; delete removes the run's rows from every table (the audit trail and
rule versions, which are not per run, stay). RUN is a run id or a unique prefix of one; show without
RUN shows the newest.

Options:
  --data DIR      the store                                             [default: ./conduitwatch-data]
  --json          the listing or the run as JSON

Examples:
  conduitwatch runs list
  conduitwatch runs show
  conduitwatch runs list --data conduitwatch-demo/data --json | jq -r '.[].runId'
  conduitwatch runs delete run-2026-01-01T10:00:00.000Z-1a2b3c4d

Exit status: 0 done; 2 no store, an unknown run; 1 other failure.`,

  rules: `conduitwatch rules — turn a conduit's stored baseline into an allow-list, and see what it would block

Usage: conduitwatch rules propose  --conduit 'FROM->TO' --site site.yaml [--data DIR] [--run latest|ID,…] [--out FILE] [--json]
       conduitwatch rules whatif   (--conduit 'FROM->TO' | --rule FILE) --site site.yaml [--data DIR] [--run …] [--json]
       conduitwatch rules waive    (--conduit 'FROM->TO' | --rule FILE) --site site.yaml --edge SRC>DST/PROTO/PORT [--op OP]
                                   --by NAME --reason TEXT [--out FILE]
       conduitwatch rules nft      --rule FILE --site site.yaml [--json]
       conduitwatch rules apply    (--conduit 'FROM->TO' | --rule FILE) --site site.yaml [--data DIR] [--netns NS] [--dry-run]
       conduitwatch rules rollback --conduit 'FROM->TO' --site site.yaml [--data DIR] [--netns NS] [--reason TEXT]

The order of the work: replay (or serve) until the conduit has a baseline, then
  propose  the readiness gate: the stored baseline must cover enforce.minCycles full production cycles
           (site.yaml; default 3) and every phase (1/12) of the cycle. If it does not, it refuses and says
           what is missing ("2 of 3 production cycles covered…; phases 7–9 of 12 never seen"). If it does,
           it learns one entry per edge (src, dst, proto, port) and, for dissected protocols, per op
           (Modbus function, DNP3 function, IEC 104 type id, …), each with its evidence: cycles it recurred
           in, first/last seen, flows, and whether it was first seen under an open alert. An entry seen in
           fewer than minCycles cycles, or first seen under an alert, is HELD for review (blocked until a
           person allows it) — so an attack that ran while the baseline was learned is not learned as normal.
  whatif   replays the rule over every stored flow of the conduit in ClickHouse and lists each flow it
           would have blocked and why. Not promotable while a blocked flow outside an open alert has no
           waiver. The same store and rule give byte-identical --json.
  waive    accepts, by name and with a reason, that some blocked flows will be blocked (a new rule version).
  nft      prints the nftables table the rule becomes (deny by default; Modbus function codes matched on
           the payload; what nftables cannot enforce is listed).
  apply    loads it atomically (nft -f, one table), after a what-if that must be promotable; the table that
           was live before is saved in DIR/enforce/. rollback puts it back. Both need root (CAP_NET_ADMIN).
           The approval workflow (named approver, maintenance window) wraps these steps; see enforce/README.md.
Every step is appended to the audit trail (DIR/audit.jsonl and the audit table) before it takes effect;
a step whose audit entry cannot be written does not happen.

Options:
  --conduit 'FROM->TO'  a conduit declared in site.yaml (or FROM->FROM inside one zone)
  --site FILE         the site config the data was replayed with (required)
  --data DIR          embedded ClickHouse (chDB) data directory                [default: ./conduitwatch-data]
  --run latest|IDs    which stored runs to read: the newest run that holds the conduit (default), or run ids
                      (comma-separated; see SELECT DISTINCT run_id FROM flows). Two replays of the same
                      capture are two runs: read one, or their flows count twice.
  --rule FILE         a rule file (JSON or YAML) instead of the newest stored proposal
  --out FILE          where to write the rule                        [default: DIR/rules/<conduit>-<hash>.json]
  --json              one JSON object on stdout
  --actor NAME        who acts, for the audit trail             [default: $CONDUITWATCH_ACTOR or the OS user]
  --role ROLE         the actor's role, for the audit trail
  --netns NS          run nft inside this network namespace (apply, rollback)
  --dry-run           run every check, change nothing (apply, rollback)

Examples:
  conduitwatch replay ../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap --site examples/lemay/site.yaml
  conduitwatch rules propose --conduit 'control->field' --site examples/lemay/site.yaml
  conduitwatch rules whatif --conduit 'control->field' --site examples/lemay/site.yaml --json | jq '.blocked[] | {dst, dstPort, op, reason}'
  conduitwatch rules waive --conduit 'control->field' --site examples/lemay/site.yaml \\
      --edge "192.168.1.100>192.168.1.104/udp/137" --by "J. Operator" --reason "NetBIOS name query from the MTU; not needed by the RTUs"
  conduitwatch rules nft --rule conduitwatch-data/rules/control_to_field-*.json --site examples/lemay/site.yaml

Exit status: 0 done; 3 refused (baseline not ready, rule not promotable); 2 bad arguments, site or rule file; 1 other failure.`,

  audit: `conduitwatch audit — verify the tamper-evident audit trail of rule steps

Usage: conduitwatch audit verify --data DIR [--json] [--public-key KEY] [--anchor FILE] [--site site.yaml]

Every rule step (propose, whatif, waive, apply, rollback; approvals in the workflow) is an entry of a
hash chain (SHA-256 over the canonical JSON and the previous entry's hash) in DIR/audit.jsonl and in the
store's audit table, with Ed25519-signed checkpoints every enforce.audit.checkpointEvery entries and on
every propose, waive, apply and rollback. verify recomputes the chain, checks each checkpoint against
the pinned public key, compares the file with the table and with the anchor, and names the first bad
entry: an edited, deleted, inserted or reordered entry, a log re-signed with another key, a checkpoint
dated back, a tail cut off (with an anchor).

Options:
  --data DIR         the data directory                                     [default: ./conduitwatch-data]
  --public-key KEY   the pinned key: a PEM file or the base64 raw key (else enforce.audit.publicKey; without
                     either, the key in DIR is used and the report warns that it is not pinned)
  --anchor FILE      the witness file of enforce.audit.anchor (catches entries deleted from the end)
  --site FILE        read enforce.audit.publicKey and .anchor from this site config
  --json             the report as one JSON object (ok, entries, firstBad {line, seq, problem, message}, …)

Examples:
  conduitwatch audit verify --data conduitwatch-data
  conduitwatch audit verify --data conduitwatch-data --site examples/lemay/site.yaml --json | jq .firstBad

Exit status: 0 intact; 3 tampering or damage found; 2 bad arguments or no trail; 1 other failure.`,

  dashboards: `conduitwatch dashboards — the Grafana dashboards as code (dashboards/), built to JSON

Usage: conduitwatch dashboards build [--out DIR] [--check]

Writes one JSON file per dashboard (SOC overview, conduit detail, alert detail, asset inventory,
baseline readiness, rules and promotions, audit trail, pipeline health) for Grafana's ClickHouse plugin (grafana-clickhouse-datasource).
infra/grafana/provisioning/ loads them and the data source; docs/deploy.md shows the whole stack.

Options:
  --out DIR   where to write                          [default: this checkout's infra/grafana/dashboards/]
  --check     write nothing; exit 1 when the files there differ from a fresh build

Examples:
  conduitwatch dashboards build
  conduitwatch dashboards build --out /etc/grafana/dashboards/conduitwatch
  conduitwatch dashboards build --check`,
  accounts: `conduitwatch accounts — named accounts, roles and API tokens (IEC 62443-3-3 SR 1.1, 1.3, 2.1)

Usage: conduitwatch accounts <add|list|token|disable|enable|roles> [NAME] [options] [--data DIR]

One account per person: generic names (admin, operator, shift1 …) are refused. Roles:
  viewer    read proposals, what-if flows, status, audit
  analyst   + learn/unlearn baseline items
  engineer  + propose (submit), schedule, abort, rollback
  approver  + approve/reject — never their own proposal (two-person rule); schedule, abort, rollback
  admin     + manage accounts and tokens (and nothing else)
A person may hold several roles (--role engineer --role approver). Passwords (console login) are
hashed with scrypt; API tokens are scoped (a subset of the account's permissions), expire, and stop
working at once when the account is disabled or loses the role.

Options:
  --data DIR          the data directory whose accounts.json to manage       [default: ./conduitwatch-data]
  --display-name S    add: the person's full name (shown in the audit trail)
  --role R            add/roles: viewer, analyst, engineer, approver, admin (repeat or comma-separate)
  --password-stdin    add: read the console password from stdin (at least 12 characters)
  --expires DUR       token: lifetime, up to 90d                              [default: 30d]
  --scope P           token: read, learn, propose, schedule, approve, abort, rollback, accounts
                      (repeat or comma-separate)                              [default: all the account holds]
  --label S           token: what it is for
  --tokens            list: also list tokens (never their secrets)
  --json              machine-readable output

Examples:
  printf '%s' 'correct horse battery staple' | conduitwatch accounts add a.lindqvist \\
      --display-name "Anna Lindqvist" --role engineer --password-stdin
  conduitwatch accounts add b.okafor --display-name "Bola Okafor" --role approver --password-stdin < pw.txt
  export CONDUITWATCH_TOKEN=$(conduitwatch accounts token a.lindqvist --expires 8h)
  conduitwatch accounts token ci.bot --scope read --expires 30d --label "nightly report"
  conduitwatch accounts disable a.lindqvist        # her tokens are refused from the next request on
  conduitwatch accounts list --tokens`,


  console: `conduitwatch console — the approval console, the HTTP API and the promote-to-block worker

Usage: conduitwatch console --site site.yaml --data DIR --redis redis://HOST:PORT [options]

One process per data directory: it owns the store, the audit trail and the workflow worker
(BullMQ on Redis). Redis must run with maxmemory-policy noeviction and appendonly yes; the console
refuses to start otherwise. Open the printed URL in a browser and log in with your own account.

Options:
  --site FILE         site.yaml (zones, conduits, maintenance windows)          (required)
  --data DIR          data directory: store, audit trail, accounts.json         [default: ./conduitwatch-data]
  --redis URL         Redis for the workflow                                     [default: redis://127.0.0.1:6379]
  --listen H:P        address of the API and console              [default: 127.0.0.1:8443; loopback only]
  --tls-cert FILE     PEM certificate: serve HTTPS (needed for a non-loopback --listen)
  --tls-key FILE      PEM private key of the certificate
  --insecure-http     allow a non-loopback --listen without TLS (a TLS proxy is in front)
  --netns NAME        run nft inside this network namespace (tests, a firewall namespace)
  --dry-run           check every step with nft -c but change no firewall (rehearsal)
  --prefix P          Redis key prefix (several sites on one Redis)              [default: conduitwatch]

Examples:
  conduitwatch console --site site.yaml --data /var/lib/conduitwatch --redis redis://127.0.0.1:6379
  conduitwatch console --site site.yaml --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
  curl -s http://127.0.0.1:8443/openapi.json | jq '.paths | keys'`,
  train: `conduitwatch train — train the learned cadence models on baseline traffic

Usage: conduitwatch train <inputs…> --site site.yaml --out DIR/NAME [options]
       conduitwatch train --data DIR [--run RUN] --site site.yaml --out DIR/NAME

Windows the inputs (or the flows a replay stored in DIR) exactly as the detectors do, and trains
  autoencoder  one vector per conduit-window (flows, requests, responses, packets, bytes, edges,
               connection starts, request interval mean/max; log1p) rebuilt through a 4-wide code
  forecast     each edge's next window from its last --history windows (GRU)
Both are calibrated on held-out baseline windows with the statistical detectors' mapping (z 5 → 0.8).
The result is version 1, 2, … of NAME under DIR: weights plus card.json (feature spec and its hash,
baseline range and input sha256, settings, seed, training metrics, calibration, backend, code version).
Training is seeded; on the cpu backend (the default) the same inputs give byte-identical weights.

Options:
  --site FILE        the site the models are for (its window is part of the feature spec)   (required)
  --out DIR/NAME     where the model goes: DIR is the model store, NAME the model            (required)
  --data DIR         train on the flows table of this store instead of files; --run RUN picks one run
                     (default: the newest; a unique prefix of its id is enough)
  --kind K           autoencoder, forecast or both                               [default: both]
  --seed N           [default: 1]     --epochs N  [default: 25]     --batch N  [default: 128]
  --history N        windows the forecast reads                                  [default: 6]
  --min-residual X   smallest residual spread per feature, log1p units           [default: 0.15]
  --baseline-only    only windows inside each conduit's baseline (detection.baseline)
  --backend B        cpu (deterministic, default), wasm (faster), tensorflow, auto
  --json             print the card

Examples:
  conduitwatch train ../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap \\
      --site examples/lemay/site.yaml --out conduitwatch-models/lemay
  conduitwatch replay day1.pcap --site site.yaml && conduitwatch train --data conduitwatch-data --site site.yaml --out conduitwatch-models/plant
  conduitwatch replay day2.pcap --site site.yaml --model plant

Exit status: 0 trained, 2 bad arguments, config or no windows to learn from, 1 other failure.`,

  models: `conduitwatch models — the trained models: list, show, diff, eval

Usage: conduitwatch models list [--models DIR] [--json]
       conduitwatch models show NAME[@VERSION] [--json]
       conduitwatch models diff NAME@V1 NAME@V2
       conduitwatch models eval SPEC.yaml… [--out DIR] [--json] [--seed N] [--epochs N]

  list   every version in the store with its id, kinds, baseline range and training time
  show   one model card in words: feature spec and hash, baseline and inputs, settings, metrics,
         calibration per feature (residual spread) and the baseline's own scores
  diff   every card field that differs, per feature by name; says when the feature specs differ
  eval   for each eval spec (evals/*.yaml): train on the spec's baseline inputs (cpu, seeded), run
         the evaluation without and with the models, and print what they changed: attacks newly
         detected or missed, window precision/recall/F1, false alerts per conduit per day, and the
         models' own alerts near an attack and false. --out DIR writes NAME.json (the result with
         the models) and NAME.compare.json.

Options:
  --models DIR   the model store                                          [default: ./conduitwatch-models]

Examples:
  conduitwatch models list
  conduitwatch models show lemay@2
  conduitwatch models diff lemay@1 lemay@2
  conduitwatch models eval evals/lemay.yaml evals/but-mms.yaml evals/but-iec104.yaml

Exit status: 0 done, 2 unknown model or bad arguments, 1 other failure.`,
};

// The workflow subcommands of `rules` (enforce2, cli/rules-workflow.ts) follow part 1's own.
HELP.rules = `${HELP.rules}

The promotion workflow — promote a conduit's rule to blocking, one conduit at a time

Usage: conduitwatch rules <submit|approve|reject|schedule|status|abort|rollback> [ID|FILE] [options]

The workflow: propose → what-if → approve (a second named person) → schedule into the next
maintenance window of site.yaml → apply (nftables) → watch the abort criteria → confirm, or roll
back to the saved known-good ruleset by itself. These subcommands talk to the running console
service (conduitwatch console) with your API token; every step lands in the audit trail.

  submit FILE      send a proposal (rule + readiness + what-if JSON) into the workflow
  approve ID       approve with --reason; fixes the abort criteria and schedules into the next window
  reject ID        reject with --reason
  schedule ID      (re)schedule an approved promotion, into --window NAME or the next window
  status [ID]      list promotions, or show one (state, what-if, window, watch, outcome)
  abort ID         before apply: cancel; during apply or watch: restore the known-good ruleset now
  rollback ID      restore the known-good ruleset on command (also after the promotion was confirmed)

Abort criteria (fixed at approval; watched for --watch after apply):
  a baseline flow dropped (nftables drop counters rising on an allowed baseline edge, or its accept
  counter silent while its traffic is due), --alerts N alerts on the conduit within --within M,
  an operator abort. The one that trips is named in the audit trail with its figures.

Options:
  --api URL          console service          [default: $CONDUITWATCH_API or http://127.0.0.1:8443]
  --token T          API token                [default: $CONDUITWATCH_TOKEN]
  --reason S         why (approve, reject, submit, abort, rollback: required)
  --window NAME      approve/schedule: a maintenance window by name       [default: the next one]
  --no-schedule      approve without scheduling (schedule later)
  --watch DUR        approve: how long to watch after apply               [default: 15m]
  --interval DUR     approve: how often to check                          [default: 10s]
  --alerts N         approve: N alerts …                                  [default: 3]
  --within DUR       approve: … within M trip the rollback                [default: 5m]
  --dropped-packets N approve: dropped packets on a baseline edge that trip [default: 1]
  --wait STATES      status ID: wait until the state is one of these (comma-separated)
  --timeout DUR      status --wait: give up after                         [default: 30m]
  --json             print the promotion as JSON

Examples:
  conduitwatch rules submit proposal.json --reason "3 cycles clean; HMI polls only"
  conduitwatch rules approve control_to_field-3f2a1c9d0b11 --reason "what-if clean" --watch 30m --alerts 5 --within 10m
  conduitwatch rules status control_to_field-3f2a1c9d0b11 --wait confirmed,rolled_back
  conduitwatch rules abort control_to_field-3f2a1c9d0b11 --reason "line 3 HMI lost its trend"

Exit status: 0 done, 2 bad arguments or a refused request body, 1 refused or failed (the message says why).`;
