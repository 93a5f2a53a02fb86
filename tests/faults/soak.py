#!/usr/bin/env python3
"""A long soak on the three-broker cluster: the stage at half the rate it sustains there, a second
member joining or leaving every few minutes (a rebalance each time), one broker restarted every ten
minutes in turn; the stage's RSS and open file descriptors sampled every 30 s. Fails when RSS grows
after the warm-up beyond noise, when descriptors leak, or when anything is lost or left uncommitted.

  soak.py BINARY [--minutes 30] [--out bench/results]

Writes OUT/soak.csv (elapsed_s, rss_mb, fds, reports_total, event) and OUT/soak.png.
"""
import argparse
import csv
import os
import statistics
import threading
import time
from pathlib import Path

import cluster_faults_test as cf
import dlrgen
import faults_test as faults
import stage as kafka

SAMPLE_S = 30
REBALANCE_S = 180
BROKER_RESTART_S = 600
WARM_UP_S = 300  # or a quarter of a shorter run
RSS_NOISE_MB = 8  # allocator and librdkafka buffer churn seen between samples of a steady stage


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class LoopFeeder(threading.Thread):
    """The pool of input messages sent again and again at `rate` messages per second until stopped."""

    def __init__(self, topics, pool, rate):
        super().__init__(daemon=True)
        self.topics, self.pool, self.rate = topics, pool, rate
        self.sent = 0
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": kafka.BROKERS, "linger.ms": 20, "enable.idempotence": True,
                             "partitioner": "murmur2_random"})
        failures = []
        started = time.time()
        while not self.stopping.is_set():
            for channel, key, value in self.pool:
                if self.stopping.is_set():
                    break
                if self.sent % 10 == 0:
                    time.sleep(max(0.0, started + self.sent / self.rate - time.time()))
                while True:
                    try:
                        producer.produce(self.topics.inputs[channel], value=value, key=key,
                                         on_delivery=lambda err, _m: err and failures.append(err))
                        break
                    except BufferError:
                        producer.poll(0.1)
                producer.poll(0)
                self.sent += 1
        producer.flush(330)
        if failures or len(producer):
            self.error = f"{len(failures)} inputs not written, e.g. {failures[:2]}"


def max_rate(binary, topics, pool, reports_per_message):
    """Reports per second one stage sustains on this cluster: a backlog of the pool three times over
    (long enough for the brokers to warm up), timed from the first report to the last."""
    kafka.produce(topics.inputs, [(ch, k, v, None) for ch, k, v in pool] * 3)
    st = kafka.Stage(binary, topics, consumer_props=faults.FAST_COMMIT, name="soak-max")
    total = 3 * len(pool) * reports_per_message
    first = None
    deadline = time.time() + 600
    while time.time() < deadline:
        done = st.metrics().get("dlr_reports_total", 0)
        if done and first is None:
            first = (time.time(), done)
        if done >= total * 0.98:
            break
        time.sleep(0.2)
    if first is None:
        kafka.fail(f"the stage processed nothing:\n{st.text()[-3000:]}")
    rate = (st.metrics()["dlr_reports_total"] - first[1]) / (time.time() - first[0])
    st.stop()
    return rate


