#!/usr/bin/env python3
"""The tracker on the real broker (started by bench/run.sh, the same one the stage is measured on):
analytics records preloaded on its input topic (generated message histories with duplicates,
late intermediates and conflicting finals, one message's reports spread over thousands of others),
then

  - throughput and CPU: from the first to the last state record's broker append time, and the
    tracker's CPU from ready to done (/proc);
  - restore: its state folder deleted and a new tracker started, which brings every store back
    from the changelog before it is ready (changelog records applied per second, from the
    tracker's own restore metrics);
  - memory: peak RSS against tracking.block_cache_mb.

  tracker.py --binary BIN --reports N --out FILE.json
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests/integration"))
sys.path.insert(0, str(ROOT / "tests/faults"))
import e2e  # noqa: E402
import stage as kafka  # noqa: E402
import tracker_test as tt  # noqa: E402
from tracker_faults_test import analytics_record  # noqa: E402

BLOCK_CACHE_MB = 64
# A message's next report arrives this many messages later, as on a platform where a handset
# report follows the submission by seconds: reads go to the store, not to the last few changes.
SPREAD_MESSAGES = 5000


def start(binary, topics, block, name):
    tracker = kafka.Stage(binary, topics, extra=block, subcommand="track", name=name)
    while tracker.get("/readyz")[0] != 200:
        if tracker.proc.poll() is not None:
            sys.exit(f"tracker bench: the tracker exited:\n{tracker.text()}")
        time.sleep(0.01)
    return tracker


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--reports", type=int, default=300_000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    outcome_of = tt.outcomes(a.binary)
    sent = tt.histories(31, a.reports * 4 // 19)  # about 4.75 reports per message
    order = sorted((n + step * SPREAD_MESSAGES, n, step) for n, steps in enumerate(sent.values())
                   for step in range(len(steps)))
    ids, histories = list(sent), list(sent.values())
    records = []
    for _, n, step in order:
        kind, t = histories[n][step]
        records.append((None, ids[n].encode(), analytics_record(ids[n], kind, t, outcome_of).encode(), None))
    topics = kafka.Topics(["sms"], output_config=e2e.LOG_APPEND)
    state_dir = Path(tempfile.mkdtemp(prefix="dlr-bench-tracker-"))
    tracking = tt.Tracking(topics, state_dir)
    block = tracking.block + f"  block_cache_mb: {BLOCK_CACHE_MB}\n"
    kafka.produce({None: topics.outputs["analytics"]}, records)

    tracker = start(a.binary, topics, block, "tracker")
    cpu0 = e2e.cpu_seconds(tracker.proc.pid)
    m = tt.wait_tracked(tracker, len(records), timeout=900)
    cpu = e2e.cpu_seconds(tracker.proc.pid) - cpu0
    peak_rss = e2e.memory_mb(tracker.proc.pid, "VmHWM")
    store_memory = m.get("dlr_tracker_store_memory_bytes", 0) / 2**20
    tracker.stop()
    first, last = e2e.append_window([tracking.output])
    seconds = (last - first) / 1000
    changelog_records = e2e.records_written([tracking.changelog])

    shutil.rmtree(state_dir)
    restored = start(a.binary, topics, block, "restored")
    rm = restored.metrics()
    restored.stop()
    restore_records = rm.get("dlr_tracker_restored_records", 0)
    restore_seconds = rm.get("dlr_tracker_restore_seconds", 0)
    result = {
        "reports": len(records), "messages": len(sent), "changelog_records": changelog_records,
        "reports_per_s": len(records) / seconds, "cpu_us_per_report": cpu / len(records) * 1e6,
        "restore_records": restore_records, "restore_seconds": restore_seconds,
        "restore_states_per_s": restore_records / restore_seconds if restore_seconds else 0,
        "peak_rss_mb": peak_rss, "store_memory_mb": store_memory, "block_cache_mb": BLOCK_CACHE_MB,
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
