#!/usr/bin/env python3
"""End-to-end benchmark on the real broker (started by bench/run.sh): the stage against a replay
relay (exactly the stage's own output records, written by a minimal producer with the same
settings: the physical limit), a pass-through relay and a kcat pipe, the same preloaded reports.

The stage and the replay relay run in interleaved rounds (A B A B ...), after a warm-up pass that
also captures the records to replay, each with the shipped producer compression (lz4) and without
it; the stage also on one report per message and in exactly-once mode. Each figure is the median
of the rounds, with its spread (half the range, as a share of the median). Throughput is measured the same way for the
stage and the relays: from the moment the process has its partitions (its /readyz, the relays'
"assigned") to the broker's append time of the last output record (output topics use
LogAppendTime; one host clock). Not from the first output's append time: a producer still
acquiring its idempotent producer id holds its first records back while the consumer reads on,
and the queue then drains in a burst that would inflate the rate (kcat, with no readiness signal,
is still measured from its first output). CPU and RSS come from /proc, the broker's CPU too (its pid file). Latency (input
record timestamp -> output append time; both topics use LogAppendTime, so the load generator's own
batching is left out) is measured with live traffic at the stage's median maximum rate and at half
of it.

  e2e.py --stage BIN --relay BIN --reports N --rounds R --out FILE.json [--broker-pid-file F]
"""
import collections
import statistics
import struct
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/integration"))
sys.path.insert(0, str(ROOT / "tests/support"))
import dlrgen  # noqa: E402
import stage as kafka  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402

CHANNELS = ["sms", "whatsapp", "email", "voice"]
LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}
TICK = os.sysconf("SC_CLK_TCK")
DESTINATIONS = ["enriched", "retry", "dead_letter", "analytics"]  # the replay relay's numbering
SHIPPED = {"compression.type": "lz4"}  # deploy/config/local.yaml's producer compression
UNCOMPRESSED = {"compression.type": "none"}
EXACTLY_ONCE = "processing:\n  guarantee: exactly_once"
BROKER_PID = None  # the broker's pid, when its pid file is given


def broker_cpu_seconds():
    return cpu_seconds(BROKER_PID) if BROKER_PID else 0.0


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_mb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def watermarks(topics):
    c = Consumer({"bootstrap.servers": kafka.BROKERS, "group.id": "bench-wm", "enable.auto.commit": False})
    out = {}
    for t in topics:
        for p in c.list_topics(t, timeout=10).topics[t].partitions:
            out[(t, p)] = c.get_watermark_offsets(TopicPartition(t, p), timeout=10, cached=False)
    c.close()
    return out


def records_written(topics):
    return sum(high - low for low, high in watermarks(topics).values())


def append_window(topics):
    """(first, last) broker append time over the topics' records, in ms: reads only the first and
    last record of each partition."""
    c = Consumer({"bootstrap.servers": kafka.BROKERS, "group.id": "bench-window", "enable.auto.commit": False})
    first, last = None, None
    for (t, p), (low, high) in watermarks(topics).items():
        if high <= low:
            continue
        # In exactly-once mode the last offsets are transaction markers, never delivered: read
        # the tail of the partition and keep what comes.
        for offset in {low, max(low, high - 200)}:
            c.assign([TopicPartition(t, p, offset)])
            if offset == low:
                batch = [m for m in c.consume(1, 5.0) if not m.error()]
            else:
                batch, more = [], c.consume(200, 0.3)
                while more:
                    batch += [m for m in more if not m.error()]
                    more = c.consume(200, 0.1)
            for m in batch:
                ts = m.timestamp()[1]
                first = ts if first is None else min(first, ts)
                last = ts if last is None else max(last, ts)
    c.close()
    return first, last


