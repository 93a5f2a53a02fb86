#!/usr/bin/env bash
# Every benchmark in one command: micro-benchmarks of the core (Google Benchmark) and the
# end-to-end run on an isolated local broker against a pass-through relay and kcat. Writes
# bench/results/latest.{json,md,png}.
#   bench/run.sh           full run: 300,000 reports, 5 interleaved rounds
#   bench/run.sh --quick   a smaller run: 100,000 reports, 3 rounds
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

deploy/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLR_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$(nproc)"
data=build/bench-data
mkdir -p "$data" bench/results

if ((quick)); then corpus=10000 reports=100000 latency_s=5 min_time=0.3 rounds=3; else corpus=50000 reports=300000 latency_s=20 min_time=2 rounds=5; fi

echo "== micro-benchmarks (core only), corpus of $corpus generated reports"
/usr/bin/python3 tests/support/dlrgen.py --seed 11 --reports "$corpus" --malformed 0 --raw > "$data/corpus.jsonl"
build/bench/dlr_micro --corpus="$data/corpus.jsonl" --benchmark_min_time="$min_time" \
  --benchmark_out="$data/micro.json" --benchmark_out_format=json

echo "== end to end: $reports reports on an isolated broker"
export KAFKA_PORT=${BENCH_KAFKA_PORT:-29092} KAFKA_DATA=$PWD/build/bench-kafka KAFKA_TOPICS="bench.probe:1"
rm -rf "$KAFKA_DATA"
deploy/kafka/local.sh start
trap 'deploy/kafka/local.sh stop >/dev/null 2>&1 || true' EXIT
DLR_TEST_BROKERS=127.0.0.1:$KAFKA_PORT /usr/bin/python3 bench/e2e.py --stage build/dlr-enricher --relay build/bench/dlr_relay \
  --reports "$reports" --rounds "$rounds" --latency-seconds "$latency_s" --broker-pid-file "$KAFKA_DATA/broker.pid" \
  --out "$data/e2e.json"

echo "== the tracker: $reports reports of message histories on the same broker"
DLR_TEST_BROKERS=127.0.0.1:$KAFKA_PORT /usr/bin/python3 bench/tracker.py --binary build/dlr-enricher \
  --reports "$reports" --out "$data/tracker.json"

/usr/bin/python3 bench/report.py --micro "$data/micro.json" --e2e "$data/e2e.json" --tracker "$data/tracker.json" --mode "$([ $quick = 1 ] && echo quick || echo full)" \
  --out bench/results/latest
echo "== bench/results/latest.json, latest.md, latest.png"
cat bench/results/latest.md
