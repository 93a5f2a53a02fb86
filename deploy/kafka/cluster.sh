#!/usr/bin/env bash
# A three-broker Apache Kafka cluster (KRaft: each node a broker and a controller, three voters) on
# loopback, from the broker jars on Maven Central: what production looks like, for fault tests and
# for trying the stage against leader changes. Topics get three replicas and min.insync.replicas=2,
# as do the internal ones (offsets, transactions), so one broker may go without losing a write.
#   deploy/kafka/cluster.sh start|stop|status       the whole cluster
#   deploy/kafka/cluster.sh kill N|stop N|start N|restart N     broker N (1, 2 or 3): SIGKILL, clean stop, ...
#   deploy/kafka/cluster.sh brokers|proxied         prints the bootstrap list (direct, or through the proxy)
# Environment: KAFKA_CLUSTER_PORT (default 39092: broker N listens on KAFKA_CLUSTER_PORT+N-1, its
# controller on KAFKA_CLUSTER_PORT+10+N-1), KAFKA_CLUSTER_DATA (default deploy/kafka/.cluster-PORT),
# KAFKA_TOPICS (as for local.sh), KAFKA_HEAP_MB (per broker, default 384: three fit beside the
# stage on a small machine), KAFKA_PROXY_PORT_OFFSET (when set, broker N also listens on
# KAFKA_CLUSTER_PORT+20+N-1 and advertises it as KAFKA_CLUSTER_PORT+offset+N-1, where a fault proxy
# forwards to it; `proxied` prints that bootstrap list), KAFKA_VERSION.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/kafka/lib.sh
. "$here/lib.sh"
base=${KAFKA_CLUSTER_PORT:-39092}
data=${KAFKA_CLUSTER_DATA:-$here/.cluster-$base}
topics=${KAFKA_TOPICS:-$default_topics}
heap=${KAFKA_HEAP_MB:-384}
proxy_offset=${KAFKA_PROXY_PORT_OFFSET:-0}
nodes="1 2 3"

port_of() { echo $((base + $1 - 1)); }
controller_of() { echo $((base + 10 + $1 - 1)); }
pid_of() { echo "$data/broker-$1/broker.pid"; }
log_of() { echo "$data/broker-$1/broker.log"; }
say() { echo "kafka-cluster[$base]: $*"; }
brokers() {
  local list="" offset=${1:-0}
  for n in $nodes; do list+="${list:+,}127.0.0.1:$(($(port_of "$n") + offset))"; done
  echo "$list"
}

check_node() {
  case "${1:-}" in 1 | 2 | 3) ;; *) echo "cluster: broker must be 1, 2 or 3, not '${1:-}'" >&2; exit 2 ;; esac
}

write_properties() {
  local n=$1 dir=$data/broker-$1 voters=""
  for v in $nodes; do voters+="${voters:+,}$v@127.0.0.1:$(controller_of "$v")"; done
  mkdir -p "$dir"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(port_of "$n"),CONTROLLER://127.0.0.1:$(controller_of "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(port_of "$n")
log.dirs=$dir/logs
$(shared_properties 3 2)
default.replication.factor=3
min.insync.replicas=2
num.network.threads=2
num.io.threads=2
background.threads=2
num.replica.fetchers=1
PROPS
  # Clients connecting through the proxy learn the proxy's addresses, those connecting directly
  # (the brokers to each other, tools) the direct ones: Kafka answers per listener.
  if [ "$proxy_offset" != 0 ]; then
    cat >>"$dir/server.properties" <<PROPS
listeners=PLAINTEXT://127.0.0.1:$(port_of "$n"),PROXIED://127.0.0.1:$(($(port_of "$n") + 20)),CONTROLLER://127.0.0.1:$(controller_of "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(port_of "$n"),PROXIED://127.0.0.1:$(($(port_of "$n") + proxy_offset))
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT
PROPS
  fi
}


start_node() {
  local n=$1 dir=$data/broker-$1
  if alive "$(pid_of "$n")"; then return; fi
  for p in "$(port_of "$n")" "$(controller_of "$n")"; do
    if port_taken "$p"; then
      echo "kafka-cluster: port $p on 127.0.0.1 is taken by another process; stop it or choose another KAFKA_CLUSTER_PORT" >&2
      exit 2
    fi
  done
  write_properties "$n"
  if [ ! -f "$dir/logs/meta.properties" ]; then
    java_run kafka.tools.StorageTool format -t "$(cat "$data/cluster-id")" -c "$dir/server.properties" \
      >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; exit 1; }
  fi
  start_broker "$dir/server.properties" "$(log_of "$n")" "$(pid_of "$n")" "$heap"
}

# Until every broker is registered with the cluster's metadata, as a client sees it.
await_cluster() {
  for _ in $(seq 1 120); do
    local seen
    seen=$(kcat -b "$(brokers)" -L -m 2 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')
    [ "${seen:-0}" -ge 3 ] && return
    sleep 0.5
  done
  echo "kafka-cluster: not all three brokers registered within 60 s; see $data/broker-*/broker.log" >&2
  exit 1
}

start() {
  fetch
  mkdir -p "$data"
  [ -f "$data/cluster-id" ] || java_run kafka.tools.StorageTool random-uuid >"$data/cluster-id"
  say "starting three brokers of Kafka $version (data $data)"
  for n in $nodes; do start_node "$n"; done
  for n in $nodes; do await_broker "$(port_of "$n")" "$(pid_of "$n")" "$(log_of "$n")"; done
  await_cluster
  create_topics "$(port_of 1)" 3 "$topics" --config min.insync.replicas=2
  say "ready on $(brokers)"
}

stop_node() {
  if alive "$(pid_of "$1")"; then stop_pid "$(pid_of "$1")"; fi
  rm -f "$(pid_of "$1")"
}

case "${1:-}" in
  start)
    if [ -n "${2:-}" ]; then
      check_node "$2"
      start_node "$2"
      await_broker "$(port_of "$2")" "$(pid_of "$2")" "$(log_of "$2")"
      say "broker $2 started"
    else
      start
    fi ;;
  stop)
    if [ -n "${2:-}" ]; then
      check_node "$2"
      stop_node "$2"
      say "broker $2 stopped"
    else
      for n in $nodes; do stop_node "$n"; done
      say "stopped"
    fi ;;
  kill)
    check_node "${2:-}"
    if alive "$(pid_of "$2")"; then kill -9 "$(cat "$(pid_of "$2")")"; fi
    rm -f "$(pid_of "$2")"
    say "broker $2 killed (SIGKILL)" ;;
  restart)
    check_node "${2:-}"
    stop_node "$2"
    start_node "$2"
    await_broker "$(port_of "$2")" "$(pid_of "$2")" "$(log_of "$2")"
    say "broker $2 restarted" ;;
  status)
    down=0
    for n in $nodes; do
      if alive "$(pid_of "$n")" && serving "$(port_of "$n")"; then
        say "broker $n running (pid $(cat "$(pid_of "$n")"), port $(port_of "$n"))"
      else
        say "broker $n not running"
        down=1
      fi
    done
    exit "$down" ;;
  brokers) brokers ;;
  proxied) brokers "$proxy_offset" ;;
  *) echo "usage: $0 start|stop|status | start|stop|kill|restart BROKER | brokers|proxied" >&2; exit 2 ;;
esac
