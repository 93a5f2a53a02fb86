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
port=${KAFKA_PORT:-9092}
controller_port=$((port + 1))
version=${KAFKA_VERSION:-4.1.1}
data=${KAFKA_DATA:-$here/.data-$port}
cache=$here/.cache/$version
pid_file=$data/broker.pid
log_file=$data/broker.log
topics=${KAFKA_TOPICS:-"dlr.in.sms:4 dlr.in.email:4 dlr.in.voice:4 dlr.in.whatsapp:4 dlr.enriched:4 dlr.retry:4 dlr.dlq:4 dlr.analytics:4 dlr.message-state:4:compact dlr.message-state-changelog:4:compact"}

say() { echo "kafka[$port]: $*"; }

fetch() {
  [ -f "$cache/.complete" ] && return
  command -v mvn >/dev/null || { echo "kafka: mvn not found; run deploy/setup.sh" >&2; exit 2; }
  say "fetching Apache Kafka $version broker jars from Maven Central"
  mkdir -p "$cache"
  cat >"$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  (cd "$cache" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=libs -DincludeScope=runtime) ||
    { echo "kafka: could not fetch the broker jars with Maven" >&2; exit 2; }
  cat >"$cache/log4j2.properties" <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = INFO
LOG
  touch "$cache/.complete"
}

java_run() {
  java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$cache/log4j2.properties" -cp "$cache/libs/*" "$@"
}

running() { [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

# Something listens on this loopback port (a TCP connect succeeds).
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

serving() {
  # Metadata from the broker itself: the listener answers Kafka requests, not just TCP.
  kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1
}

start() {
  if running && serving; then
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
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/logs
num.partitions=4
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
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
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$cache/log4j2.properties" -cp "$cache/libs/*" \
    kafka.Kafka "$data/server.properties" >"$log_file" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 120); do
    if serving; then break; fi
    if ! running; then
      echo "kafka: the broker exited during start-up; last lines of $log_file:" >&2
      tail -n 30 "$log_file" >&2
      exit 1
    fi
    sleep 0.5
  done
  serving || { echo "kafka: the broker did not answer within 60 s; see $log_file" >&2; exit 1; }
  create_topics
  say "ready on 127.0.0.1:$port"
}

create_topics() {
  local existing
  existing=$(kcat -b "127.0.0.1:$port" -L 2>/dev/null | sed -n 's/^  topic "\([^"]*\)".*/\1/p')
  for spec in $topics; do
    local name partitions policy extra=()
    IFS=: read -r name partitions policy <<<"$spec"
    grep -qx "$name" <<<"$existing" && continue
    [ "$policy" = compact ] && extra=(--config cleanup.policy=compact)
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" --create --if-not-exists \
      --topic "$name" --partitions "$partitions" --replication-factor 1 "${extra[@]}" >/dev/null
  done
}

stop() {
  if ! running; then
    say "not running"
    rm -f "$pid_file"
    return
  fi
  local pid
  pid=$(cat "$pid_file")
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pid_file"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if running && serving; then say "running (pid $(cat "$pid_file"))"; else say "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