def wait_for(topics, expected, proc, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if records_written(topics) >= expected:
            return
        if proc.poll() is not None:
            sys.exit(f"e2e: a process exited early ({proc.returncode})")
        time.sleep(0.25)
    sys.exit(f"e2e: {records_written(topics)} of {expected} records after {timeout}s")


def run_stage(binary, msgs, reports, extra="", producer_props=None, **stage_options):
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    coords = kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    started = time.time()
    st = kafka.Stage(binary, topics, extra=extra, producer_props=producer_props, **stage_options)
    # CPU spent before any message is processed (start-up, catalogue) is left out.
    while st.get("/readyz")[0] != 200:
        time.sleep(0.01)
    ready_ms = time.time() * 1000
    cpu0, broker0 = cpu_seconds(st.proc.pid), broker_cpu_seconds()
    m = kafka.wait_consumed([st], len(msgs), timeout=600)[0]
    cpu, broker = cpu_seconds(st.proc.pid) - cpu0, broker_cpu_seconds() - broker0
    outputs = int(sum(v for k, v in m.items() if k.startswith("dlr_records_produced_total{")))
    # Every report has an enriched and an analytics record: the first and the last output are there.
    first, last = append_window([topics.outputs["enriched"], topics.outputs["analytics"]])
    seconds = (last - ready_ms) / 1000
    result = {"seconds": seconds, "first_output_after_ms": first - ready_ms, "records": outputs, "cpu_s": cpu,
              "broker_cpu_s": broker, "reports_per_s": reports / seconds, "cpu_us_per_report": cpu / reports * 1e6,
              "broker_cpu_us_per_report": broker / reports * 1e6,
              "peak_rss_mb": memory_mb(st.proc.pid, "VmHWM"), "rss_mb": memory_mb(st.proc.pid, "VmRSS"),
              "wall_s": time.time() - started}
    return st, topics, result, coords


def capture(topics, coords):
    """The stage's output records, per input message (its index in `coords`): (destination,
    key, value, headers), found by the source each record names (header or JSON)."""
    index = {(t, p, o): i for i, (t, p, o, _) in enumerate(coords)}
    out = collections.defaultdict(list)
    for d, name in enumerate(DESTINATIONS):
        for r in kafka.read_all(topics.outputs[name]):
            out[index[kafka.source_of(r)]].append((d, r["key"] or b"", r["value"] or b"", list(r["headers"].items())))
    return out


def write_capture(path, captured, coords, inputs):
    """The capture file bench/relay.cpp reads, keyed by this run's input coordinates."""
    order = list(inputs.values())
    with open(path, "wb") as f:
        for i, records in captured.items():
            topic, partition, offset, _ = coords[i]
            for d, key, value, headers in records:
                f.write(struct.pack("<BiqBI", order.index(topic), partition, offset, d, len(key)) + key)
                f.write(struct.pack("<I", len(value)) + value + struct.pack("<B", len(headers)))
                for name, text in headers:
                    name, text = name.encode(), text if isinstance(text, bytes) else text.encode()
                    f.write(struct.pack("<H", len(name)) + name + struct.pack("<I", len(text)) + text)


def run_replay_relay(binary, msgs, captured, expected, reports, producer_props):
    """The stage's captured records written by a minimal producer while it consumes the same input."""
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    coords = kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    path = Path(tempfile.mkdtemp(prefix="dlr-replay-")) / "capture.bin"
    write_capture(path, captured, coords, topics.inputs)
    relay = kafka.Stage(binary, topics, name="replay-relay", producer_props=producer_props,
                        command=lambda config: [binary, "--config", config, "--replay", str(path)])
    while "assigned" not in relay.text():
        if relay.proc.poll() is not None:
            sys.exit(f"e2e: the replay relay exited ({relay.proc.returncode}): {relay.text()}")
        time.sleep(0.01)
    ready_ms = time.time() * 1000
    cpu0, broker0 = cpu_seconds(relay.proc.pid), broker_cpu_seconds()
    wait_for([topics.outputs[d] for d in DESTINATIONS], expected, relay.proc)
    cpu, broker = cpu_seconds(relay.proc.pid) - cpu0, broker_cpu_seconds() - broker0
    relay.stop()
    path.unlink()
    first, last = append_window([topics.outputs["enriched"], topics.outputs["analytics"]])
    seconds = (last - ready_ms) / 1000
    return {"seconds": seconds, "first_output_after_ms": first - ready_ms, "records": expected,
            "reports_per_s": reports / seconds,
            "cpu_us_per_report": cpu / reports * 1e6, "broker_cpu_us_per_report": broker / reports * 1e6}


def summary(values):
    """Median and spread (half the range, as a share of the median) of one figure over the rounds."""
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values),
            "spread_pct": 100 * (max(values) - min(values)) / 2 / median if median else 0.0, "rounds": values}


def rounds(a, msgs, single):
    """Interleaved rounds of the stage and the replay relay (compressed, then not), and the stage on
    one report per message, after a warm-up pass of each that also captures the stage's records."""
    st, topics, warm, coords = run_stage(a.stage, msgs, a.reports, producer_props=SHIPPED)
    captured = capture(topics, coords)
    st.stop()
    run_replay_relay(a.relay, msgs, captured, warm["records"], a.reports, SHIPPED)
    run_stage(a.stage, single, a.reports, producer_props=SHIPPED)[0].stop()
    runs = collections.defaultdict(list)
    for _ in range(a.rounds):
        for name, props in (("lz4", SHIPPED), ("none", UNCOMPRESSED)):
            st, _, stage, _ = run_stage(a.stage, msgs, a.reports, producer_props=props)
            st.stop()
            runs[f"stage_{name}"].append(stage)
            runs[f"replay_{name}"].append(run_replay_relay(a.relay, msgs, captured, stage["records"], a.reports, props))
        st, _, one, _ = run_stage(a.stage, single, a.reports, producer_props=SHIPPED)
        st.stop()
        runs["stage_single"].append(one)
        st, _, eos, _ = run_stage(a.stage, msgs, a.reports, extra=EXACTLY_ONCE, producer_props=SHIPPED)
        st.stop()
        runs["stage_eos"].append(eos)
    return warm, runs


