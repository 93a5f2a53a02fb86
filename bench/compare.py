#!/usr/bin/env python3
"""Two variants of the stage on one broker, in interleaved rounds (A B A B ...): what a change to
the stage or its settings buys, measured as same-round ratios so that the machine's drift cancels.

A variant is a binary, optionally with outputs.source_headers on, librdkafka properties of its
consumer or producer (over the shipped ones) and extra config lines. Each round runs A then B on
the same preloaded reports (webhook batches, or one report per message with --single), after a
warm-up pass of each; figures are e2e.py's (throughput from readiness to the last
append, CPU from /proc, the broker's from its pid file). Prints and writes the medians, their
spread and the B/A ratios per round.

  compare.py --a BIN [--a-source-headers] [--a-consumer K=V ...] [--a-producer K=V ...] [--a-extra YAML]
             --b BIN [the same for b] [--reports N] [--rounds R] [--single] [--broker-pid-file F] --out FILE.json
"""
import argparse
import json
from pathlib import Path

import e2e
from e2e import dlrgen

FIELDS = ("reports_per_s", "cpu_us_per_report", "broker_cpu_us_per_report", "peak_rss_mb")


def properties(pairs):
    return dict(pair.split("=", 1) for pair in pairs or [])


def variant(a, name):
    return {"binary": getattr(a, name), "extra": getattr(a, f"{name}_extra") or "",
            "source_headers": getattr(a, f"{name}_source_headers"),
            "consumer": properties(getattr(a, f"{name}_consumer")),
            "producer": {**e2e.SHIPPED, **properties(getattr(a, f"{name}_producer"))}}


def run(v, msgs, reports):
    st, _, result, _ = e2e.run_stage(v["binary"], msgs, reports, extra=v["extra"], producer_props=v["producer"],
                                     consumer_props=v["consumer"], source_headers=v["source_headers"])
    st.stop()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("a", "b"):
        ap.add_argument(f"--{name}", required=True, help=f"variant {name.upper()}'s binary")
        ap.add_argument(f"--{name}-source-headers", action="store_true", help="outputs.source_headers: true")
        ap.add_argument(f"--{name}-consumer", action="append", metavar="K=V", help="a consumer property")
        ap.add_argument(f"--{name}-producer", action="append", metavar="K=V", help="a producer property")
        ap.add_argument(f"--{name}-extra", help="config lines appended to the variant's config")
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--single", action="store_true", help="one report per message instead of webhook batches")
    ap.add_argument("--broker-pid-file", help="the broker's pid file, for its CPU per report")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.broker_pid_file:
        e2e.BROKER_PID = int(Path(a.broker_pid_file).read_text())
    msgs = list(dlrgen.generate(42, a.reports, 0.005, single=a.single))
    variants = {"a": variant(a, "a"), "b": variant(a, "b")}
    for v in variants.values():  # warm-up: the broker's JIT, the page cache
        run(v, msgs, a.reports)
    runs = {"a": [], "b": []}
    for _ in range(a.rounds):
        for name, v in variants.items():
            runs[name].append(run(v, msgs, a.reports))
    result = {"reports": a.reports, "messages": len(msgs), "rounds": a.rounds, "single": a.single,
              "variants": variants,
              **{name: {f: e2e.summary([r[f] for r in runs[name]]) for f in FIELDS} for name in runs},
              "b_vs_a": {f: e2e.summary([b[f] / x[f] for x, b in zip(runs["a"], runs["b"])]) for f in FIELDS},
              "runs": runs}
    Path(a.out).write_text(json.dumps(result, indent=2))
    for f in FIELDS:
        print(f"{f}: A {result['a'][f]['median']:.1f} (±{result['a'][f]['spread_pct']:.0f} %), "
              f"B {result['b'][f]['median']:.1f} (±{result['b'][f]['spread_pct']:.0f} %), "
              f"B/A {result['b_vs_a'][f]['median']:.3f} (rounds {', '.join(f'{x:.3f}' for x in result['b_vs_a'][f]['rounds'])})")


if __name__ == "__main__":
    main()
