#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft mode) on loopback, from the broker jars on Maven Central.
#   deploy/kafka/local.sh start|stop|status
# Environment: KAFKA_PORT (default 9092; the controller listens on KAFKA_PORT+1), KAFKA_DATA (data
# folder, default deploy/kafka/.data-$KAFKA_PORT), KAFKA_VERSION (default 4.1.1), KAFKA_TOPICS
# (topics to create, "name:partitions[:compact] ..."; default: those of deploy/config/local.yaml),
# KAFKA_EXTRA_PROPERTIES (a file appended to server.properties; its keys win, e.g. more listeners),
# KAFKA_FORMAT_ARGS (more arguments for formatting the storage, e.g. --add-scram credentials).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/kafka/lib.sh
. "$here/lib.sh"
port=${KAFKA_PORT:-9092}
controller_port=$((port + 1))
data=${KAFKA_DATA:-$here/.data-$port}
pid_file=$data/broker.pid
log_file=$data/broker.log
topics=${KAFKA_TOPICS:-$default_topics}

say() { echo "kafka[$port]: $*"; }

running() { alive "$pid_file"; }

start() {
  if running && serving "$port"; then
    say "already running (pid $(cat "$pid_file"))"
    return
  fi
  if ! running; then
    # Another process on our ports would answer for us: "ready" would describe someone else's broker.
    for p in "$port" "$controller_port"; do
      if port_taken "$p"; then
        echo "kafka[$port]: port $p on 127.0.0.1 is taken by another process; stop it or choose another KAFKA_PORT" \
          "(the controller listens on KAFKA_PORT+1)" >&2
        exit 2
      fi
    done
  fi
  fetch
  mkdir -p "$data"
  cat >"$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$data/logs
$(shared_properties 1 1)
PROPS
  if [ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]; then cat "$KAFKA_EXTRA_PROPERTIES" >>"$data/server.properties"; fi
  if [ ! -f "$data/logs/meta.properties" ]; then
    local -a format_args=()
    # shellcheck disable=SC2206  # a list of arguments, split on spaces
    [ -n "${KAFKA_FORMAT_ARGS:-}" ] && format_args=($KAFKA_FORMAT_ARGS)
    java_run kafka.tools.StorageTool format --standalone -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$data/server.properties" "${format_args[@]}" >"$data/format.log" 2>&1 || { cat "$data/format.log" >&2; exit 1; }
  fi
  say "starting Kafka $version (data $data)"
  start_broker "$data/server.properties" "$log_file" "$pid_file" 768
  await_broker "$port" "$pid_file" "$log_file"
  create_topics "$port" 1 "$topics"
  say "ready on 127.0.0.1:$port"
}

stop() {
  if ! running; then
    say "not running"
    rm -f "$pid_file"
    return
  fi
  stop_pid "$pid_file"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if running && serving "$port"; then say "running (pid $(cat "$pid_file"))"; else say "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
