#!/usr/bin/env python3
"""`dlr-enricher track` behind `dlr-enricher run` on the real broker: generated message histories
with duplicates, intermediates after the final, conflicting finals and missing finals go through
both stages; the latest dlr.message-state record per message must equal what the model below
computes from the same input. The model is written here from the rules in
processor/tracking/README.md and shares no code with the tracker.

  tracker_test.py BINARY SCENARIO     SCENARIO: histories
"""
import json
import random
import shutil
import sys
import time
from pathlib import Path

import jsonschema
from confluent_kafka.admin import AdminClient, NewTopic

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from stage import BROKERS, ROOT, Stage, Topics, fail, produce, read_all, wait_consumed  # noqa: E402

# The reports a history is made of: (status group, id, name), error id and name, rank, final.
# Ranks as the tracker's README defines them: 1 pending, 2 handed on to the operator, 3 final.
REPORTS = {
    "accepted": ((1, 26, "PENDING_ACCEPTED"), (0, "NO_ERROR"), 1),
    "enroute": ((1, 7, "PENDING_ENROUTE"), (0, "NO_ERROR"), 1),
    "operator": ((3, 2, "DELIVERED_TO_OPERATOR"), (0, "NO_ERROR"), 2),
    "handset": ((3, 5, "DELIVERED_TO_HANDSET"), (0, "NO_ERROR"), 3),
    "undeliverable": ((2, 4, "UNDELIVERABLE_REJECTED_OPERATOR"), (27, "EC_ABSENT_SUBSCRIBER"), 3),
    "expired": ((4, 15, "EXPIRED_EXPIRED"), (0, "NO_ERROR"), 3),
}
BASE_MS = 1_780_000_000_000


def check(condition, message):
    if not condition:
        fail(message)


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms % 1000:03d}+0000"


def histories(seed, messages):
    """{messageId: [(kind, time_ms)] in the order they are sent}."""
    rng = random.Random(seed)
    out = {}
    for n in range(messages):
        t = BASE_MS + n * 1000
        shape = rng.choice(["clean", "clean", "no-final", "conflict", "expired", "late"])
        steps = [("accepted", t), ("enroute", t + 100), ("operator", t + 200)]
        if shape in ("clean", "late"):
            steps.append(("handset", t + 300))
        elif shape == "conflict":
            steps += [("handset", t + 300), ("undeliverable", t + 400)]
            if rng.random() < 0.5:
                steps[-1], steps[-2] = steps[-2], steps[-1]  # the later final arrives first
        elif shape == "expired":
            steps.append(("expired", t + 300))
        if shape == "late":
            steps.append(steps.pop(rng.randrange(3)))  # an intermediate after the final
        rng.shuffle(steps) if rng.random() < 0.15 else None
        for _ in range(rng.choice([0, 0, 1, 2])):  # webhook retries: the same report again
            steps.insert(rng.randrange(len(steps) + 1), rng.choice(steps))
        out[f"m-{seed}-{n}"] = steps
    return out


def report_json(message_id, kind, time_ms):
    (group, status_id, name), (error_id, error_name), _ = REPORTS[kind]
    error_group = 1 if error_id else 0
    return {"messageId": message_id, "doneAt": iso(time_ms), "sentAt": iso(BASE_MS),
            "status": {"groupId": group, "id": status_id, "name": name},
            "error": {"groupId": error_group, "id": error_id, "name": error_name}}


def model(steps, outcome_of):
    """The state the tracker must reach from these reports, in this order."""
    seen, finals = set(), set()
    state, late, total = None, 0, 0
    first = last = None
    for kind, t in steps:
        total += 1
        (_, status_id, _), (error_id, _), rank = REPORTS[kind]
        key = (t, status_id, error_id)
        if key in seen:
            continue
        seen.add(key)
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        if rank == 3:
            finals.add((status_id, error_id))
        candidate = (rank, t, status_id, error_id, kind)
        if state is None or outranks(candidate, state):
            state = candidate
        elif rank != 3:
            late += 1
    rank, t, status_id, error_id, kind = state
    return {"outcome": outcome_of[kind], "final": rank == 3, "status": status_id, "error": error_id, "reportAt": t,
            "firstReportAt": first, "lastReportAt": last, "reports": len(seen), "duplicates": total - len(seen),
            "late": late, "conflicts": max(0, len(finals) - 1)}


def outranks(a, b):
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[0] == 3:
        return a[1:4] < b[1:4]  # the first final stays
    return a[1:4] > b[1:4]  # the latest intermediate shows


def observed(record):
    return {"outcome": record["outcome"], "final": record["final"], "status": record["status"]["id"],
            "error": record["error"]["id"] if record["error"] else None, "reportAt": record["reportAt"],
            "firstReportAt": record["firstReportAt"], "lastReportAt": record["lastReportAt"],
            "reports": record["reports"], "duplicates": record["duplicates"], "late": record["late"],
            "conflicts": record["conflicts"]}


