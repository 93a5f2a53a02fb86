#!/usr/bin/env python3
"""Fault scenarios of the tracker against the real broker: killed with SIGKILL, its state folder
deleted, instances coming and going. The input is analytics records written straight to the
tracker's input topic (what the enrichment stage writes), generated from message histories with
duplicates, late intermediates, conflicting and missing finals. After each scenario, the latest
message-state record of every message must equal the model's (tests/integration/tracker_test.py).
Each prints one line
  faults: <scenario> in=N messages=M duplicates=D mismatched=X lost=L
and fails unless mismatched and lost are 0, and under exactly-once also unless duplicates is 0
(a duplicate: a state record that repeats the one before it for its message, as a record read
again after a crash writes it at-least-once).

  tracker_faults_test.py BINARY SCENARIO [--soak]
      SCENARIO: tracker_kill9 | tracker_kill9_eos | tracker_restore | tracker_members
"""
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))
import stage as kafka  # noqa: E402
import tracker_test as tt  # noqa: E402
from faults_test import EXACTLY_ONCE, watermarks  # noqa: E402

FAST_REJOIN = {"session.timeout.ms": "6000", "auto.commit.interval.ms": "500"}


def analytics_record(message_id, kind, time_ms, outcome_of):
    """An analytics record as the enrichment stage writes it for this kind of report."""
    (group, status_id, _), (error_id, _), rank = tt.REPORTS[kind]
    return json.dumps({"time": time_ms, "messageId": message_id, "channel": "sms", "family": "general",
                       "statusGroupId": group, "statusId": status_id, "errorFamily": "general", "errorId": error_id,
                       "outcome": outcome_of[kind], "final": rank == 3, "rule": "r", "unknownCode": False,
                       "mccMnc": None, "price": None, "currency": None, "latencyMs": None, "catalogVersion": "v"})


class Setup:
    """Topics, the tracker's config block and the generated input."""

    def __init__(self, binary, messages, seed, exactly_once=False):
        self.binary = binary
        self.exactly_once = exactly_once
        self.outcome_of = tt.outcomes(binary)
        self.topics = kafka.Topics(["sms"], partitions=4)
        self.state_dir = Path(tempfile.mkdtemp(prefix="dlr-tracker-faults-"))
        self.tracking = tt.Tracking(self.topics, self.state_dir)
        if exactly_once:
            self.tracking.block += EXACTLY_ONCE + "\n"
        self.group = f"{self.topics.group}-tracker"
        self.sent = tt.histories(seed, messages)
        # Messages interleave at random; each message's reports keep their order.
        values = {mid: iter([analytics_record(mid, kind, t, self.outcome_of).encode() for kind, t in steps])
                  for mid, steps in self.sent.items()}
        keys = [mid for mid, steps in self.sent.items() for _ in steps]
        random.Random(seed).shuffle(keys)
        self.records = [(None, mid.encode(), next(values[mid]), None) for mid in keys]

    def feed(self, rate):
        topic = {None: self.topics.outputs["analytics"]}
        thread = threading.Thread(target=kafka.produce, args=(topic, self.records), kwargs={"rate": rate})
        thread.start()
        return thread

    def tracker(self, name):
        return kafka.Stage(self.binary, self.topics, extra=self.tracking.block, subcommand="track", name=name,
                           consumer_props=FAST_REJOIN)

    def wait_committed(self, timeout=600, tracker=None):
        """Until the group has committed every input record; fails at once if `tracker` ends."""
        inputs = [self.topics.outputs["analytics"]]
        ends = {tp: hi for tp, (lo, hi) in watermarks(inputs).items()}
        deadline = time.time() + timeout
        while time.time() < deadline:
            if tracker and tracker.proc.poll() is not None:
                kafka.fail(f"the tracker exited with {tracker.proc.returncode}:\n{tracker.text()[-4000:]}")
            done = kafka.committed(self.group, inputs)
            if all(done.get(tp, 0) >= hi for tp, hi in ends.items()):
                return
            time.sleep(1)
        kafka.fail(f"the tracker group did not commit all {sum(ends.values())} input records within {timeout}s")

    def verdict(self, name):
        states, previous, duplicates = {}, {}, 0
        for r in kafka.read_all(self.tracking.output):  # read_committed: what downstream sees
            if r["value"] is None:
                continue
            mid = r["key"].decode()
            duplicates += previous.get(mid) == r["value"]
            previous[mid] = r["value"]
            states[mid] = json.loads(r["value"])
        lost = sum(1 for mid in self.sent if mid not in states)
        mismatched = []
        for mid, steps in self.sent.items():
            if mid in states and tt.observed(states[mid]) != tt.model(steps, self.outcome_of):
                mismatched.append(mid)
        print(f"faults: {name} in={len(self.records)} messages={len(self.sent)} duplicates={duplicates} "
              f"mismatched={len(mismatched)} lost={lost}", flush=True)
        if mismatched:
            mid = mismatched[0]
            kafka.fail(f"{mid}: state {tt.observed(states[mid])}, model {tt.model(self.sent[mid], self.outcome_of)}")
        if lost:
            kafka.fail(f"{lost} messages without a state")
        if self.exactly_once and duplicates:
            kafka.fail(f"{duplicates} state records written twice under exactly_once")


