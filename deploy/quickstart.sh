#!/usr/bin/env bash
# One command on a fresh machine: installs dependencies, builds, starts the local Kafka broker,
# loads the sample reports, runs the stage on deploy/config/local.yaml until they are processed,
# then shows what came out on each topic and the metrics. The broker is left running
# (deploy/kafka/local.sh stop stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
./build/dlr-enricher catalog check

deploy/kafka/local.sh start
brokers=127.0.0.1:${KAFKA_PORT:-9092}
metrics=127.0.0.1:9464
samples=deploy/samples/mixed-reports.jsonl
loaded=$(grep -c . "$samples")
since=$(date +%s%3N)

echo
echo "== loading $loaded sample messages (real reports, a batch with a bad report, malformed lines) into dlr.in.sms"
grep . "$samples" | kcat -b "$brokers" -P -t dlr.in.sms

echo "== running: dlr-enricher run --config deploy/config/local.yaml"
./build/dlr-enricher run --config deploy/config/local.yaml --brokers "$brokers" 2>build/quickstart-run.log &
stage=$!
trap 'kill -TERM $stage 2>/dev/null || true' EXIT
metric() { { curl -fsS "http://$metrics/metrics" 2>/dev/null || true; } | awk -v m="$1" 'index($1, m) == 1 {s += $2} END {print s + 0}'; }
for _ in $(seq 1 300); do
  consumed=$(metric dlr_input_messages_total)
  in_flight=$(metric dlr_in_flight_messages)
  [ "$consumed" -ge "$loaded" ] && [ "$in_flight" -eq 0 ] && break
  kill -0 $stage 2>/dev/null || { cat build/quickstart-run.log; echo "quickstart: the stage exited" >&2; exit 1; }
  sleep 0.2
done
sleep 1.2  # one more gauge refresh
echo
echo "== metrics (http://$metrics/metrics, non-zero samples)"
curl -fsS "http://$metrics/metrics" | grep -E '^dlr_(input|reports|reason|records_produced|unknown|assigned|catalog)' | grep -v ' 0$'
echo "readyz: $(curl -sS "http://$metrics/readyz")"

kill -TERM $stage
wait $stage && status=0 || status=$?
trap - EXIT
tail -n 2 build/quickstart-run.log
[ "$status" -eq 0 ] || { echo "quickstart: the stage exited with $status" >&2; exit 1; }

/usr/bin/python3 deploy/peek.py --brokers "$brokers" --since "$since" dlr.enriched dlr.retry dlr.dlq dlr.analytics
echo
echo "The broker keeps running: deploy/kafka/local.sh stop. Stage log: build/quickstart-run.log"
