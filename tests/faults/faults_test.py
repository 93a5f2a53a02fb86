#!/usr/bin/env python3
"""Fault scenarios against real brokers: nothing is lost when the stage is killed, when the broker
restarts, or when group members come and go. Each prints one line
  faults: <scenario> in=N enriched=N dlq=N duplicates=D lost=L
and fails unless lost=0.

  faults_test.py BINARY SCENARIO [--soak]     SCENARIO: kill9 | kill9_eos | broker_restart | members | poison | dlq_unwritable
"""
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests/integration"))
sys.path.insert(0, str(ROOT / "tests/support"))
import dlrgen  # noqa: E402
import stage as kafka  # noqa: E402

CHANNELS = ["sms", "whatsapp", "email", "voice"]
# The shipped group settings (session.timeout.ms 6 s, heartbeats every second); commits every
# half second keep the duplicates of a kill few. A restarted instance keeps its static id, as a
# container restarted in its pod does.
FAST_COMMIT = {"auto.commit.interval.ms": "500"}
STATIC = {**FAST_COMMIT, "group.instance.id": "faults-member"}
RECOVERY_LIMIT_S = 10


def committable(stages):
    """{(topic, partition): offset} the live stages serve in dlr_partition_committable_offset."""
    out = {}
    for st in stages:
        if st.proc.poll() is not None:
            continue
        try:
            metrics = st.metrics()
        except Exception:
            continue  # not serving yet
        for key, value in metrics.items():
            if key.startswith("dlr_partition_committable_offset{"):
                topic = key.split('topic="', 1)[1].split('"', 1)[0]
                partition = int(key.split('partition="', 1)[1].split('"', 1)[0])
                out[(topic, partition)] = max(out.get((topic, partition), -1), int(value))
    return out


def recovery(killed_at, stages, topics, limit=30):
    """Seconds from a SIGKILL until every input partition with messages left to process has moved
    past the group's committed offset on a live instance: processing resumed everywhere."""
    inputs = list(topics.inputs.values())
    base = kafka.committed(topics.group, inputs)
    ends = {tp: hi for tp, (lo, hi) in watermarks(inputs).items()}
    waiting = {tp for tp, hi in ends.items() if hi > base.get(tp, 0)}
    while waiting and time.time() < killed_at + limit:
        served = committable(stages)
        waiting = {tp for tp in waiting if served.get(tp, -1) <= base.get(tp, -1)}
        if waiting:
            time.sleep(0.1)
    took = time.time() - killed_at
    if waiting:
        kafka.fail(f"processing did not resume on {sorted(waiting)[:3]} within {limit}s of the SIGKILL")
    return took


def report_recovery(name, seconds):
    print(f"faults: {name} recovery_s={','.join(f'{s:.1f}' for s in seconds)} max={max(seconds):.1f} "
          f"(SIGKILL to processing resumed on every partition; limit {RECOVERY_LIMIT_S} s)", flush=True)
    if max(seconds) > RECOVERY_LIMIT_S:
        kafka.fail(f"{name}: recovery after a SIGKILL took {max(seconds):.1f} s, more than {RECOVERY_LIMIT_S} s")


def keys_of(topic, brokers=None):
    """Keys of every record on the topic, read with kcat (fast for millions of records)."""
    out = subprocess.run(["kcat", "-b", brokers or kafka.BROKERS, "-X", "isolation.level=read_committed", "-C", "-t", topic,
                          "-o", "beginning", "-e", "-q", "-f", "%k\n"], capture_output=True, check=True, timeout=600).stdout
    return collections.Counter(out.decode().split("\n")[:-1])


def verdict(name, msgs, topics, brokers=None):
    valid = collections.Counter(i for m in msgs if m["kind"] == "valid" for i in m["message_ids"])
    enriched = keys_of(topics.outputs["enriched"], brokers)
    dlq = sum(keys_of(topics.outputs["dead_letter"], brokers).values())
    lost = sum(1 for i in valid if enriched[i] == 0)
    duplicates = sum(enriched[i] for i in valid) - sum(1 for i in valid if enriched[i])
    print(f"faults: {name} in={sum(valid.values())} enriched={sum(enriched.values())} dlq={dlq} "
          f"duplicates={duplicates} lost={lost}", flush=True)
    if lost:
        kafka.fail(f"{lost} reports lost, e.g. {[i for i in valid if enriched[i] == 0][:3]}")
    return duplicates


