"""Helpers for integration tests of `dlr-enricher run` against the real broker of tests/run.sh.

Each test makes its own topics (unique names) and consumer group, so tests never see each
other's records. Reading outputs goes up to the high watermarks, so counts are exact.
"""
import atexit
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
BROKERS = os.environ.get("DLR_TEST_BROKERS", "")
# Replicas of the topics a test makes: 3 on the three-broker cluster, with min.insync.replicas=2.
REPLICATION = 1
OUTPUTS = ("enriched", "retry", "dead_letter", "analytics")


def fail(message):
    raise AssertionError(message)


_started = []


@atexit.register
def _stop_leftovers():
    """A failed check leaves no stage or relay running behind it."""
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Topics:
    """Input topics per channel and the four output topics, created fresh on the broker."""

    def __init__(self, channels, partitions=4, skip=(), output_config=None, input_config=None):
        tag = uuid.uuid4().hex[:8]
        self.inputs = {ch: f"t{tag}.in.{ch or 'none'}" for ch in channels}
        self.outputs = {name: f"t{tag}.{name}" for name in OUTPUTS}
        admin = AdminClient({"bootstrap.servers": BROKERS})
        self.replicated = {"min.insync.replicas": "2"} if REPLICATION > 1 else {}
        new = [NewTopic(t, partitions, REPLICATION, config={**self.replicated, **(input_config or {})})
               for t in self.inputs.values()]
        new += [NewTopic(t, partitions, REPLICATION, config={**self.replicated, **(output_config or {})})
                for name, t in self.outputs.items() if name not in skip]
        futures = admin.create_topics(new)
        for f in futures.values():
            f.result(30)
        self.group = f"g{tag}"
        self.partitions = partitions

    def create(self, output):
        admin = AdminClient({"bootstrap.servers": BROKERS})
        for f in admin.create_topics([NewTopic(self.outputs[output], self.partitions, REPLICATION,
                                               config=self.replicated)]).values():
            f.result(30)


def produce(topic_of, messages, rate=None, linger_ms=20):
    """messages: iterable of (channel, key bytes|None, value bytes, headers list|None); `rate`
    (messages per second) spreads them out like a live stream.
    Returns [(topic, partition, offset, timestamp_ms)] in order, once all are acknowledged."""
    producer = Producer({"bootstrap.servers": BROKERS, "linger.ms": linger_ms, "enable.idempotence": True,
                         "partitioner": "murmur2_random", "queue.buffering.max.messages": 500000})
    coords = []
    errors = []

    def on_delivery(index):
        def cb(err, msg):
            if err:
                errors.append(err)
            else:
                coords[index] = (msg.topic(), msg.partition(), msg.offset(), msg.timestamp()[1])
        return cb

    started = time.time()
    for i, (channel, key, value, headers) in enumerate(messages):
        coords.append(None)
        if rate and i % 10 == 0:
            time.sleep(max(0.0, started + i / rate - time.time()))
        while True:
            try:
                producer.produce(topic_of[channel], value=value, key=key, headers=headers, on_delivery=on_delivery(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    producer.flush(330)  # past message.timeout.ms (300 s): a cluster may be without quorum a while
    if errors or any(c is None for c in coords):
        fail(f"producing inputs failed: {errors[:3]}")
    return coords


def read_all(topic, timeout=60):
    """Every record of the topic up to its high watermarks: dicts with topic, partition, offset,
    key, value, headers (a dict; last value wins), timestamp."""
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": "reader-" + uuid.uuid4().hex,
                         "enable.auto.commit": False, "enable.partition.eof": False})
    # A read_committed consumer is told the last stable offset, which stops before a transaction
    # still open (one a killed instance left): records committed after it would be missed. The
    # high watermark comes from a consumer that sees every record; reading up to it waits for
    # such a transaction to end.
    everything = Consumer({"bootstrap.servers": BROKERS, "group.id": "reader-" + uuid.uuid4().hex,
                           "isolation.level": "read_uncommitted"})
    meta = consumer.list_topics(topic, timeout=10)
    partitions = sorted(meta.topics[topic].partitions)
    ends = {}
    assignment = []
    for p in partitions:
        low, high = everything.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            ends[p] = high
            assignment.append(TopicPartition(topic, p, low))
    everything.close()
    records = []
    if assignment:
        consumer.assign(assignment)
        deadline = time.time() + timeout
        remaining = dict(ends)
        while remaining and time.time() < deadline:
            for m in consumer.consume(10000, 1.0):
                if m.error():
                    continue
                records.append({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                                "key": m.key(), "value": m.value(), "timestamp": m.timestamp()[1],
                                "headers": {k: (v.decode() if v is not None else None) for k, v in (m.headers() or [])}})
            # By position, not by the last record's offset: a transactional partition ends in a
            # commit marker, which is no record.
            for tp in consumer.position([TopicPartition(topic, p) for p in remaining]):
                if tp.offset >= remaining[tp.partition]:
                    remaining.pop(tp.partition)
        if remaining:
            fail(f"{topic}: could not read up to the high watermarks {remaining}")
    consumer.close()
    return records


def source_of(record):
    """(topic, partition, offset) of the input an output record came from: its dlr-source header,
    or, on enriched and analytics records (no headers by default), the source its JSON names."""
    text = record["headers"].get("dlr-source")
    if text is None:
        body = json.loads(record["value"])
        text = body["classification"]["source"] if "classification" in body else body["source"]
    topic, partition, offset = text.rsplit("/", 2)
    return topic, int(partition), int(offset)


