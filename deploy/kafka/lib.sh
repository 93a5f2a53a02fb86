# Shared by local.sh (one broker) and cluster.sh (three): the broker jars from Maven Central, the
# JVM they run in, and the checks that a listener is really a Kafka broker. Sourced, not run.
# Environment: KAFKA_VERSION (default 4.1.1).

kafka_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=${KAFKA_VERSION:-4.1.1}
cache=$kafka_here/.cache/$version

fetch() {
  [ -f "$cache/.complete" ] && return
  command -v mvn >/dev/null || { echo "kafka: mvn not found; run deploy/setup.sh" >&2; exit 2; }
  echo "kafka: fetching Apache Kafka $version broker jars from Maven Central"
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

# The tools (storage format, topic creation): a small heap is plenty.
java_run() {
  java -Xms64m -Xmx256m -XX:+UseSerialGC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$cache/log4j2.properties" -cp "$cache/libs/*" "$@"
}

# Starts a broker in the background: start_broker PROPERTIES LOG PID_FILE HEAP_MB
start_broker() {
  nohup java "-Xms$(($4 / 3))m" "-Xmx$4m" -XX:+UseG1GC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$cache/log4j2.properties" -cp "$cache/libs/*" \
    kafka.Kafka "$1" >"$2" 2>&1 &
  echo $! >"$3"
}

# Settings a single broker and the cluster share: what the tests rely on (topics created by name
# only, a group's first join not delayed), and the internal topics' replicas and in-sync minimum.
shared_properties() {
  local replicas=$1 min_isr=$2
  cat <<PROPS
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
num.partitions=4
auto.create.topics.enable=false
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
PROPS
}

# Something listens on this loopback port (a TCP connect succeeds).
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Metadata from the broker itself: the listener answers Kafka requests, not just TCP.
serving() { kcat -b "127.0.0.1:$1" -L -m 2 >/dev/null 2>&1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Until the broker started with PID_FILE answers on PORT; fails with its log's tail if it exits or
# does not answer within 60 s: await_broker PORT PID_FILE LOG
await_broker() {
  for _ in $(seq 1 120); do
    if serving "$1"; then return; fi
    if ! alive "$2"; then
      echo "kafka: the broker exited during start-up; last lines of $3:" >&2
      tail -n 30 "$3" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "kafka: the broker on port $1 did not answer within 60 s; see $3" >&2
  exit 1
}

# Stops the process in PID_FILE: SIGTERM, then SIGKILL after 30 s.
stop_pid() {
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$1"
}

# create_topics PORT REPLICATION "name:partitions[:compact] ..." [--config k=v ...]
create_topics() {
  local port=$1 replication=$2 specs=$3 existing
  shift 3
  existing=$(kcat -b "127.0.0.1:$port" -L 2>/dev/null | sed -n 's/^  topic "\([^"]*\)".*/\1/p')
  for spec in $specs; do
    local name partitions policy extra=()
    IFS=: read -r name partitions policy <<<"$spec"
    grep -qx "$name" <<<"$existing" && continue
    [ "$policy" = compact ] && extra=(--config cleanup.policy=compact)
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" --create --if-not-exists \
      --topic "$name" --partitions "$partitions" --replication-factor "$replication" "${extra[@]}" "$@" >/dev/null
  done
}

default_topics="dlr.in.sms:4 dlr.in.email:4 dlr.in.voice:4 dlr.in.whatsapp:4 dlr.enriched:4 dlr.retry:4 dlr.dlq:4 dlr.analytics:4 dlr.message-state:4:compact dlr.message-state-changelog:4:compact"
