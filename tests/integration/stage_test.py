#!/usr/bin/env python3
"""`dlr-enricher run` against the real broker: routing, keys, headers and counts; malformed input to
the dead-letter topic with the stream flowing on; XML bodies giving their JSON twins' records;
instances sharing a group; resuming from committed offsets; 100,000 reports; offsets never
committed ahead of outputs.

  stage_test.py BINARY SCENARIO     SCENARIO: routing | group | restart | bulk | offsets
"""
import base64
import collections
import json
import re
import signal
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
import dlrgen  # noqa: E402
from stage import (ROOT, Stage, Topics, committed, fail, produce, read_all, served_lag, settled, source_of,  # noqa: E402
                   tool_lag, wait_consumed)

VERSION = re.compile(r"\d{4}-\d{2}-\d{2}\+[0-9a-f]{12}")
CLASSIFIED = ("delivered", "pending", "retryable", "permanent")


def check(condition, message):
    if not condition:
        fail(message)


def outputs_of(topics):
    return {name: read_all(topic) for name, topic in topics.outputs.items()}


def by_source(records):
    """(source topic, partition, offset) -> records produced from that input message."""
    out = collections.defaultdict(list)
    for r in records:
        out[source_of(r)].append(r)
    return out


def catalog_version(binary):
    import subprocess
    text = subprocess.run([binary, "catalog", "check"], capture_output=True, text=True).stdout + \
        subprocess.run([binary, "catalog", "check"], capture_output=True, text=True).stderr
    return VERSION.search(text).group(0)


# ------------------------------------------------------------------------------------------------
def in_window(unix_ms, window):
    """Whether a time falls inside a sending window, at least 5 minutes before it closes."""
    import datetime
    import zoneinfo
    local = datetime.datetime.fromtimestamp(unix_ms / 1000, zoneinfo.ZoneInfo(window["zone"]))
    minute = local.hour * 60 + local.minute
    opens, closes = (int(t[:2]) * 60 + int(t[3:]) for t in (window["opens"], window["closes"]))
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    if opens < closes:
        return days[local.weekday()] in window["days"] and opens <= minute < closes - 5
    opened_today = days[local.weekday()] in window["days"] and minute >= opens
    opened_yesterday = days[(local.weekday() - 1) % 7] in window["days"] and minute < closes - 5
    return opened_today or opened_yesterday


