#!/usr/bin/env python3
"""End-to-end benchmark on the real broker (started by bench/run.sh): the stage against a
pass-through relay and a kcat pipe, the same preloaded reports, the same librdkafka settings.

Throughput is measured the same way for all three: from the broker's append time of the first
output record to that of the last (output topics use LogAppendTime). CPU and RSS come from /proc.
Latency (input record timestamp -> output append time; both topics use LogAppendTime, so the
load generator's own batching is left out) is measured with live traffic at the stage's measured
maximum rate and at half of it. A warm-up pass first, so the broker's JIT is warm for all.

  e2e.py --stage BIN --relay BIN --reports N --out FILE.json
"""
import argparse
import json
import os
import signal
import subprocess
import sys
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


def run_stage(binary, msgs, reports, extra=""):
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    started = time.time()
    st = kafka.Stage(binary, topics, extra=extra)
    # CPU spent before any message is processed (start-up, catalogue) is left out.
    while st.get("/readyz")[0] != 200:
        time.sleep(0.01)
    cpu0 = cpu_seconds(st.proc.pid)
    m = kafka.wait_consumed([st], len(msgs), timeout=600)[0]
    cpu = cpu_seconds(st.proc.pid) - cpu0
    outputs = int(sum(v for k, v in m.items() if k.startswith("dlr_records_produced_total{")))
    # Every report has an enriched and an analytics record: the first and the last output are there.
    first, last = append_window([topics.outputs["enriched"], topics.outputs["analytics"]])
    result = {"seconds": (last - first) / 1000, "records": outputs, "cpu_s": cpu,
              "peak_rss_mb": memory_mb(st.proc.pid, "VmHWM"), "rss_mb": memory_mb(st.proc.pid, "VmRSS"),
              "wall_s": time.time() - started}
    return st, topics, result


def run_relay(binary, msgs, fanout, expected):
    topics = kafka.Topics(CHANNELS, output_config=LOG_APPEND)
    kafka.produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    relay = kafka.Stage(binary, topics, name="relay", command=lambda config: [binary, "--config", config, "--fanout", str(fanout)])
    while "assigned" not in relay.text():
        time.sleep(0.01)
    cpu0 = cpu_seconds(relay.proc.pid)
    wait_for([topics.outputs["enriched"], topics.outputs["analytics"]], expected, relay.proc)
    cpu = cpu_seconds(relay.proc.pid) - cpu0
    rss = memory_mb(relay.proc.pid, "VmHWM")
    relay.stop()
    first, last = append_window([topics.outputs["enriched"], topics.outputs["analytics"]])
    return {"seconds": (last - first) / 1000, "records": expected, "cpu_s": cpu, "peak_rss_mb": rss}


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
    st = kafka.Stage(binary, topics)
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
    # Steady state: inputs of the first 2 s (the group settling, the first fetches) are left out.
    start = min(sent.values()) + 2000
    lat = sorted(r["timestamp"] - sent[kafka.source_of(r)] for r in kafka.read_all(topics.outputs["enriched"])
                 if sent[kafka.source_of(r)] >= start)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return {"rate_reports_per_s": rate_reports, "records": len(lat), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "p999_ms": pick(0.999), "max_ms": lat[-1], "rss_mb": rss}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", required=True)
    ap.add_argument("--relay", required=True)
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    warm = list(dlrgen.generate(41, min(a.reports // 2, 50_000), 0.005))
    run_stage(a.stage, warm, len(warm))[0].stop()
    msgs = list(dlrgen.generate(42, a.reports, 0.005))
    in_bytes = sum(len(m["value"]) for m in msgs)
    st, _, stage = run_stage(a.stage, msgs, a.reports)
    st.stop()
    fanout = stage["records"] / len(msgs)
    eos_st, _, eos = run_stage(a.stage, msgs, a.reports, extra="processing:\n  guarantee: exactly_once")
    eos_st.stop()
    relay = run_relay(a.relay, msgs, fanout, stage["records"])
    kcat = run_kcat(msgs)
    stage_rate = a.reports / stage["seconds"]
    relay_rate = a.reports / relay["seconds"]
    full = latency(a.stage, stage_rate, a.latency_seconds, 43)
    half = latency(a.stage, stage_rate / 2, a.latency_seconds, 44)
    result = {
        "reports": a.reports, "messages": len(msgs), "input_mb": in_bytes / 1e6, "records_per_input": fanout,
        "e2e_reports_per_s": stage_rate, "e2e_mb_per_s": in_bytes / 1e6 / stage["seconds"],
        "relay_reports_per_s": relay_rate, "ratio_vs_relay": stage_rate / relay_rate,
        "eos_reports_per_s": a.reports / eos["seconds"], "eos_vs_at_least_once": stage["seconds"] / eos["seconds"],
        "eos_cpu_us_per_report": eos["cpu_s"] / a.reports * 1e6,
        "kcat_reports_per_s": a.reports / kcat["seconds"], "ratio_vs_kcat": stage_rate / (a.reports / kcat["seconds"]),
        "cpu_us_per_report": stage["cpu_s"] / a.reports * 1e6, "relay_cpu_us_per_report": relay["cpu_s"] / a.reports * 1e6,
        "peak_rss_mb": stage["peak_rss_mb"], "rss_mb": half["rss_mb"], "relay_peak_rss_mb": relay["peak_rss_mb"],
        "latency_full": full, "latency_half": half,
        "p50_ms": half["p50_ms"], "p99_ms": half["p99_ms"], "p999_ms": half["p999_ms"],
        "stage_run": stage, "relay_run": relay, "kcat_run": kcat,
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}, indent=2))


if __name__ == "__main__":
    main()