def tool_lag(group):
    """{(topic, partition): lag} as Kafka's own ConsumerGroupCommand --describe prints it (None
    where it prints "-": no committed offset)."""
    libs = ROOT / "deploy/kafka/.cache" / os.environ.get("KAFKA_VERSION", "4.1.1") / "libs"
    out = subprocess.run(["java", "-cp", f"{libs}/*", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                          "--bootstrap-server", BROKERS, "--describe", "--group", group],
                         capture_output=True, text=True, timeout=120)
    lag = {}
    for line in out.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == group and cols[2].isdigit():
            lag[(cols[1], int(cols[2]))] = int(cols[5]) if cols[5].lstrip("-").isdigit() else None
    if not lag:
        fail(f"ConsumerGroupCommand described nothing for {group}:\n{out.stdout}\n{out.stderr}")
    return lag


def served_lag(stage):
    """{(topic, partition): lag} of the stage's dlr_consumer_lag series."""
    out = {}
    for key, value in stage.metrics().items():
        m = re.fullmatch(r'dlr_consumer_lag\{topic="([^"]+)",partition="(\d+)"\}', key)
        if m:
            out[(m.group(1), int(m.group(2)))] = int(value)
    return out


def committed(group, topics):
    """The group's committed offsets: {(topic, partition): offset} (absent when none)."""
    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": group, "enable.auto.commit": False})
    out = {}
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10)
        tps = [TopicPartition(topic, p) for p in meta.topics[topic].partitions]
        for tp in consumer.committed(tps, timeout=20):
            if tp.offset >= 0:
                out[(tp.topic, tp.partition)] = tp.offset
    consumer.close()
    return out


def settled(topics, context=lambda: ""):
    """Until the group's committed offsets on the input topics stand still for 3 s; returns them.
    `context` adds to the failure (a stage's log)."""
    last, still = None, 0
    for _ in range(120):
        now = committed(topics.group, list(topics.inputs.values()))
        still = still + 1 if now == last else 0
        if still >= 3 and now:
            return now
        last = now
        time.sleep(1)
    fail(f"the group's offsets never stood still: {last}\n{context()}")


class Stage:
    """One `dlr-enricher run` process on a config written for the given topics."""

    def __init__(self, binary, topics, routing=None, extra="", consumer_props=None, producer_props=None, name="stage",
                 command=None, catalog=None, common_props=None, brokers=None, wait_port=True, subcommand="run",
                 source_headers=False):
        self.dir = Path(tempfile.mkdtemp(prefix="dlr-stage-"))
        self.log_path = self.dir / f"{name}.log"
        inputs = "\n".join(f"  - {{topic: {t}" + (f", channel: {ch}}}" if ch else "}") for ch, t in topics.inputs.items())
        consumer_props = {"auto.commit.interval.ms": "1000", **(consumer_props or {})}
        block = lambda d, indent: "\n".join(f"{indent}{k}: {json.dumps(str(v))}" for k, v in d.items()) or indent + "{}"
        props = lambda d: block(d, "    ")
        self.config = self.dir / "config.yaml"
        self.config.write_text(f"""brokers: {brokers or BROKERS}
group_id: {topics.group}
inputs:
{inputs}
outputs:
  enriched: {topics.outputs['enriched']}
  retry: {topics.outputs['retry']}
  dead_letter: {topics.outputs['dead_letter']}
  analytics: {topics.outputs['analytics']}
  source_headers: {str(source_headers).lower()}
catalog:
{block({"codes": ROOT / 'catalog/codes.yaml', "policy": ROOT / 'catalog/policy.yaml', **(catalog or {})}, "  ")}
metrics:
  address: 127.0.0.1:0
logging:
  stats_interval_s: 5
shutdown_timeout_s: 20
{extra}
kafka:
  common:
{props(common_props or {})}
  consumer:
{props(consumer_props)}
  producer:
{props(producer_props or {})}
""")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(command(str(self.config)) if command else [binary, subcommand, "--config", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        _started.append(self.proc)
        self.port = None
        if command or not wait_port:  # another program on the same config (the benchmark's relay): no endpoint
            return
        deadline = time.time() + 30
        while self.port is None and time.time() < deadline:
            m = re.search(r"\(port (\d+)\)", self.log_path.read_text())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                fail(f"{name} exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            else:
                time.sleep(0.1)
        if self.port is None:
            fail(f"{name} never served metrics:\n{self.log_path.read_text()}")

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        """{name or name{labels}: value}, and sums by family under the bare name."""
        status, text = self.get("/metrics")
        if status != 200:
            fail(f"/metrics answered {status}")
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
            family = key.split("{", 1)[0]
            if family != key:
                out[family] = out.get(family, 0.0) + float(value)
        return out

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.get("/readyz")[0] == 200:
                return
            if self.proc.poll() is not None:
                fail(f"exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            time.sleep(0.2)
        fail(f"not ready after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self, sig=signal.SIGTERM, timeout=40):
        """Sends the signal; returns (exit code, seconds it took)."""
        started = time.time()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.log.close()
        return code, time.time() - started

    def text(self):
        return self.log_path.read_text()


def wait_consumed(stages, messages, timeout=180):
    """Until the stages together consumed `messages` input messages and have nothing in flight."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        totals = [s.metrics() for s in stages]
        consumed = sum(m.get("dlr_input_messages_total", 0) for m in totals)
        busy = sum(m.get("dlr_in_flight_messages", 0) + m.get("dlr_deferred_records", 0) for m in totals)
        last = (consumed, busy)
        if consumed >= messages and busy == 0:
            time.sleep(1.2)  # one more gauge refresh: acknowledgements of the last turn
            totals = [s.metrics() for s in stages]
            if sum(m.get("dlr_in_flight_messages", 0) for m in totals) == 0:
                return totals
        time.sleep(0.3)
    fail(f"stages consumed {last[0]} of {messages} messages, {last[1]} in flight, after {timeout}s")