class Tracking:
    """The tracker's own topics (compacted, as many partitions as its input) and config block."""

    def __init__(self, topics, state_dir):
        self.output = topics.outputs["analytics"] + ".state"
        self.changelog = topics.outputs["analytics"] + ".changelog"
        compacted = {"cleanup.policy": "compact"}
        admin = AdminClient({"bootstrap.servers": BROKERS})
        for f in admin.create_topics([NewTopic(t, topics.partitions, 1, config=compacted)
                                      for t in (self.output, self.changelog)]).values():
            f.result(30)
        self.state_dir = state_dir
        self.block = (f"tracking:\n  group_id: {topics.group}-tracker\n  output: {self.output}\n"
                      f"  changelog: {self.changelog}\n  state_dir: {state_dir}\n  metrics_address: 127.0.0.1:0\n")


def wait_tracked(tracker, records, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = tracker.metrics()
        if m.get("dlr_tracker_input_records_total", 0) >= records and m.get("dlr_tracker_in_flight_messages", 1) == 0:
            return m
        check(tracker.proc.poll() is None, f"the tracker exited:\n{tracker.text()}")
        time.sleep(0.3)
    fail(f"the tracker read {tracker.metrics().get('dlr_tracker_input_records_total')} of {records} records:\n{tracker.text()[-3000:]}")


def latest_states(topic):
    latest = {}
    for r in read_all(topic):
        if r["value"] is not None:
            latest[r["key"].decode()] = json.loads(r["value"])
    return latest


def compare(states, sent, outcome_of, schema):
    check(set(states) == set(sent), f"{len(set(sent) - set(states))} message(s) without a state, "
                                    f"{len(set(states) - set(sent))} unexpected")
    for message_id, steps in sent.items():
        jsonschema.validate(states[message_id], schema)
        want, got = model(steps, outcome_of), observed(states[message_id])
        check(got == want, f"{message_id}: state {got}, the model says {want}; reports {steps}")


def outcomes(binary):
    """The outcome the enrichment stage gives each kind of report (the tracker's input, not its logic)."""
    import subprocess
    lines = "\n".join(json.dumps(report_json("x", kind, BASE_MS)) for kind in REPORTS)
    out = subprocess.run([binary, "enrich", "--channel", "sms"], input=lines, capture_output=True, text=True, check=True)
    return {kind: json.loads(line)["outcome"] for kind, line in zip(REPORTS, out.stdout.splitlines())}


def send(topics, sent):
    messages = [("sms", message_id.encode(), json.dumps({"results": [report_json(message_id, kind, t)]}).encode(), None)
                for message_id, steps in sent.items() for kind, t in steps]
    # One message's reports in order: keyed by messageId, one producer, so one partition in order.
    produce(topics.inputs, messages)
    return len(messages)


def scenario_histories(binary):
    """Two rounds: the second after the tracker's state folder is deleted (its store restored from
    the changelog alone), with more reports for the same messages."""
    import tempfile
    outcome_of = outcomes(binary)
    schema = json.loads((ROOT / "schemas/message-state.schema.json").read_text())
    topics = Topics(["sms"], partitions=4)
    state_dir = Path(tempfile.mkdtemp(prefix="dlr-tracker-state-"))
    tracking = Tracking(topics, state_dir)
    stage = Stage(binary, topics, extra=tracking.block)
    tracker = Stage(binary, topics, extra=tracking.block, subcommand="track", name="tracker")
    tracker.wait_ready()
    sent = histories(seed=13, messages=1500)
    count = send(topics, sent)
    wait_consumed([stage], count)
    wait_tracked(tracker, count)
    code, _ = tracker.stop()
    check(code == 0, f"tracker exit {code}:\n{tracker.text()}")
    compare(latest_states(tracking.output), sent, outcome_of, schema)
    first_round = len(sent)

    shutil.rmtree(state_dir)
    more = histories(seed=14, messages=400)
    for n, (message_id, steps) in enumerate(list(sent.items())[:400]):  # the same messages, more reports
        sent[message_id] = steps + [(kind, t + 60_000) for kind, t in more[f"m-14-{n}"]]
        more[f"m-14-{n}"] = [(kind, t + 60_000) for kind, t in more[f"m-14-{n}"]]
    tracker = Stage(binary, topics, extra=tracking.block, subcommand="track", name="tracker-restored")
    tracker.wait_ready()
    restored = tracker.metrics().get("dlr_tracker_restored_records", 0)
    check(restored >= first_round, f"the deleted store was restored from {restored} changelog records")
    second = {message_id: more[f"m-14-{n}"] for n, message_id in enumerate(list(sent)[:400])}
    count += send(topics, second)
    wait_consumed([stage], count)
    wait_tracked(tracker, sum(len(s) for s in second.values()))
    code, _ = tracker.stop()
    check(code == 0, f"tracker exit {code}:\n{tracker.text()}")
    stage.stop()
    states = latest_states(tracking.output)
    compare(states, sent, outcome_of, schema)
    print(f"histories: {len(sent)} messages, {count} reports; every latest state equals the model's "
          f"(duplicates={sum(s['duplicates'] for s in states.values())} late={sum(s['late'] for s in states.values())} "
          f"conflicts={sum(s['conflicts'] for s in states.values())}); restored {int(restored)} changelog records "
          f"after the state folder was deleted; mismatched=0 lost=0")


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary)
    print(f"tracker {scenario}: passed")