EXACTLY_ONCE = "processing:\n  guarantee: exactly_once"


def scenario_kill9_eos(binary, soak):
    """The same kills with processing.guarantee: exactly_once: read_committed sees no duplicate."""
    scenario_kill9(binary, soak, exactly_once=True)


def scenario_kill9(binary, soak, exactly_once=False):
    """SIGKILL at random points while 1,000,000 reports flow; restart; five times."""
    extra = EXACTLY_ONCE if exactly_once else ""
    name = "kill9_eos" if exactly_once else "kill9"
    reports = 3_000_000 if soak else 1_000_000
    rnd = random.Random(9)
    msgs = list(dlrgen.generate(900, reports, 0.002))
    topics = kafka.Topics(CHANNELS)
    feeder = threading.Thread(target=kafka.produce, args=(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs]))
    feeder.start()
    recoveries = []
    st = kafka.Stage(binary, topics, consumer_props=STATIC, name="run0", extra=extra)
    st.wait_ready()  # partitions assigned: the kill lands while it works
    for kill in range(5):
        time.sleep(rnd.uniform(0.5, 3.0))
        consumed = int(st.metrics().get("dlr_input_messages_total", 0))
        st.proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        st.proc.wait(10)
        st.log.close()
        # Restarted at once under the same static id, as a container in its pod.
        st = kafka.Stage(binary, topics, consumer_props=STATIC, name=f"run{kill + 1}", extra=extra)
        recoveries.append(recovery(killed_at, [st], topics))
        print(f"kill {kill + 1}: SIGKILL after {consumed} messages; processing resumed {recoveries[-1]:.1f} s later",
              flush=True)
    feeder.join()
    last = st
    wait_all_committed(topics, timeout=600)
    code, _ = last.stop()
    if code != 0:
        kafka.fail(f"last run exit {code}:\n{last.text()}")
    duplicates = verdict(name, msgs, topics)
    if exactly_once and duplicates:
        kafka.fail(f"{duplicates} duplicates under exactly_once")
    report_recovery(name, recoveries)


def watermarks(topics):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": kafka.BROKERS, "group.id": "faults-wm"})
    out = {}
    for t in topics:
        for p in c.list_topics(t, timeout=10).topics[t].partitions:
            out[(t, p)] = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
    c.close()
    return out


def wait_all_committed(topics, timeout=300, stage=None):
    """Until the group has committed every record on the input topics (offsets of a transaction
    still open are not readable yet: those turns just wait); fails at once if `stage` ends."""
    inputs = list(topics.inputs.values())
    ends = {tp: hi for tp, (lo, hi) in watermarks(inputs).items()}
    deadline = time.time() + timeout
    while time.time() < deadline:
        if stage and stage.proc.poll() is not None:
            kafka.fail(f"the stage exited with {stage.proc.returncode}:\n{stage.text()[-4000:]}")
        try:
            done = kafka.committed(topics.group, inputs)
            if all(done.get(tp, 0) >= hi for tp, hi in ends.items()):
                return
        except Exception:
            pass
        time.sleep(1)
    kafka.fail(f"the group did not commit all {sum(ends.values())} input records within {timeout}s")