def run_relay(binary, msgs, fanout, expected):
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    relay = kafka.Stage(binary, topics, name="relay", producer_props=SHIPPED,
                        command=lambda config: [binary, "--config", config, "--fanout", str(fanout)])
    while "assigned" not in relay.text():
        time.sleep(0.01)
    ready_ms = time.time() * 1000
    cpu0 = cpu_seconds(relay.proc.pid)
    wait_for([topics.outputs["enriched"], topics.outputs["analytics"]], expected, relay.proc)
    cpu = cpu_seconds(relay.proc.pid) - cpu0
    rss = memory_mb(relay.proc.pid, "VmHWM")
    relay.stop()
    first, last = append_window([topics.outputs["enriched"], topics.outputs["analytics"]])
    return {"seconds": (last - ready_ms) / 1000, "first_output_after_ms": first - ready_ms, "records": expected,
            "cpu_s": cpu, "peak_rss_mb": rss}


def run_kcat(msgs):
    """kcat consuming the inputs piped into kcat producing: one record per input, no offsets kept."""
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    values = [m for m in msgs if m["value"] and b"\n" not in m["value"]]
    kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in values])
    out = topics.outputs["enriched"]
    consume = subprocess.Popen(["kcat", "-b", kafka.BROKERS, "-G", topics.group, "-o", "beginning", "-e", "-q", "-f", "%s\n",
                                *topics.inputs.values()], stdout=subprocess.PIPE)
    produce = subprocess.Popen(["kcat", "-b", kafka.BROKERS, "-P", "-t", out, "-X", "linger.ms=5"], stdin=consume.stdout)
    consume.stdout.close()
    wait_for([out], len(values), produce)
    consume.send_signal(signal.SIGTERM)
    produce.wait(60)
    first, last = append_window([out])
    return {"seconds": (last - first) / 1000, "records": len(values)}


