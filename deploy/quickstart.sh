#!/usr/bin/env bash
# One command on a fresh machine: installs dependencies, builds, starts the local Kafka broker,
# loads the sample reports, runs the stage and the tracker on deploy/config/local.yaml until they
# are processed, then shows what came out on each topic, every message's state and the metrics.
# The broker is left running (deploy/kafka/local.sh stop stops it).
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

echo "== running: dlr-enricher run --config deploy/config/local.yaml, and dlr-enricher track on the same config"
./build/dlr-enricher run --config deploy/config/local.yaml --brokers "$brokers" 2>build/quickstart-run.log &
stage=$!
./build/dlr-enricher track --config deploy/config/local.yaml --brokers "$brokers" 2>build/quickstart-track.log &
tracker=$!
trap 'kill -TERM $stage $tracker 2>/dev/null || true' EXIT
tracker_metrics=127.0.0.1:9465
metric() { { curl -fsS "http://${2:-$metrics}/metrics" 2>/dev/null || true; } | awk -v m="$1" 'index($1, m) == 1 {s += $2} END {print s + 0}'; }
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

analytics=$(metric 'dlr_records_produced_total{destination="analytics"}')
for _ in $(seq 1 300); do  # the tracker has read every analytics record and has nothing in flight
  [ "$(metric dlr_tracker_input_records_total $tracker_metrics)" -ge "$analytics" ] &&
    [ "$(metric dlr_tracker_in_flight_messages $tracker_metrics)" -eq 0 ] && break
  kill -0 $tracker 2>/dev/null || { cat build/quickstart-track.log; echo "quickstart: the tracker exited" >&2; exit 1; }
  sleep 0.2
done
sleep 1.2
echo "tracker: $(curl -sS "http://$tracker_metrics/metrics" | grep -E '^dlr_tracker_reports_total' | grep -v ' 0$' | tr '\n' ' ')"

kill -TERM $stage $tracker
wait $stage && status=0 || status=$?
wait $tracker && tracker_status=0 || tracker_status=$?
trap - EXIT
tail -n 2 build/quickstart-run.log
[ "$status" -eq 0 ] || { echo "quickstart: the stage exited with $status" >&2; exit 1; }
[ "$tracker_status" -eq 0 ] || { cat build/quickstart-track.log; echo "quickstart: the tracker exited with $tracker_status" >&2; exit 1; }

/usr/bin/python3 deploy/peek.py --brokers "$brokers" --since "$since" dlr.enriched dlr.retry dlr.dlq dlr.analytics
/usr/bin/python3 deploy/peek.py --brokers "$brokers" --since "$since" --latest dlr.message-state
echo
echo "The broker keeps running: deploy/kafka/local.sh stop. Logs: build/quickstart-run.log, build/quickstart-track.log"