def scenario_members(binary, soak):
    """Three instances in one group; one killed and another started mid-stream."""
    msgs = list(dlrgen.generate(901, 600_000 if soak else 200_000, 0.002))
    topics = kafka.Topics(CHANNELS)
    members = [kafka.Stage(binary, topics, consumer_props=FAST_COMMIT, name=f"m{i}") for i in range(3)]
    for m in members:
        m.wait_ready()
    feeder = threading.Thread(target=kafka.produce, args=(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs]),
                              kwargs={"rate": len(msgs) / 8})
    feeder.start()
    time.sleep(3)
    members[0].proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    members[0].proc.wait(10)
    # Not restarted: the two others notice it gone (session.timeout.ms) and take its partitions.
    took = recovery(killed_at, members[1:], topics)
    members.append(kafka.Stage(binary, topics, consumer_props=FAST_COMMIT, name="m3"))
    feeder.join()
    alive = members[1:]
    wait_all_committed(topics)
    for m in alive:
        code, _ = m.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{m.text()}")
    verdict("members", msgs, topics)
    report_recovery("members", [took])


def scenario_broker_restart(binary, soak):
    """The broker stops mid-stream and comes back: the stage survives, reconnects, loses nothing."""
    port = int(os.environ.get("FAULTS_KAFKA_PORT", "19192"))
    data = tempfile.mkdtemp(prefix="dlr-faults-kafka-")
    env = dict(os.environ, KAFKA_PORT=str(port), KAFKA_DATA=data, KAFKA_TOPICS="faults.probe:1")
    script = str(ROOT / "deploy/kafka/local.sh")
    subprocess.run([script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    brokers = f"127.0.0.1:{port}"
    kafka.BROKERS = brokers
    try:
        msgs = list(dlrgen.generate(902, 300_000 if soak else 100_000, 0.002))
        topics = kafka.Topics(CHANNELS)
        st = kafka.Stage(binary, topics, producer_props={"message.timeout.ms": "300000"})
        st.wait_ready()
        # The stream keeps coming (the load producer buffers while the broker is away) and the
        # broker goes down in the middle of it, with the stage's outputs in flight.
        feeder = threading.Thread(target=kafka.produce, args=(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs]),
                                  kwargs={"rate": len(msgs) / 8})
        feeder.start()
        time.sleep(3)
        before = st.metrics().get("dlr_input_messages_total", 0)
        subprocess.run([script, "stop"], env=env, check=True, stdout=subprocess.DEVNULL)
        time.sleep(5)
        if st.proc.poll() is not None:
            kafka.fail(f"the stage exited while the broker was down:\n{st.text()}")
        subprocess.run([script, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
        feeder.join()
        if not 0 < before < len(msgs):
            kafka.fail(f"the broker did not stop mid-stream ({before} of {len(msgs)} messages consumed)")
        wait_all_committed(topics)
        code, _ = st.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{st.text()}")
        verdict("broker_restart", msgs, topics, brokers)
    finally:
        subprocess.run([script, "stop"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", data])


def poison_messages(good):
    """(value, expected dead-letter reasons) for every kind of poison; `good` is a valid report."""
    batch_with_bad = ('{"results":[' + good.replace("POISON-ID", "batch-good-1") + ',42,'
                      + good.replace("POISON-ID", "batch-good-2") + "]}").encode()
    wrong_types = good.replace('"groupId":3', '"groupId":"3"').replace("POISON-ID", "wrong-types").encode()
    return [
        (b'{"results":[{"messageId":"x","status":{"groupId":3', ["INVALID_JSON"]),
        (b"\xff\xfe not utf-8", ["INVALID_UTF8"]),
        (b"", ["EMPTY_INPUT"]),
        (b"null", ["NOT_A_REPORT"]),
        (b"[" * 500 + b"]" * 500, ["TOO_DEEP"]),
        (('{"results":[' + ",".join([good] * 600) + "]}").encode(), ["TOO_LARGE"]),
        (wrong_types, ["BAD_FIELD_TYPE"]),
        (b'{"results":{"not":"an array"}}', ["RESULTS_NOT_ARRAY"]),
        (batch_with_bad, ["REPORT_NOT_OBJECT"]),
    ]


def scenario_poison(binary, soak):
    """Poison of every kind interleaved with good traffic: each poison dead-lettered with its reason
    and source coordinates, every good report enriched, nothing stalls."""
    msgs = list(dlrgen.generate(903, 100_000, 0.0))
    good = ('{"messageId":"POISON-ID","status":{"groupId":3,"groupName":"DELIVERED","id":5,'
            '"name":"DELIVERED_TO_HANDSET","description":"d"}}')
    poisons = poison_messages(good)
    rounds = 30 if soak else 10
    stream, expected = [], []  # expected: (index in stream, reasons)
    step = max(1, len(msgs) // (rounds * len(poisons)))
    for i, m in enumerate(msgs):
        stream.append((m["channel"], m["key"], m["value"], None))
        if i % step == 0 and len(expected) < rounds * len(poisons):
            value, reasons = poisons[len(expected) % len(poisons)]
            expected.append((len(stream), reasons))
            stream.append(("sms", b"poison", value, None))
    topics = kafka.Topics(CHANNELS)
    st = kafka.Stage(binary, topics, extra="processing:\n  max_document_bytes: 65536")  # generated batches stay below
    st.wait_ready()
    coords = kafka.produce(topics.inputs, stream)
    wait_all_committed(topics)
    code, _ = st.stop()
    if code != 0:
        kafka.fail(f"exit {code}:\n{st.text()}")
    dead = collections.defaultdict(list)
    for r in kafka.read_all(topics.outputs["dead_letter"]):
        h = r["headers"]
        dead[(h["dlr-source-topic"], int(h["dlr-source-partition"]), int(h["dlr-source-offset"]))].append(h["dlr-reason"])
    for index, reasons in expected:
        topic, partition, offset, _ = coords[index]
        got = [x for x in dead.get((topic, partition, offset), []) if x != "PERMANENT_FAILURE"]
        if got != reasons:
            kafka.fail(f"poison at {topic}/{partition}/{offset}: dead-letter reasons {got}, expected {reasons}")
    enriched = keys_of(topics.outputs["enriched"])
    for i in ("batch-good-1", "batch-good-2", "wrong-types"):
        if i.startswith("batch") and not enriched[i]:
            kafka.fail(f"the good report {i} of a batch with a bad one was not enriched")
    verdict("poison", msgs, topics)
    print(f"poison: {len(expected)} poison messages of {len(poisons)} kinds, each dead-lettered with its reason "
          f"and source coordinates", flush=True)


def scenario_dlq_unwritable(binary, soak):
    """The dead-letter topic cannot be written: partitions with poison stop advancing, nothing is
    dropped, and everything resumes once it can be written."""
    msgs = list(dlrgen.generate(904, 20_000, 0.03))
    topics = kafka.Topics(CHANNELS, skip=("dead_letter",))
    coords = kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    st = kafka.Stage(binary, topics, producer_props={"message.timeout.ms": "3000"})
    poisons = [(t, p, o) for m, (t, p, o, _) in zip(msgs, coords) if m["kind"] == "malformed"]
    deadline = time.time() + 60
    while time.time() < deadline:
        if st.metrics().get('dlr_produce_errors_total{destination="dead_letter"}', 0) > 0:
            break
        time.sleep(0.5)
    time.sleep(4)
    held = kafka.committed(topics.group, list(topics.inputs.values()))
    ahead = [(t, p, o) for t, p, o in poisons if held.get((t, p), 0) > o]
    if ahead:
        kafka.fail(f"offsets committed past undelivered dead letters: {ahead[:3]}")
    if st.proc.poll() is not None or st.get("/healthz")[0] != 200:
        kafka.fail("the stage did not keep running while the dead-letter topic was unwritable")
    topics.create("dead_letter")
    wait_all_committed(topics, timeout=120)
    code, _ = st.stop()
    if code != 0:
        kafka.fail(f"exit {code}:\n{st.text()}")
    dead = {kafka.source_of(r) for r in kafka.read_all(topics.outputs["dead_letter"])}
    missing = [c for c in poisons if c not in dead]
    if missing:
        kafka.fail(f"{len(missing)} malformed messages never reached the dead-letter topic")
    verdict("dlq_unwritable", msgs, topics)


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary, "--soak" in sys.argv)