def scenario_routing(binary):
    """Every golden case (real samples, each policy rule, every kind of bad input) through the
    stage: each output compared with what the core gives for it, with keys and headers."""
    cases = [json.loads(p.read_text()) | {"name": p.stem} for p in sorted((ROOT / "tests/golden").glob("*.json"))
             if not p.stem.startswith("lines-")]  # line-delimited files are an `enrich` feature
    channels = sorted({c.get("channel") or "" for c in cases})
    topics = Topics(channels)
    version = catalog_version(binary)

    messages = []
    for c in cases:
        data = base64.b64decode(c["input_base64"]) if "input_base64" in c else c["input"].encode()
        messages.append((c.get("channel") or "", c["name"].encode(), data, None))
    # A retryable report fed back by an upstream retrier after its 3rd attempt.
    retried = next(c for c in cases if c["name"] == "policy-user-out-of-credit")
    messages.append((retried.get("channel") or "", b"retried", retried["input"].encode(), [("dlr-retry-attempt", b"3")]))
    # Malformed first, then good ones with the same key (same partition): the stream flows on.
    good = next(c for c in cases if c["name"] == "shape-single-report")
    for i, poison in enumerate([b"{", b"", b"\xff\xfe", b"[" * 300]):
        messages.append(("sms", b"same-key", poison, None))
        messages.append(("sms", b"same-key", good["input"].replace("\"no-offset\"", f"\"after-poison-{i}\"").encode(), None))
    # Over the configured maximum document size: the whole message is a dead letter.
    big = ('{"results":[' + ",".join([good["input"]] * 400) + "]}").encode()
    check(len(big) > 65536, "the oversized message is not oversized")
    messages.append(("sms", b"too-large", big, None))
    coords = produce(topics.inputs, messages)

    stage = Stage(binary, topics, extra="processing:\n  max_document_bytes: 65536")
    stage.wait_ready()
    check(stage.get("/healthz")[0] == 200, "/healthz is not 200 while running")
    metrics = wait_consumed([stage], len(messages))
    code, seconds = stage.stop()
    check(code == 0, f"exit {code} after SIGTERM:\n{stage.text()}")
    check(seconds < 25, f"shutdown took {seconds:.1f}s")
    out = outputs_of(topics)

    # Expected records from the golden cases (what `enrich` gives, checked by the golden test).
    expected = collections.Counter()
    expected_enriched = {}
    for c, (topic, partition, offset, _) in zip(cases, coords):
        for rec in c["expected"]["enriched"]:
            outcome = rec["outcome"]
            if outcome in CLASSIFIED:
                expected["enriched"] += 1
                expected["analytics"] += 1
                expected["retry"] += outcome == "retryable"
                expected["dead_letter"] += outcome == "permanent"
                expected_enriched[(topic, partition, offset, rec["messageId"])] = rec
            elif outcome == "invalid":
                expected["dead_letter"] += 1
    expected["enriched"] += 1 + 4  # the retried copy and the four reports after poison
    expected["analytics"] += 1 + 4
    expected["retry"] += 1
    expected["dead_letter"] += 4 + 1  # the poisons and the oversized message
    for name in ("enriched", "retry", "dead_letter", "analytics"):
        check(len(out[name]) == expected[name], f"{name}: {len(out[name])} records, expected {expected[name]}")

    sys.path.insert(0, str(ROOT / "tests/golden"))
    from golden import load_schema
    headers_schema = load_schema("output-headers.schema.json")
    analytics_schema = load_schema("analytics-record.schema.json")
    enriched_schema = load_schema("enriched-report.schema.json")
    for r in out["analytics"]:
        analytics_schema.validate(json.loads(r["value"]))
    for r in out["enriched"] + out["retry"]:
        enriched_schema.validate(json.loads(r["value"]))
    for name, records in out.items():
        for r in records:
            h = r["headers"]
            headers_schema.validate(h)
            check((name == "retry") == ("dlr-retry-attempt" in h), f"retry headers on a {name} record: {h}")
            check((name == "dead_letter") == ("dlr-reason" in h), f"dead-letter headers on a {name} record: {h}")
            if name in ("retry", "dead_letter"):
                check(h.get("dlr-catalog-version") == version, f"{name} record without the catalogue version header: {h}")
                if name == "retry":  # a dead letter's agreement with its split source headers is checked below
                    named = json.loads(r["value"])["classification"]["source"]
                    check(h.get("dlr-source") == named, f"retry record's dlr-source {h.get('dlr-source')}, JSON {named}")
            else:  # outputs.source_headers is off: the JSON names version and source
                check(h == {}, f"{name} record with headers {h}")
                body = json.loads(r["value"])
                stamped = body["classification"]["catalogVersion"] if name == "enriched" else body["catalogVersion"]
                check(stamped == version, f"{name} record's JSON names catalogue {stamped}, not {version}")
            if name != "dead_letter" or h.get("dlr-outcome") != "invalid":
                body = json.loads(r["value"])
                check(r["key"] == str(body["messageId"]).encode(), f"{name} record keyed {r['key']!r}, messageId {body['messageId']}")
    # Enriched records equal the core's output, byte for byte after the version.
    matched = 0
    for r in out["enriched"]:
        body = json.loads(VERSION.sub("<catalog-version>", r["value"].decode()))
        key = (*source_of(r), body["messageId"])
        named = body["classification"].pop("source")  # the stage names the input; `enrich` has none
        check(named == "/".join(map(str, key[:3])), f"enriched record names source {named}, came from {key[:3]}")
        if key in expected_enriched:
            check(body == expected_enriched[key], f"enriched record differs from the core's for {key}")
            matched += 1
    check(matched == len(expected_enriched), f"{matched} of {len(expected_enriched)} enriched records matched")
    # XML bodies on the input topic: their enriched records are those of their JSON twins.
    twins = 0
    for c, (topic, partition, offset, _) in zip(cases, coords):
        if "twin" not in c:
            continue
        twin_coord = next(co[:3] for tc, co in zip(cases, coords) if tc["name"] == Path(c["twin"]).stem)
        def of(coord):
            bodies = [json.loads(VERSION.sub("", r["value"].decode())) for r in out["enriched"] if source_of(r) == coord]
            for body in bodies:
                body["classification"].pop("source")
            return sorted(bodies, key=lambda record: record["messageId"])
        check(of((topic, partition, offset)) == of(twin_coord) != [], f"{c['name']}: enriched records differ from its JSON twin's")
        twins += 1
    check(twins >= 4, f"only {twins} XML twins went through the stage")

    # Dead letters: original bytes, reason, source coordinates, group.
    source = {(t, p, o): (ts, m) for (t, p, o, ts), m in zip(coords, messages)}
    cases_at = {(t, p, o): c for c, (t, p, o, _) in zip(cases, coords)}
    xml_dead_letters = 0
    reasons = collections.Counter()
    for r in out["dead_letter"]:
        h = r["headers"]
        coord = source_of(r)
        check(coord == (h["dlr-source-topic"], int(h["dlr-source-partition"]), int(h["dlr-source-offset"])),
              f"dead letter source headers disagree: {h}")
        check(coord in source, f"dead letter with unknown source {coord}")
        timestamp, message = source[coord]
        check(h["dlr-consumer-group"] == topics.group and int(h["dlr-source-timestamp"]) == timestamp,
              f"dead letter group/timestamp headers wrong: {h}")
        reasons[h["dlr-reason"]] += 1
        if "dlr-report-index" not in h:  # the whole message
            check(r["value"] == message[2], f"dead letter for {coord} does not keep the original bytes")
        elif message[2].lstrip().startswith(b"<"):  # a report of an XML batch: dead-lettered as its JSON
            case = cases_at[coord]
            failing = case["expected"]["enriched"][int(h["dlr-report-index"])]  # one record per report, in order
            check(json.loads(r["value"]).get("messageId") == failing["messageId"],
                  f"dead letter for {coord} is not the JSON of the failing XML report: {r['value']!r}")
            xml_dead_letters += 1
        else:
            whole = json.loads(message[2])
            reports = whole["results"] if isinstance(whole, dict) else whole
            check(json.loads(r["value"]) == reports[int(h["dlr-report-index"])], f"dead letter for {coord} is not the failing report")
        if h["dlr-outcome"] == "permanent":
            check(h["dlr-reason"] == "PERMANENT_FAILURE" and h.get("dlr-rule"), f"permanent failure headers: {h}")
    for reason in ("TOO_LARGE", "INVALID_JSON", "EMPTY_INPUT", "INVALID_UTF8", "TOO_DEEP", "NOT_A_REPORT", "REPORT_NOT_OBJECT",
                   "MISSING_STATUS", "BAD_FIELD_TYPE", "PERMANENT_FAILURE", "INVALID_XML"):
        check(reasons[reason] > 0, f"no dead letter with reason {reason}: {dict(reasons)}")
    check(xml_dead_letters >= 2, f"{xml_dead_letters} dead letters of single XML reports, expected at least 2")

    # Retry headers: not-before from the hint, attempts counted on.
    for r in out["retry"]:
        h = r["headers"]
        body = json.loads(r["value"])
        hint = body["classification"]["retry"] or {}
        check(int(h["dlr-retry-not-before"]) >= r["timestamp"] - 5000 + 1000 * hint.get("notBeforeSeconds", 0) - 60000,
              f"retry not-before too early: {h}")
        if hint.get("window"):
            check(in_window(int(h["dlr-retry-not-before"]), hint["window"]), f"retry not-before outside {hint['window']}: {h}")
        want = "4" if source[source_of(r)][1][1] == b"retried" else "1"
        check(h["dlr-retry-attempt"] == want, f"retry attempt {h['dlr-retry-attempt']}, expected {want}")
        if hint.get("maxAttempts"):
            check(h["dlr-retry-max-attempts"] == str(hint["maxAttempts"]), f"max attempts header: {h}")

    after = sorted(json.loads(r["value"])["messageId"] for r in out["enriched"] if b"after-poison" in r["value"])
    check(after == [f"after-poison-{i}" for i in range(4)], f"reports after poison: {after}")

    # Metrics agree with what was written.
    for name, label in (("enriched", "enriched"), ("retry", "retry"), ("dead_letter", "dead_letter"), ("analytics", "analytics")):
        got = metrics[0].get(f'dlr_records_produced_total{{destination="{label}"}}')
        check(got == len(out[name]), f"metric produced {name} = {got}, topic has {len(out[name])}")
    check("stopped cleanly" in stage.text(), "no clean-stop line in the log")
    print(f"routing: {len(messages)} messages -> enriched={len(out['enriched'])} retry={len(out['retry'])} "
          f"dlq={len(out['dead_letter'])} analytics={len(out['analytics'])}; reasons {dict(reasons)}")


