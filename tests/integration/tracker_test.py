#!/usr/bin/env python3
"""`dlr-enricher track` behind `dlr-enricher run` on the real broker: generated message histories
with duplicates, intermediates after the final, conflicting finals and missing finals go through
both stages; the latest dlr.message-state record per message must equal what the model below
computes from the same input. The model is written here from the rules in
processor/tracking/README.md and shares no code with the tracker.

`replay` redrives dead letters after a catalogue fix and checks what comes out, that a second
replay moves no state, and that a replay killed midway resumes.

  tracker_test.py BINARY SCENARIO     SCENARIO: histories | replay
"""
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
from confluent_kafka.admin import AdminClient, NewTopic

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stage as harness  # noqa: E402
from stage import ROOT, Stage, Topics, committed, fail, produce, read_all, wait_consumed  # noqa: E402

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
        admin = AdminClient({"bootstrap.servers": harness.BROKERS})
        for f in admin.create_topics([NewTopic(t, topics.partitions, harness.REPLICATION,
                                               config={**compacted, **topics.replicated})
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


# A status the shipped catalogue does not know, in a group that is not a status group: dead-lettered
# as UNKNOWN_STATUS_GROUP until a new edition of the catalogue lists it.
NEW_STATUS = {"groupId": 7, "groupName": "WALLET", "id": 8001, "name": "DELIVERED_TO_WALLET"}
NEW_ENTRY = """  - kind: status
    family: general
    group_id: 3
    group_name: "DELIVERED"
    group_title: "Delivered"
    id: 8001
    name: "DELIVERED_TO_WALLET"
    aliases: []
    permanent: null
    description: "Delivered to the recipient's wallet app."
    resolution: ""
    section: "delivered-general-status-codes"
    extra: {}
"""


def replay(binary, config, *options, check_exit=True):
    run = subprocess.run([binary, "replay", "--config", str(config), *options], capture_output=True, text=True, timeout=300)
    if check_exit:
        check(run.returncode == 0, f"replay {' '.join(options)} exit {run.returncode}:\n{run.stdout}{run.stderr}")
    return run


def counted(text, what):
    m = re.search(rf"^{what} (\d+)", text, re.M)
    check(m, f"no '{what}' line in:\n{text}")
    return int(m.group(1))


def scenario_replay(binary):
    """Dead letters of a status the catalogue lacks, and malformed JSON, through both stages. A dry
    run counts them by reason and writes nothing; after the catalogue gains the status (SIGHUP), a
    replay writes every dead letter back: the fixed ones come out enriched and tracked, the
    malformed ones are dead-lettered again with dlr-replay-of, and the next replay passes over them
    (no loop). A second replay of everything changes no message's state (only its duplicate
    count). A replay killed with SIGKILL midway resumes from its group's offsets."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="dlr-replay-"))
    codes, policy = folder / "codes.yaml", folder / "policy.yaml"
    shutil.copy(ROOT / "catalog/codes.yaml", codes)
    shutil.copy(ROOT / "catalog/policy.yaml", policy)
    topics = Topics(["sms"], partitions=2)
    tracking = Tracking(topics, folder / "state")
    catalog = {"codes": codes, "policy": policy}
    stage = Stage(binary, topics, extra=tracking.block, catalog=catalog)
    tracker = Stage(binary, topics, extra=tracking.block, catalog=catalog, subcommand="track", name="tracker")
    tracker.wait_ready()
    stage.wait_ready()

    good = {f"ok-{n}": [("handset", BASE_MS + n)] for n in range(200)}
    fixable = [f"wallet-{n}" for n in range(30)]
    messages = [("sms", k.encode(), json.dumps({"results": [report_json(k, kind, t)]}).encode(), None)
                for k, steps in good.items() for kind, t in steps]
    for n, k in enumerate(fixable):
        report = report_json(k, "handset", BASE_MS + 5000 + n) | {"status": NEW_STATUS}
        messages.append(("sms", k.encode(), json.dumps({"results": [report]}).encode(), None))
    messages += [("sms", f"bad-{n}".encode(), b'{"results":[{"messageId":', None) for n in range(10)]
    produce(topics.inputs, messages)
    wait_consumed([stage], len(messages))
    wait_tracked(tracker, len(good))
    dead = read_all(topics.outputs["dead_letter"])
    reasons = sorted(r["headers"]["dlr-reason"] for r in dead)
    check(reasons == ["INVALID_JSON"] * 10 + ["UNKNOWN_STATUS_GROUP"] * 30, f"dead letters before the fix: {reasons}")

    # Dry run: the counts, nothing written, nothing committed.
    dry = replay(binary, stage.config, "--dry-run")
    check(re.search(rf"UNKNOWN_STATUS_GROUP\s+{re.escape(topics.inputs['sms'])}\s+30", dry.stdout), f"dry run:\n{dry.stdout}")
    check(re.search(r"INVALID_JSON\s+\S+\s+10", dry.stdout), f"dry run:\n{dry.stdout}")
    check(counted(dry.stdout, "would replay") == 40, dry.stdout)
    check(not committed(f"{topics.group}-replay", [topics.outputs["dead_letter"]]), "a dry run committed offsets")
    check(stage.metrics().get("dlr_input_messages_total") == len(messages), "a dry run wrote to the input")

    # The catalogue learns the status; the stage reloads it.
    codes.write_text(codes.read_text().replace("entries:\n", "entries:\n" + NEW_ENTRY, 1))
    stage.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 30
    while stage.metrics().get('dlr_catalog_reloads_total{result="applied"}', 0) < 1:
        check(time.time() < deadline, f"the catalogue was not reloaded:\n{stage.text()[-2000:]}")
        time.sleep(0.2)

    first = replay(binary, stage.config)
    check(counted(first.stdout, "replayed") == 40, first.stdout)
    wait_consumed([stage], len(messages) + 40)
    m = stage.metrics()
    check(m.get("dlr_replayed_messages_total") == 40, f"the stage counted {m.get('dlr_replayed_messages_total')} replayed messages")
    wait_tracked(tracker, len(good) + 30)
    enriched = [json.loads(r["value"]) for r in read_all(topics.outputs["enriched"])]
    wallet = [e for e in enriched if e.get("messageId", "").startswith("wallet-")]
    check(sorted(e["messageId"] for e in wallet) == sorted(fixable), f"{len(wallet)} fixed reports enriched, not 30")
    check(all(e["outcome"] == "delivered" and e["status"]["name"] == "DELIVERED_TO_WALLET" for e in wallet),
          f"a replayed report is not classified from the new catalogue entry: {wallet[:1]}")
    dead = read_all(topics.outputs["dead_letter"])
    again = [r for r in dead if "dlr-replay-of" in r["headers"]]
    check(len(dead) == 50 and len(again) == 10 and all(r["headers"]["dlr-reason"] == "INVALID_JSON" for r in again),
          f"after the replay: {len(dead)} dead letters, {len(again)} of replayed input")
    originals = {f"{r['topic']}/{r['partition']}/{r['offset']}" for r in dead if "dlr-replay-of" not in r["headers"]}
    check({r["headers"]["dlr-replay-of"] for r in again} <= originals, "dlr-replay-of does not name the dead letter replayed")
    states = latest_states(tracking.output)
    check(all(states[k]["outcome"] == "delivered" and states[k]["final"] for k in fixable), "a fixed message's state is not delivered")
    check(len(states) == len(good) + 30, f"{len(states)} message states, not {len(good) + 30}")

    # Nothing new: the group's replay is done, and the malformed input's dead letters are passed over.
    nothing = replay(binary, stage.config)
    check(counted(nothing.stdout, "replayed") == 0 and "passed over 10: dead letters of replayed input" in nothing.stdout,
          f"the next replay:\n{nothing.stdout}")

    # Everything again: the same reports reach the tracker once more, and no state moves.
    before = {k: {f: v for f, v in s.items() if f != "duplicates"} for k, s in states.items()}
    second = replay(binary, stage.config, "--from-beginning", "--reason", "UNKNOWN_STATUS_GROUP")
    check(counted(second.stdout, "replayed") == 30, second.stdout)
    wait_consumed([stage], len(messages) + 70)
    wait_tracked(tracker, len(good) + 60)
    states = latest_states(tracking.output)
    after = {k: {f: v for f, v in s.items() if f != "duplicates"} for k, s in states.items()}
    changed = [k for k in before if before[k] != after.get(k)]
    check(not changed, f"the second replay changed {len(changed)} states, e.g. {changed[:1]}: "
                       f"{before.get(changed[0]) if changed else ''} -> {after.get(changed[0]) if changed else ''}")
    check(all(states[k]["duplicates"] == 1 for k in fixable), "the repeated reports were not counted as duplicates")
    tracker_code, _ = tracker.stop()
    stage_code, _ = stage.stop()
    check(tracker_code == 0 and stage_code == 0, f"exits {stage_code}, {tracker_code}")

    # Interrupted: 100,000 dead letters to a scratch topic, the replay killed once its group has
    # committed some; the next run writes the rest, none lost.
    scratch = topics.outputs["dead_letter"] + ".scratch"
    admin = AdminClient({"bootstrap.servers": harness.BROKERS})
    admin.create_topics([NewTopic(scratch, 1, 1)])[scratch].result(30)
    headers = [("dlr-reason", b"INVALID_JSON"), ("dlr-source-topic", topics.inputs["sms"].encode())]
    produce({"dlq": topics.outputs["dead_letter"]}, (("dlq", f"k{n}".encode(), b"{", headers) for n in range(100_000)))
    group = f"{topics.group}-interrupted"
    options = ["--config", str(stage.config), "--to", scratch, "--group", group]
    proc = subprocess.Popen([binary, "replay", *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not committed(group, [topics.outputs["dead_letter"]]):
        check(proc.poll() is None, "the replay finished before it committed anything: not interrupted midway")
        check(time.time() < deadline, "the replay committed nothing in 120 s")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = sum(committed(group, [topics.outputs["dead_letter"]]).values())
    total = 100_000 + 50  # the 40 dead letters, the 10 of replayed input, and the new ones
    check(at_kill < total, f"killed after everything was committed ({at_kill})")
    resumed = replay(binary, stage.config, "--to", scratch, "--group", group)
    read = int(re.search(r"(\d+) dead letters read", resumed.stdout).group(1))
    check(read == total - at_kill, f"the resumed replay read {read}, not the {total - at_kill} left after offset {at_kill}")
    written = {r["headers"]["dlr-replay-of"] for r in read_all(scratch)}
    check(len(written) == 100_000 + 40, f"{len(written)} distinct dead letters written to {scratch}, not 100,040")
    print(f"replay: 40 dead letters (30 fixed by a catalogue change, 10 malformed); dry run counted 40 and wrote 0; "
          f"replay wrote 40: 30 enriched and tracked as delivered, 10 dead-lettered again and passed over next; "
          f"a second replay moved 0 of {len(before)} states (30 duplicates counted); killed at {at_kill} of {total}, "
          f"resumed with {read}; lost=0")


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary)
    print(f"tracker {scenario}: passed")