def latency(binary, rate_reports, seconds, seed):
    """Live traffic at `rate_reports` reports/s; percentiles of output append time - input timestamp."""
    msgs = list(dlrgen.generate(seed, int(rate_reports * seconds), 0.005))
    reports_per_msg = sum(m["reports"] for m in msgs) / len(msgs)
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND, input_config=LOG_APPEND)
    st = kafka.Stage(binary, topics, producer_props=SHIPPED)
    st.wait_ready()
    kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs],
                           rate=rate_reports / reports_per_msg, linger_ms=1)
    # What the broker holds is the reference: the stage must consume every record on the topics.
    on_topics = records_written(list(topics.inputs.values()))
    if on_topics != len(msgs):
        print(f"e2e: the load producer reported {len(msgs)} deliveries, the input topics hold {on_topics}", file=sys.stderr)
    kafka.wait_consumed([st], on_topics, timeout=300)
    rss = memory_mb(st.proc.pid, "VmRSS")
    st.stop()
    sent = {(r["topic"], r["partition"], r["offset"]): r["timestamp"] for t in topics.inputs.values() for r in kafka.read_all(t)}
    # Steady state: inputs of the first 2 s (the group settling, the first fetches) are left out,
    # or of the first half of a shorter run.
    start = min(sent.values()) + min(2000, (max(sent.values()) - min(sent.values())) // 2)
    sent_of = ((r["timestamp"], sent[kafka.source_of(r)]) for r in kafka.read_all(topics.outputs["enriched"]))
    lat = sorted(appended - produced for appended, produced in sent_of if produced >= start)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return {"rate_reports_per_s": rate_reports, "records": len(lat), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "p999_ms": pick(0.999), "max_ms": lat[-1], "rss_mb": rss}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the stage and the replay relay")
    ap.add_argument("--broker-pid-file", help="the broker's pid file, for its CPU per report")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    global BROKER_PID
    if a.broker_pid_file:
        BROKER_PID = int(Path(a.broker_pid_file).read_text())
    msgs = list(dlrgen.generate(42, a.reports, 0.005))
    single = list(dlrgen.generate(45, a.reports, 0.005, single=True))
    in_bytes = sum(len(m["value"]) for m in msgs)
    warm, runs = rounds(a, msgs, single)
    med = {k: {f: summary([r[f] for r in v]) for f in ("reports_per_s", "cpu_us_per_report", "broker_cpu_us_per_report")}
           for k, v in runs.items()}
    ratio = {name: summary([s["reports_per_s"] / r["reports_per_s"] for s, r in zip(runs[f"stage_{name}"], runs[f"replay_{name}"])])
             for name in ("lz4", "none")}
    stage = runs["stage_lz4"][len(runs["stage_lz4"]) // 2]
    fanout = warm["records"] / len(msgs)
    eos = summary([e["reports_per_s"] / s["reports_per_s"] for e, s in zip(runs["stage_eos"], runs["stage_lz4"])])
    relay = run_relay(a.relay, msgs, fanout, warm["records"])
    kcat = run_kcat(msgs)
    stage_rate = med["stage_lz4"]["reports_per_s"]["median"]
    relay_rate = a.reports / relay["seconds"]
    full = latency(a.stage, stage_rate, a.latency_seconds, 43)
    half = latency(a.stage, stage_rate / 2, a.latency_seconds, 44)
    peak_rss = max(r["peak_rss_mb"] for k in ("stage_lz4", "stage_none", "stage_single") for r in runs[k])
    result = {
        "reports": a.reports, "messages": len(msgs), "single_messages": len(single), "rounds": a.rounds,
        "input_mb": in_bytes / 1e6, "records_per_input": fanout,
        "e2e_reports_per_s": stage_rate, "e2e_mb_per_s": in_bytes / 1e6 * stage_rate / a.reports,
        "replay_relay_reports_per_s": med["replay_lz4"]["reports_per_s"]["median"],
        "ratio_vs_replay_relay": ratio["lz4"]["median"],
        "relay_reports_per_s": relay_rate, "ratio_vs_relay": stage_rate / relay_rate,
        "eos_reports_per_s": med["stage_eos"]["reports_per_s"]["median"], "eos_vs_at_least_once": eos["median"],
        "eos_cpu_us_per_report": med["stage_eos"]["cpu_us_per_report"]["median"],
        "kcat_reports_per_s": a.reports / kcat["seconds"], "ratio_vs_kcat": stage_rate / (a.reports / kcat["seconds"]),
        "cpu_us_per_report": med["stage_lz4"]["cpu_us_per_report"]["median"],
        "cpu_us_per_report_single": med["stage_single"]["cpu_us_per_report"]["median"],
        "replay_relay_cpu_us_per_report": med["replay_lz4"]["cpu_us_per_report"]["median"],
        "broker_cpu_us_per_report": med["stage_lz4"]["broker_cpu_us_per_report"]["median"],
        "relay_cpu_us_per_report": relay["cpu_s"] / a.reports * 1e6,
        "uncompressed": {"e2e_reports_per_s": med["stage_none"]["reports_per_s"]["median"],
                         "replay_relay_reports_per_s": med["replay_none"]["reports_per_s"]["median"],
                         "ratio_vs_replay_relay": ratio["none"]["median"],
                         "cpu_us_per_report": med["stage_none"]["cpu_us_per_report"]["median"],
                         "broker_cpu_us_per_report": med["stage_none"]["broker_cpu_us_per_report"]["median"]},
        "spread": {"e2e_reports_per_s_pct": med["stage_lz4"]["reports_per_s"]["spread_pct"],
                   "replay_relay_reports_per_s_pct": med["replay_lz4"]["reports_per_s"]["spread_pct"],
                   "ratio_vs_replay_relay_pct": ratio["lz4"]["spread_pct"],
                   "cpu_us_per_report_pct": med["stage_lz4"]["cpu_us_per_report"]["spread_pct"],
                   "cpu_us_per_report_single_pct": med["stage_single"]["cpu_us_per_report"]["spread_pct"],
                   "eos_vs_at_least_once_pct": eos["spread_pct"]},
        "peak_rss_mb": peak_rss, "rss_peak_mb": peak_rss, "rss_mb": half["rss_mb"], "relay_peak_rss_mb": relay["peak_rss_mb"],
        "latency_full": full, "latency_half": half,
        "p50_ms": half["p50_ms"], "p99_ms": half["p99_ms"], "p999_ms": half["p999_ms"],
        "round_figures": {**{k: v for k, v in med.items()}, "ratio_vs_replay_relay": ratio, "eos_vs_at_least_once": eos},
        "stage_run": stage, "relay_run": relay, "kcat_run": kcat,
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}, indent=2))


if __name__ == "__main__":
    main()