# ------------------------------------------------------------------------------------------------
def scenario_reload(binary):
    """Catalogue hot reload under load: while a stream flows, a changed catalogue is swapped in on
    SIGHUP, a broken one is refused (the last good one stays, the failure is counted), and a file
    change is picked up by the watch. Nothing is lost or processed twice; each input's outputs carry
    one version, versions only move forward per partition, and enrichment follows the catalogue."""
    import shutil
    import tempfile
    msgs, messages = generated(seed=500, reports=60_000)
    topics = Topics(["sms", "whatsapp", "email", "voice"])
    folder = Path(tempfile.mkdtemp(prefix="dlr-reload-"))
    codes, policy = folder / "codes.yaml", folder / "policy.yaml"
    shutil.copy(ROOT / "catalog/codes.yaml", codes)
    shutil.copy(ROOT / "catalog/policy.yaml", policy)
    original = codes.read_text()
    marker = "Message has been successfully delivered to the recipient's handset"
    check(original.count(marker) == 1, "the DELIVERED_TO_HANDSET description is not where the test expects it")
    descriptions = {}  # version -> the DELIVERED_TO_HANDSET description it carries

    # With the headers on every record (outputs.source_headers), as before they became optional:
    # each record's headers and JSON must agree.
    stage = Stage(binary, topics, catalog={"codes": codes, "policy": policy, "watch": "true", "watch_interval_s": "1"},
                  source_headers=True)
    stage.wait_ready()
    first = catalog_version(binary)
    descriptions[first] = marker

    def info(m):
        return [k for k in m if k.startswith("dlr_catalog_info{")]

    def wait_for(what, predicate, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = stage.metrics()
            if predicate(m):
                return m
            check(stage.proc.poll() is None, f"the stage exited during the reload test:\n{stage.text()}")
            time.sleep(0.2)
        fail(f"{what} not seen in {timeout}s; metrics {dict((k, v) for k, v in m.items() if 'catalog' in k)}")

    # About 14 s of stream: it must outlast three reloads (each a load and compile of the catalogue,
    # the last one after a file-watch settle) on a machine the broker and the stage share.
    feeder = threading.Thread(target=lambda: feeder.__dict__.setdefault("coords", produce(topics.inputs, messages, rate=500)))
    feeder.start()
    wait_for("traffic", lambda m: m["dlr_input_messages_total"] > 500)

    # 1. A changed catalogue on SIGHUP.
    codes.write_text(original.replace(marker, "Reloaded on SIGHUP: delivered to the handset"))
    stage.proc.send_signal(signal.SIGHUP)
    m = wait_for("the SIGHUP reload", lambda m: m['dlr_catalog_reloads_total{result="applied"}'] == 1)
    second = VERSION.search(info(m)[0]).group(0)
    check(second != first, f"the version did not change: {second}")
    descriptions[second] = "Reloaded on SIGHUP: delivered to the handset"
    consumed = m["dlr_input_messages_total"]
    wait_for("traffic on the new catalogue", lambda m: m["dlr_input_messages_total"] > consumed + 200)

    # 2. A broken catalogue is refused; the stream flows on with the last good one.
    codes.write_text(original.replace("entries:", "entries: [broken", 1))
    stage.proc.send_signal(signal.SIGHUP)
    m = wait_for("the failed reload", lambda m: m['dlr_catalog_reloads_total{result="failed"}'] == 1)
    check(m["dlr_catalog_last_reload_success"] == 0, "a failed reload left dlr_catalog_last_reload_success at 1")
    check(second in info(m)[0], f"after a failed reload the active version is {info(m)}, not {second}")
    consumed = m["dlr_input_messages_total"]
    wait_for("traffic after the failed reload", lambda m: m["dlr_input_messages_total"] > consumed + 200)
    check("catalogue reload (SIGHUP) failed" in stage.text(), "the failed reload was not logged")

    # 3. A file change, no signal: the watch loads it once it settles.
    time.sleep(1.5)
    codes.write_text(original.replace(marker, "Reloaded on file change: delivered to the handset"))
    m = wait_for("the file-change reload", lambda m: m['dlr_catalog_reloads_total{result="applied"}'] == 2)
    check(m["dlr_catalog_last_reload_success"] == 1, "the good reload did not reset dlr_catalog_last_reload_success")
    third = VERSION.search(info(m)[0]).group(0)
    descriptions[third] = "Reloaded on file change: delivered to the handset"
    check(len(descriptions) == 3, f"versions not distinct: {list(descriptions)}")
    consumed_at_third = m["dlr_input_messages_total"]

    feeder.join()
    coords = feeder.coords
    check(consumed_at_third < len(messages) * 0.95, "the stream ended before the last reload: not a test under load")
    wait_consumed([stage], len(messages), timeout=240)
    code, _ = stage.stop()
    check(code == 0, f"exit {code}:\n{stage.text()}")

    out = outputs_of(topics)
    check_complete(out, msgs, coords, exact=True)
    order = [first, second, third]
    seen_versions = collections.Counter()
    per_input = {}
    last_rank = collections.defaultdict(lambda: -1)
    for name in ("enriched", "analytics", "retry", "dead_letter"):
        for r in out[name]:
            version = r["headers"]["dlr-catalog-version"]
            check(version in order, f"{name} record with version {version}, not one of {order}")
            source = source_of(r)
            check(per_input.setdefault(source, version) == version, f"input {source} has outputs of two catalogues")
            seen_versions[version] += 1
            if name in ("enriched", "analytics"):
                body = json.loads(r["value"])
                stamped = body["classification"]["catalogVersion"] if name == "enriched" else body.get("catalogVersion")
                check(stamped == version, f"{name} body says {stamped}, header {version}")
                named = body["classification"]["source"] if name == "enriched" else body["source"]
                check(named == r["headers"]["dlr-source"], f"{name} body names {named}, header {r['headers']['dlr-source']}")
    for source in sorted(per_input):
        rank = order.index(per_input[source])
        partition = source[:2]
        check(rank >= last_rank[partition], f"{partition}: version went back at offset {source[2]}")
        last_rank[partition] = rank
    checked = 0
    for r in out["enriched"]:
        body = json.loads(r["value"])
        status = body.get("status", {})
        if status.get("name") == "DELIVERED_TO_HANDSET" and "catalog" in status:
            expected = descriptions[r["headers"]["dlr-catalog-version"]]
            check(status["catalog"]["description"] == expected,
                  f"record on {r['headers']['dlr-catalog-version']} has '{status['catalog']['description']}'")
            checked += 1
    check(all(seen_versions[v] > 0 for v in order), f"not every version was used: {dict(seen_versions)}")
    print(f"reload: in={len(messages)} messages, 60000 reports while reloading; outputs per version "
          f"{[seen_versions[v] for v in order]}; 1 refused reload; {checked} descriptions checked; "
          f"enriched={len(out['enriched'])} duplicates=0 lost=0")


# ------------------------------------------------------------------------------------------------
def generated(seed, reports, malformed=0.02):
    msgs = list(dlrgen.generate(seed, reports, malformed))
    return msgs, [(m["channel"], m["key"], m["value"], None) for m in msgs]


def check_complete(out, msgs, coords, exact):
    """Every valid report enriched (exactly once when `exact`), every malformed message dead-lettered
    with its source coordinates. Returns the number of duplicates."""
    valid_ids = collections.Counter(i for m in msgs if m["kind"] == "valid" for i in m["message_ids"])
    seen = collections.Counter(r["key"].decode() for r in out["enriched"])
    missing = [i for i in valid_ids if seen[i] == 0]
    check(not missing, f"{len(missing)} valid reports never enriched, e.g. {missing[:3]}")
    unexpected = [k for k in seen if k not in valid_ids]
    check(not unexpected, f"enriched records for unknown reports: {unexpected[:3]}")
    duplicates = sum(seen.values()) - len(valid_ids)
    if exact:
        check(duplicates == 0, f"{duplicates} duplicate enriched records")
    dead = by_source(out["dead_letter"])
    for m, (topic, partition, offset, _) in zip(msgs, coords):
        if m["kind"] != "malformed":
            continue
        records = [r for r in dead.get((topic, partition, offset), []) if r["headers"]["dlr-outcome"] == "invalid"]
        check(records, f"malformed message at {topic}/{partition}/{offset} not in the dead-letter topic")
        check(all(r["headers"]["dlr-reason"] == m["reason"] and r["value"] == m["value"] for r in records),
              f"dead letter for {topic}/{partition}/{offset}: {records[0]['headers']} (expected {m['reason']})")
        if exact:
            check(len(records) == 1, f"{len(records)} dead letters for {topic}/{partition}/{offset}")
    return duplicates


def scenario_bulk(binary):
    """100,000 reports mixed with malformed messages: one enriched record per valid report, one
    dead-letter record per malformed message with its source coordinates."""
    msgs, messages = generated(seed=100, reports=100_000)
    topics = Topics(["sms", "whatsapp", "email", "voice"])
    started = time.time()
    coords = produce(topics.inputs, messages)
    stage = Stage(binary, topics)
    metrics = wait_consumed([stage], len(messages), timeout=300)[0]
    code, _ = stage.stop()
    check(code == 0, f"exit {code}:\n{stage.text()}")
    out = outputs_of(topics)
    check_complete(out, msgs, coords, exact=True)
    malformed = sum(m["kind"] == "malformed" for m in msgs)
    permanent = metrics['dlr_reports_total{verdict="permanent"}']
    check(len(out["dead_letter"]) == malformed + permanent, f"dead letters {len(out['dead_letter'])} != {malformed} + {permanent}")
    check(len(out["analytics"]) == 100_000, f"analytics {len(out['analytics'])}")
    print(f"bulk: in={len(messages)} messages, 100000 reports, {malformed} malformed -> enriched={len(out['enriched'])} "
          f"retry={len(out['retry'])} dlq={len(out['dead_letter'])} analytics={len(out['analytics'])} duplicates=0 lost=0 "
          f"({time.time() - started:.1f}s)")


def scenario_group(binary):
    """Two instances in one group share the partitions and together process everything."""
    msgs, messages = generated(seed=200, reports=20_000)
    topics = Topics(["sms", "whatsapp", "email", "voice"])
    first = Stage(binary, topics, name="first")
    first.wait_ready()
    second = Stage(binary, topics, name="second")
    deadline = time.time() + 60
    while time.time() < deadline:
        a, b = first.metrics(), second.metrics()
        if a["dlr_assigned_partitions"] > 0 and b["dlr_assigned_partitions"] > 0 and \
                a["dlr_assigned_partitions"] + b["dlr_assigned_partitions"] == 16:
            break
        time.sleep(0.3)
    else:
        fail(f"partitions not shared: first {a['dlr_assigned_partitions']}, second {b['dlr_assigned_partitions']}")
    coords = produce(topics.inputs, messages)
    totals = wait_consumed([first, second], len(messages))
    shares = [int(t["dlr_input_messages_total"]) for t in totals]
    check(all(s > 0 for s in shares), f"one instance did nothing: {shares}")
    for s in (first, second):
        code, _ = s.stop()
        check(code == 0, f"exit {code}:\n{s.text()}")
    out = outputs_of(topics)
    duplicates = check_complete(out, msgs, coords, exact=False)
    print(f"group: in={len(messages)} messages shared {shares[0]}+{shares[1]}, enriched={len(out['enriched'])} "
          f"duplicates={duplicates} lost=0")


def scenario_restart(binary):
    """A stopped instance's successor resumes from the committed offsets: nothing twice, nothing lost."""
    msgs_a, messages_a = generated(seed=300, reports=3000)
    msgs_b, messages_b = generated(seed=301, reports=3000)
    topics = Topics(["sms", "whatsapp", "email", "voice"])
    coords_a = produce(topics.inputs, messages_a)
    first = Stage(binary, topics, name="first")
    wait_consumed([first], len(messages_a))
    code, _ = first.stop()
    check(code == 0, f"exit {code}:\n{first.text()}")
    coords_b = produce(topics.inputs, messages_b)
    second = Stage(binary, topics, name="second")
    metrics = wait_consumed([second], len(messages_b))[0]
    time.sleep(2)
    consumed = second.metrics()["dlr_input_messages_total"]
    check(consumed == len(messages_b), f"the restarted instance consumed {consumed} messages, expected only the new {len(messages_b)}")
    code, _ = second.stop()
    check(code == 0, f"exit {code}:\n{second.text()}")
    out = outputs_of(topics)
    check_complete(out, msgs_a + msgs_b, coords_a + coords_b, exact=True)
    print(f"restart: first run {len(messages_a)} messages, second run consumed {int(consumed)} (the new ones only), "
          f"enriched={len(out['enriched'])} duplicates=0 lost=0")


def scenario_offsets(binary):
    """No input offset is committed ahead of its outputs: kill -9 the stage mid-stream (no chance to
    tidy up), then every input below each committed offset must have all its outputs on the
    output topics. A restart then finishes the stream with nothing lost."""
    msgs, messages = generated(seed=400, reports=100_000)
    topics = Topics(["sms", "whatsapp", "email", "voice"])
    # A short session so the restarted member need not wait out the killed one's session.
    stage = Stage(binary, topics, consumer_props={"auto.commit.interval.ms": "200", "session.timeout.ms": "6000"})
    stage.wait_ready()
    # Feed the stream while the stage runs, and kill it halfway through.
    coords = []
    feeder = threading.Thread(target=lambda: coords.extend(produce(topics.inputs, messages, rate=2500)))
    feeder.start()
    deadline = time.time() + 120
    while time.time() < deadline:  # until a third of the stream is committed
        if sum(committed(topics.group, list(topics.inputs.values())).values()) >= len(messages) / 3:
            break
        time.sleep(0.1)
    consumed = stage.metrics().get("dlr_input_messages_total", 0)
    stage.proc.send_signal(signal.SIGKILL)
    stage.proc.wait(10)
    feeder.join()
    at_kill = committed(topics.group, list(topics.inputs.values()))
    out = outputs_of(topics)
    produced_from = {name: by_source(records) for name, records in out.items()}
    routing = {"delivered": ("enriched", "analytics"), "pending": ("enriched", "analytics"),
               "retryable": ("enriched", "retry", "analytics"), "permanent": ("enriched", "dead_letter", "analytics")}
    checked = 0
    for m, (topic, partition, offset, _) in zip(msgs, coords):
        if offset >= at_kill.get((topic, partition), 0):
            continue
        checked += 1
        coord = (topic, partition, offset)
        if m["kind"] == "malformed":
            check(produced_from["dead_letter"].get(coord), f"{coord} committed without its dead letter")
            continue
        enriched = produced_from["enriched"].get(coord, [])
        ids = {json.loads(r["value"])["messageId"] for r in enriched}
        check(ids == set(m["message_ids"]), f"{coord} committed with {len(ids)} of {len(m['message_ids'])} enriched reports")
        for r in enriched:
            outcome = json.loads(r["value"])["outcome"]
            mid = r["key"]
            for name in routing[outcome]:
                check(any(x["key"] == mid for x in produced_from[name].get(coord, [])),
                      f"{coord} committed without its {name} record for {mid!r}")
    check(checked > 0, f"nothing was committed before the kill: {at_kill}")
    print(f"offsets: killed after {int(consumed)} of {len(messages)} messages; {checked} committed inputs all have "
          f"every output ({sum(at_kill.values())} offsets committed over {len(at_kill)} partitions)")

    restarted = Stage(binary, topics, name="restarted")
    wait_consumed([restarted], len(messages) - sum(at_kill.values()))
    code, _ = restarted.stop()
    check(code == 0, f"exit {code}:\n{restarted.text()}")
    out = outputs_of(topics)
    duplicates = check_complete(out, msgs, coords, exact=False)
    print(f"offsets: after restart in={len(messages)} enriched={len(out['enriched'])} duplicates={duplicates} lost=0")


def scenario_dlq_unavailable(binary):
    """A failed produce never advances the offset: with the dead-letter topic missing, the
    partition holding a malformed message stays behind it and the stage keeps trying; once the
    topic exists everything is written and committed, nothing dropped."""
    msgs, messages = generated(seed=500, reports=3000, malformed=0.03)
    topics = Topics(["sms", "whatsapp", "email", "voice"], skip=("dead_letter",))
    coords = produce(topics.inputs, messages)
    stage = Stage(binary, topics, producer_props={"message.timeout.ms": "3000"})
    poisons = [(t, p, o) for m, (t, p, o, _) in zip(msgs, coords) if m["kind"] == "malformed"]
    check(poisons, "the generator made no malformed message")
    deadline = time.time() + 60
    while time.time() < deadline:
        m = stage.metrics()
        if m.get('dlr_produce_errors_total{destination="dead_letter"}', 0) > 0 and m.get("dlr_consumption_paused") == 1:
            break
        time.sleep(0.5)
    else:
        fail(f"no dead-letter produce errors or no pause seen:\n{stage.text()}")
    time.sleep(2)
    held = committed(topics.group, list(topics.inputs.values()))
    for t, p, o in poisons:
        check(held.get((t, p), 0) <= o, f"offset of {t}/{p} committed to {held.get((t, p))}, past the undelivered dead letter at {o}")
    check(stage.get("/healthz")[0] == 200, "the stage is unhealthy while waiting for the dead-letter topic")
    errors = int(stage.metrics()['dlr_produce_errors_total{destination="dead_letter"}'])
    topics.create("dead_letter")
    wait_consumed([stage], len(messages), timeout=120)
    code, _ = stage.stop()
    check(code == 0, f"exit {code}:\n{stage.text()}")
    out = outputs_of(topics)
    duplicates = check_complete(out, msgs, coords, exact=False)
    after = committed(topics.group, list(topics.inputs.values()))
    for t, p, o in poisons:
        check(after.get((t, p), 0) > o, f"{t}/{p} never committed past {o} after the topic came back")
    print(f"dlq_unavailable: {len(poisons)} malformed held their partitions back ({errors} failed dead-letter deliveries, "
          f"consumption paused); after the topic appeared: in={len(messages)} dlq={len(out['dead_letter'])} "
          f"duplicates={duplicates} lost=0")


def scenario_lag(binary):
    """dlr_consumer_lag is the group's lag as Kafka's ConsumerGroupCommand counts it, on every input
    partition, from the first sample after a restart and on an instance that holds no partition.
    The dead-letter topic is missing, so every partition with a malformed message stays held
    behind it: the group's lag stands still and can be compared."""
    msgs, messages = generated(seed=501, reports=4000, malformed=0.03)
    topics = Topics(["sms", "whatsapp", "email", "voice"], partitions=1, skip=("dead_letter",))
    produce(topics.inputs, messages)
    props = {"message.timeout.ms": "3000"}
    quick = "metrics:\n  address: 127.0.0.1:0\n  lag_interval_s: 1"

    def agree(stage, what):
        expected = {tp: lag for tp, lag in tool_lag(topics.group).items()}
        deadline = time.time() + 10
        while time.time() < deadline:
            got = served_lag(stage)
            if got == expected:
                return got
            time.sleep(0.5)
        fail(f"{what}: dlr_consumer_lag {got}, ConsumerGroupCommand {expected}")

    first = Stage(binary, topics, producer_props=props, extra=quick, name="first")
    first.wait_ready()
    settled(topics, first.text)
    held = agree(first, "held behind the malformed messages")
    check(sum(held.values()) > 0, f"nothing held back: {held}")
    code, _ = first.stop()
    # A clean stop and a restart: the first sample is the group's lag, not the whole topics.
    again = Stage(binary, topics, producer_props=props, extra=quick, name="again")
    deadline = time.time() + 10
    while not served_lag(again) and time.time() < deadline:
        time.sleep(0.1)
    first_sample = served_lag(again)
    check(first_sample == held, f"first sample after the restart {first_sample}, the group's lag {held} "
          f"({len(messages)} messages on the topics)")
    # Four more members: a rebalance, and five members for four partitions leave one without any;
    # each serves the whole group's lag.
    others = [Stage(binary, topics, producer_props=props, extra=quick, name=f"member{i}") for i in range(4)]
    time.sleep(3)
    idle = [s for s in [again, *others] if s.metrics().get("dlr_assigned_partitions") == 0]
    check(idle, "every member holds a partition: none shows the lag without one")
    for stage in [again, *others]:
        agree(stage, stage.log_path.stem)
    topics.create("dead_letter")
    for stage in [again, *others]:
        deadline = time.time() + 90
        while sum(served_lag(stage).values()) and time.time() < deadline:
            time.sleep(0.5)
        check(not sum(served_lag(stage).values()), f"{stage.log_path.stem} still shows lag {served_lag(stage)}")
    for stage in [again, *others]:
        stage.stop()
    print(f"lag: held {sum(held.values())} messages on {len(held)} partitions; every instance served "
          f"ConsumerGroupCommand's figures ({len(idle)} of them holding no partition), from the first sample after "
          f"the restart; 0 once released")


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    globals()[f"scenario_{scenario}"](binary)
    print(f"stage {scenario}: passed")
