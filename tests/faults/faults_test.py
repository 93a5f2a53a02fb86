#!/usr/bin/env python3
"""Fault scenarios against real brokers: nothing is lost when the stage is killed, when the broker
restarts, or when group members come and go. Each prints one line
  faults: <scenario> in=N enriched=N dlq=N duplicates=D lost=L
and fails unless lost=0.

  faults_test.py BINARY SCENARIO [--soak]     SCENARIO: kill9 | kill9_eos | broker_restart | members
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
FAST_REJOIN = {"session.timeout.ms": "6000", "auto.commit.interval.ms": "500"}


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
    for kill in range(5):
        st = kafka.Stage(binary, topics, consumer_props=FAST_REJOIN, name=f"run{kill}", extra=extra)
        st.wait_ready()  # partitions assigned: the kill lands while it works
        time.sleep(rnd.uniform(0.5, 3.0))
        consumed = int(st.metrics().get("dlr_input_messages_total", 0))
        print(f"kill {kill + 1}: SIGKILL after {consumed} messages", flush=True)
        st.proc.send_signal(signal.SIGKILL)
        st.proc.wait(10)
        st.log.close()
    feeder.join()
    last = kafka.Stage(binary, topics, consumer_props=FAST_REJOIN, name="last", extra=extra)
    deadline = time.time() + 600
    while time.time() < deadline:  # until the group has committed every input offset
        try:
            done = kafka.committed(topics.group, list(topics.inputs.values()))
        except Exception:  # offsets of a transaction still open are not readable yet
            time.sleep(1)
            continue
        wm = {tp: hi for tp, (lo, hi) in watermarks(list(topics.inputs.values())).items()}
        if all(done.get(tp, 0) >= hi for tp, hi in wm.items()) and last.metrics().get("dlr_in_flight_messages", 1) == 0:
            break
        time.sleep(1)
    code, _ = last.stop()
    if code != 0:
        kafka.fail(f"last run exit {code}:\n{last.text()}")
    duplicates = verdict(name, msgs, topics)
    if exactly_once and duplicates:
        kafka.fail(f"{duplicates} duplicates under exactly_once")


def watermarks(topics):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": kafka.BROKERS, "group.id": "faults-wm"})
    out = {}
    for t in topics:
        for p in c.list_topics(t, timeout=10).topics[t].partitions:
            out[(t, p)] = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
    c.close()
    return out


def scenario_members(binary, soak):
    """Three instances in one group; one killed and another started mid-stream."""
    msgs = list(dlrgen.generate(901, 600_000 if soak else 200_000, 0.002))
    topics = kafka.Topics(CHANNELS)
    members = [kafka.Stage(binary, topics, consumer_props=FAST_REJOIN, name=f"m{i}") for i in range(3)]
    for m in members:
        m.wait_ready()
    feeder = threading.Thread(target=kafka.produce, args=(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs]),
                              kwargs={"rate": len(msgs) / 8})
    feeder.start()
    time.sleep(3)
    members[0].proc.send_signal(signal.SIGKILL)
    members[0].proc.wait(10)
    time.sleep(1)
    members.append(kafka.Stage(binary, topics, consumer_props=FAST_REJOIN, name="m3"))
    feeder.join()
    alive = members[1:]
    on_topics = sum(hi - lo for lo, hi in watermarks(list(topics.inputs.values())).values())
    deadline = time.time() + 300
    while time.time() < deadline:
        done = kafka.committed(topics.group, list(topics.inputs.values()))
        if sum(done.values()) >= on_topics:
            break
        time.sleep(1)
    for m in alive:
        code, _ = m.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{m.text()}")
    verdict("members", msgs, topics)


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
        on_topics = sum(hi - lo for lo, hi in watermarks(list(topics.inputs.values())).values())
        deadline = time.time() + 300
        while time.time() < deadline:
            done = kafka.committed(topics.group, list(topics.inputs.values()))
            if sum(done.values()) >= on_topics:
                break
            time.sleep(1)
        code, _ = st.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{st.text()}")
        verdict("broker_restart", msgs, topics, brokers)
    finally:
        subprocess.run([script, "stop"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary, "--soak" in sys.argv)
