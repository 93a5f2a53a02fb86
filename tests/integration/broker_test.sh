#!/usr/bin/env bash
# The local broker script: a real Kafka broker that serves requests on loopback only, with the
# example config's topics, and that stops without leaving anything behind.
# Uses the suite's broker ($DLR_TEST_BROKERS) and starts one more, isolated, to test stop.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
brokers=${DLR_TEST_BROKERS:?tests/run.sh starts the broker and sets DLR_TEST_BROKERS}
port=${brokers##*:}
fail() { echo "FAIL: $*" >&2; exit 1; }

metadata=$(kcat -b "$brokers" -L)
for topic in dlr.in.sms dlr.in.email dlr.in.voice dlr.in.whatsapp dlr.enriched dlr.retry dlr.dlq dlr.analytics; do
  grep -q "topic \"$topic\" with 4 partitions" <<<"$metadata" || fail "topic $topic with 4 partitions missing"
done

listening=$(ss -ltnH "( sport = :$port )" | awk '{print $4}')
case "$listening" in "127.0.0.1:$port" | "[::ffff:127.0.0.1]:$port") ;; *) false ;; esac || fail "broker listens on '$listening', expected 127.0.0.1:$port only"

key="check-$$-$RANDOM"
printf '{"probe":"%s"}\n' "$key" | kcat -b "$brokers" -P -t dlr.in.sms -k "$key"
kcat -b "$brokers" -C -t dlr.in.sms -o beginning -e -q -f '%k\n' | grep -qx "$key" || fail "produced record not consumed back"

# A second broker on the suite broker's port, with data of its own, refuses to start rather than
# report the first one as its own.
taken_data=$(mktemp -d)
if out=$(KAFKA_PORT=$port KAFKA_DATA=$taken_data "$root/deploy/kafka/local.sh" start 2>&1); then
  rm -rf "$taken_data"
  fail "a broker started on the taken port $port: $out"
fi
rm -rf "$taken_data"
grep -q "port $port on 127.0.0.1 is taken" <<<"$out" || fail "no clear message for a taken port: $out"

# An isolated second broker: start, status, stop, and nothing left running.
iso_port=$((port + 10))
iso_data=$(mktemp -d)
trap 'KAFKA_PORT=$iso_port KAFKA_DATA=$iso_data "$root/deploy/kafka/local.sh" stop >/dev/null 2>&1 || true; rm -rf "$iso_data"' EXIT
KAFKA_PORT=$iso_port KAFKA_DATA=$iso_data KAFKA_TOPICS="t:2" "$root/deploy/kafka/local.sh" start
KAFKA_PORT=$iso_port KAFKA_DATA=$iso_data "$root/deploy/kafka/local.sh" status
kcat -b "127.0.0.1:$iso_port" -L | grep -q 'topic "t" with 2 partitions' || fail "isolated broker lacks its topic"
KAFKA_PORT=$iso_port KAFKA_DATA=$iso_data "$root/deploy/kafka/local.sh" stop
sleep 1
! pgrep -f "$iso_data/server.properties" >/dev/null || fail "a broker process is left after stop"
! ss -ltnH "( sport = :$iso_port )" | grep -q . || fail "port $iso_port still bound after stop"
KAFKA_PORT=$iso_port KAFKA_DATA=$iso_data "$root/deploy/kafka/local.sh" status && fail "status says running after stop"
echo "broker checks: 1 passed, 0 failed"