def kill(tracker):
    tracker.proc.send_signal(signal.SIGKILL)
    tracker.proc.wait(10)
    tracker.log.close()


def finish(setup, name):
    last = setup.tracker("last")
    setup.wait_committed()
    code, _ = last.stop()
    if code != 0:
        kafka.fail(f"last run exit {code}:\n{last.text()}")
    setup.verdict(name)


def scenario_tracker_kill9_eos(binary, soak):
    """The same kills with processing.guarantee: exactly_once: no state record written twice."""
    scenario_tracker_kill9(binary, soak, exactly_once=True)


def scenario_tracker_kill9(binary, soak, exactly_once=False):
    """SIGKILL at random points, three times, while at least 300,000 reports flow."""
    setup = Setup(binary, 190_000 if soak else 64_000, seed=21, exactly_once=exactly_once)
    rnd = random.Random(21)
    feeder = setup.feed(rate=len(setup.records) / 30)
    for n in range(3):
        tracker = setup.tracker(f"kill{n}")
        tracker.wait_ready(timeout=120)
        time.sleep(rnd.uniform(1.0, 4.0))
        read = int(tracker.metrics().get("dlr_tracker_input_records_total", 0))
        print(f"kill {n + 1}: SIGKILL after {read} records", flush=True)
        kill(tracker)
    feeder.join()
    finish(setup, "tracker_kill9_eos" if exactly_once else "tracker_kill9")


def scenario_tracker_restore(binary, soak):
    """The state folder deleted between runs: every store comes back from the changelog alone."""
    setup = Setup(binary, 60_000 if soak else 20_000, seed=22)
    feeder = setup.feed(rate=len(setup.records) / 20)
    for n in range(2):
        tracker = setup.tracker(f"run{n}")
        tracker.wait_ready(timeout=120)
        time.sleep(4)
        kill(tracker)
        shutil.rmtree(setup.state_dir)
        print(f"run {n + 1}: killed, state folder deleted", flush=True)
    feeder.join()
    finish(setup, "tracker_restore")


def scenario_tracker_members(binary, soak):
    """Two instances share the partitions; one is killed and another added: partitions move and
    their stores are restored on the new owner."""
    setup = Setup(binary, 60_000 if soak else 20_000, seed=23)
    first = setup.tracker("a")
    second_dir = Path(tempfile.mkdtemp(prefix="dlr-tracker-faults-b-"))
    b_block = setup.tracking.block.replace(str(setup.state_dir), str(second_dir))
    second = kafka.Stage(binary, setup.topics, extra=b_block, subcommand="track", name="b", consumer_props=FAST_REJOIN)
    first.wait_ready(timeout=120)
    feeder = setup.feed(rate=len(setup.records) / 20)
    time.sleep(5)
    kill(first)
    print("member a killed", flush=True)
    third_dir = Path(tempfile.mkdtemp(prefix="dlr-tracker-faults-c-"))
    third = kafka.Stage(binary, setup.topics, extra=setup.tracking.block.replace(str(setup.state_dir), str(third_dir)),
                        subcommand="track", name="c", consumer_props=FAST_REJOIN)
    print("member c added", flush=True)
    feeder.join()
    setup.wait_committed()
    for member in (second, third):
        code, _ = member.stop()
        if code != 0:
            kafka.fail(f"member exit {code}:\n{member.text()}")
    setup.verdict("tracker_members")


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary, "--soak" in sys.argv)
