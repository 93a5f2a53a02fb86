#!/usr/bin/env python3
"""Folds the micro and end-to-end results into bench/results/latest.json, a markdown table with
the targets, and a PNG chart."""
import argparse
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

TARGETS = [  # (field, comparison, limit, what)
    ("core_us_per_report", "<=", 0.8, "core pipeline µs per report (batch mix)"),
    ("ratio_vs_replay_relay", ">=", 0.9, "end to end / replay relay (median of rounds)"),
    ("cpu_us_per_report", "<=", 4.0, "stage CPU µs per report, batch mix (median)"),
    ("cpu_us_per_report_single", "<=", 8.0, "stage CPU µs per report, one report per message (median)"),
    ("p99_ms", "<=", 20, "p99 latency at half the maximum rate, ms"),
    ("rss_peak_mb", "<=", 100, "peak RSS, MB"),
    ("eos_vs_at_least_once", ">=", 0.8, "exactly-once / at-least-once throughput"),
    ("tracker_cpu_us_per_report", "<=", 5.0, "tracker CPU µs per report"),
    ("tracker_restore_states_per_s", ">=", 200_000, "tracker restore, changelog records/s"),
    ("tracker_store_memory_vs_cache", "<=", 1.0, "tracker RocksDB memory / block_cache_mb"),
]


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def per_report_ns(micro, name):
    b = next(b for b in micro["benchmarks"] if b["name"] == name)
    return 1e9 / b["items_per_second"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--micro", required=True)
    ap.add_argument("--e2e", required=True)
    ap.add_argument("--tracker", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    micro = json.loads(Path(a.micro).read_text())
    e2e = json.loads(Path(a.e2e).read_text())
    tracker = json.loads(Path(a.tracker).read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    r = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "mode": a.mode,
        "command": "bench/run.sh" + (" --quick" if a.mode == "quick" else ""),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release()},
        "settings": {"reports": e2e["reports"], "messages": e2e["messages"], "input_mb": round(e2e["input_mb"], 1),
                     "records_per_input": round(e2e["records_per_input"], 2), "partitions_per_topic": 4,
                     "rounds": e2e["rounds"],
                     "librdkafka": "the stage's defaults (linger.ms 5, idempotent, cooperative-sticky) with lz4 as "
                                   "shipped (and a round without compression); the relays use the same",
                     "routing": "deploy/config/local.yaml's"},
        "core_ns_per_report": per_report_ns(micro, "BM_Pipeline"),
        "parse_classify_ns_per_report": per_report_ns(micro, "BM_ParseClassify"),
        "walk_ns_per_report": per_report_ns(micro, "BM_SimdjsonWalk"),
        "lookup_ns_per_code": per_report_ns(micro, "BM_Lookup"),
    }
    r["serialize_ns_per_report"] = r["core_ns_per_report"] - r["parse_classify_ns_per_report"]
    r["core_us_per_report"] = r["core_ns_per_report"] / 1000
    r["core_vs_walk"] = r["core_ns_per_report"] / r["walk_ns_per_report"]
    for k in ("e2e_reports_per_s", "e2e_mb_per_s", "relay_reports_per_s", "ratio_vs_relay", "kcat_reports_per_s",
              "eos_reports_per_s", "eos_vs_at_least_once", "eos_cpu_us_per_report",
              "ratio_vs_kcat", "cpu_us_per_report", "relay_cpu_us_per_report", "p50_ms", "p99_ms", "p999_ms", "rss_mb",
              "peak_rss_mb", "rss_peak_mb", "replay_relay_reports_per_s", "ratio_vs_replay_relay",
              "replay_relay_cpu_us_per_report", "cpu_us_per_report_single", "broker_cpu_us_per_report",
              "uncompressed", "spread", "round_figures"):
        r[k] = e2e[k]
    r["tracker"] = tracker
    r["tracker_cpu_us_per_report"] = tracker["cpu_us_per_report"]
    r["tracker_restore_states_per_s"] = tracker["restore_states_per_s"]
    r["tracker_store_memory_vs_cache"] = tracker["store_memory_mb"] / tracker["block_cache_mb"]
    r["latency_full"] = e2e["latency_full"]
    r["latency_half"] = e2e["latency_half"]
    r["targets"] = {}
    for field, op, limit, what in TARGETS:
        value = r[field]
        ok = value <= limit if op == "<=" else value >= limit
        r["targets"][field] = {"value": round(value, 3), "target": f"{op} {limit}", "met": ok, "what": what}
    out = Path(a.out)
    out.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n")

    lines = [f"# Benchmark results ({r['mode']}, {r['date']}, commit {commit})", "",
             f"Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores. Command: `{r['command']}`. "
             f"{e2e['reports']} reports in {e2e['messages']} messages ({r['settings']['input_mb']} MB), "
             f"{r['settings']['records_per_input']} output records per input message.", "",
             "| figure | value |", "|---|---|",
             f"| core pipeline, ns/report | {r['core_ns_per_report']:.0f} |",
             f"| of which parse + look up + classify | {r['parse_classify_ns_per_report']:.0f} |",
             f"| of which serialize | {r['serialize_ns_per_report']:.0f} |",
             f"| bare simdjson walk, ns/report | {r['walk_ns_per_report']:.0f} |",
             f"| catalogue lookup, ns/code | {r['lookup_ns_per_code']:.1f} |",
             f"| end to end, reports/s (median of {e2e['rounds']} rounds ± half their range) | {r['e2e_reports_per_s']:.0f} "
             f"± {r['spread']['e2e_reports_per_s_pct']:.0f} % ({r['e2e_mb_per_s']:.1f} MB/s in) |",
             f"| replay relay (the stage's own records, same settings), reports/s | {r['replay_relay_reports_per_s']:.0f} "
             f"± {r['spread']['replay_relay_reports_per_s_pct']:.0f} % |",
             f"| end to end / replay relay, same round (median) | {r['ratio_vs_replay_relay']:.2f} "
             f"± {r['spread']['ratio_vs_replay_relay_pct']:.0f} % |",
             f"| without compression: end to end, replay relay, ratio, CPU µs/report | "
             f"{r['uncompressed']['e2e_reports_per_s']:.0f}, {r['uncompressed']['replay_relay_reports_per_s']:.0f}, "
             f"{r['uncompressed']['ratio_vs_replay_relay']:.2f}, {r['uncompressed']['cpu_us_per_report']:.2f} |",
             f"| pass-through relay, reports/s | {r['relay_reports_per_s']:.0f} |",
             f"| kcat pipe (1 record per input), reports/s | {r['kcat_reports_per_s']:.0f} |",
             f"| exactly-once mode, reports/s (× at-least-once; CPU µs/report) | {r['eos_reports_per_s']:.0f} "
             f"({r['eos_vs_at_least_once']:.2f}×; {r['eos_cpu_us_per_report']:.2f}) |",
             f"| stage CPU, µs/report (replay relay; pass-through relay) | {r['cpu_us_per_report']:.2f} "
             f"± {r['spread']['cpu_us_per_report_pct']:.0f} % ({r['replay_relay_cpu_us_per_report']:.2f}; "
             f"{r['relay_cpu_us_per_report']:.2f}) |",
             f"| stage CPU, one report per message, µs/report | {r['cpu_us_per_report_single']:.2f} "
             f"± {r['spread']['cpu_us_per_report_single_pct']:.0f} % |",
             f"| broker CPU while the stage runs, µs/report | {r['broker_cpu_us_per_report']:.2f} |",
             f"| latency at full rate p50/p99/p99.9, ms | {e2e['latency_full']['p50_ms']}/{e2e['latency_full']['p99_ms']}/{e2e['latency_full']['p999_ms']} |",
             f"| latency at half rate p50/p99/p99.9, ms | {r['p50_ms']}/{r['p99_ms']}/{r['p999_ms']} |",
             f"| RSS steady / peak, MB | {r['rss_mb']:.0f} / {r['peak_rss_mb']:.0f} |",
             f"| tracker, reports/s ({tracker['reports']} reports, {tracker['messages']} messages) | "
             f"{tracker['reports_per_s']:.0f} |",
             f"| tracker CPU, µs/report | {tracker['cpu_us_per_report']:.2f} |",
             f"| tracker restore, changelog records/s ({tracker['restore_records']:.0f} in "
             f"{tracker['restore_seconds']:.2f} s) | {tracker['restore_states_per_s']:.0f} |",
             f"| tracker RocksDB memory / block cache, MB; peak RSS, MB | {tracker['store_memory_mb']:.1f} / "
             f"{tracker['block_cache_mb']}; {tracker['peak_rss_mb']:.0f} |",
             "", "| target | value | met |", "|---|---|---|"]
    for field, t in r["targets"].items():
        lines.append(f"| {t['what']} {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = ["dlr-enricher", "replay relay", "pass-through", "kcat pipe"]
    rates = [r["e2e_reports_per_s"] / 1000, r["replay_relay_reports_per_s"] / 1000, r["relay_reports_per_s"] / 1000,
             r["kcat_reports_per_s"] / 1000]
    left.bar(names, rates, color=["#1f77b4", "#6baed6", "#999999", "#cccccc"])
    left.set_ylabel("thousand reports/s")
    left.set_title("End to end on one local broker")
    stages = ["simdjson walk", "parse+classify", "whole pipeline"]
    ns = [r["walk_ns_per_report"], r["parse_classify_ns_per_report"], r["core_ns_per_report"]]
    right.bar(stages, ns, color=["#cccccc", "#6baed6", "#1f77b4"])
    right.set_ylabel("ns per report")
    right.set_title("Core, per report (one thread)")
    fig.suptitle(f"{r['machine']['cpu']}, {r['machine']['cores']} cores, {r['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=100)


if __name__ == "__main__":
    main()