def plot(rows, out, warm_up):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [r["elapsed_s"] / 60 for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(t, [r["rss_mb"] for r in rows], label="RSS (MB)", color="tab:blue")
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS (MB)")
    ax.set_ylim(0, max(r["rss_mb"] for r in rows) * 1.5)
    other = ax.twinx()
    other.plot(t, [r["fds"] for r in rows], label="open file descriptors", color="tab:orange")
    other.set_ylabel("open file descriptors")
    other.set_ylim(0, max(r["fds"] for r in rows) * 1.5)
    for r in rows:
        if r["event"].startswith("broker"):
            ax.axvline(r["elapsed_s"] / 60, color="grey", linestyle=":", linewidth=1)
    ax.axvspan(0, warm_up / 60, color="grey", alpha=0.1)
    fig.legend(loc="upper right", bbox_to_anchor=(0.9, 0.85))
    ax.set_title("dlr-enricher soak on three brokers: rebalance every 3 min, broker restart every 10 (dotted)")
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--out", default=str(cf.ROOT / "bench/results"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    cluster = cf.Cluster()
    member = None
    try:
        msgs = list(dlrgen.generate(4242, 60_000, 0.002))
        pool = [(m["channel"], m["key"], m["value"]) for m in msgs]
        reports_per_message = sum(len(m.get("message_ids") or [1]) for m in msgs) / len(msgs)
        sustained = max_rate(args.binary, kafka.Topics(faults.CHANNELS), pool, reports_per_message)
        rate = sustained / 2 / reports_per_message
        print(f"soak: one stage sustains {sustained:.0f} reports/s here; feeding {sustained / 2:.0f} "
              f"({rate:.0f} messages/s) for {args.minutes:g} min", flush=True)

        topics = kafka.Topics(faults.CHANNELS)
        st = kafka.Stage(args.binary, topics, consumer_props=faults.FAST_COMMIT, name="soak")
        st.wait_ready()
        feeder = LoopFeeder(topics, pool, rate)
        feeder.start()
        started = time.time()
        rows, restarts, next_broker = [], 0, 1
        next_sample, next_rebalance, next_restart = started, started + REBALANCE_S, started + BROKER_RESTART_S
        event = "start"
        while time.time() - started < args.minutes * 60:
            now = time.time()
            if now >= next_rebalance:
                if member is None:
                    member = kafka.Stage(args.binary, topics, consumer_props=faults.FAST_COMMIT, name="soak-member")
                    event = "member joined"
                else:
                    code, _ = member.stop()
                    if code != 0:
                        kafka.fail(f"the second member exited with {code}:\n{member.text()[-3000:]}")
                    member, event = None, "member left"
                next_rebalance += REBALANCE_S
            if now >= next_restart:
                cluster.run("restart", str(next_broker))
                event, restarts = f"broker {next_broker} restarted", restarts + 1
                next_broker = next_broker % 3 + 1
                next_restart += BROKER_RESTART_S
            if now >= next_sample:
                if st.proc.poll() is not None:
                    kafka.fail(f"the stage exited with {st.proc.returncode}:\n{st.text()[-3000:]}")
                row = {"elapsed_s": round(now - started), "rss_mb": round(rss_mb(st.proc.pid), 1),
                       "fds": fds(st.proc.pid), "reports_total": int(st.metrics().get("dlr_reports_total", 0)),
                       "event": event}
                rows.append(row)
                print(f"soak: {row}", flush=True)
                event = ""
                next_sample += SAMPLE_S
            time.sleep(1)
        feeder.stopping.set()
        feeder.join()
        if feeder.error:
            kafka.fail(f"the soak's own producer: {feeder.error}")
        faults.wait_all_committed(topics, timeout=600)
        if member:
            member.stop()
            member = None
        code, _ = st.stop()
        if code != 0:
            kafka.fail(f"the stage exited with {code}:\n{st.text()[-3000:]}")

        with open(out / "soak.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        warm_up = min(WARM_UP_S, args.minutes * 60 / 4)
        plot(rows, out / "soak.png", warm_up)
        steady = [r for r in rows if r["elapsed_s"] >= warm_up]
        if len(steady) < 6:
            kafka.fail("too short to judge: run at least four minutes")
        third = len(steady) // 3
        early = statistics.median(r["rss_mb"] for r in steady[:third])
        late = statistics.median(r["rss_mb"] for r in steady[-third:])
        fd_early = statistics.median(r["fds"] for r in steady[:third])
        fd_late = max(r["fds"] for r in steady[-third:])
        print(f"soak: {feeder.sent} messages ({feeder.sent * reports_per_message:.0f} reports) in "
              f"{args.minutes:g} min, {restarts} broker restarts, {sum(1 for r in rows if 'member' in r['event'])} "
              f"rebalances; RSS after warm-up {early:.1f} MB (median of the first third) -> {late:.1f} MB (last "
              f"third), peak {max(r['rss_mb'] for r in rows):.1f} MB; descriptors {fd_early:.0f} -> {fd_late} at most; "
              f"all committed", flush=True)
        if late - early > RSS_NOISE_MB:
            kafka.fail(f"RSS grew {late - early:.1f} MB after the warm-up")
        if fd_late > fd_early + 10:
            kafka.fail(f"file descriptors grew from {fd_early:.0f} to {fd_late}")
    finally:
        if member and member.proc.poll() is None:
            member.stop()
        cluster.close()


if __name__ == "__main__":
    main()
    print("soak: passed")
