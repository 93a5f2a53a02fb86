#!/usr/bin/env python3
"""A real Prometheus (Debian's package) scraping the stage every second, as an operator runs it:
the consumer lag it records after a restart and while the group rebalances (members added, one
killed) equals what Kafka's ConsumerGroupCommand reports, with no gap, and every expression of the
Grafana dashboard and of the autoscaler's rule returns data.

  prometheus_test.py BINARY

The dead-letter topic is missing, so every partition with a malformed message stays held behind
it: the group's lag stands still and can be compared sample by sample.
"""
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
import dlrgen  # noqa: E402
from stage import ROOT, Stage, Topics, fail, produce, settled, tool_lag  # noqa: E402

JOB = "dlr-enricher"
SCRAPE_S = 1
LAG = "max by (topic, partition) (dlr_consumer_lag)"  # one figure per partition, as the dashboard takes it


def check(condition, message):
    if not condition:
        fail(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """prometheus on a port and a data folder of its own; targets come from a file it watches."""

    def __init__(self):
        binary = shutil.which("prometheus")
        check(binary, "prometheus is not installed (deploy/setup.sh prometheus)")
        self.dir = Path(tempfile.mkdtemp(prefix="dlr-prometheus-"))
        self.targets_file = self.dir / "targets.json"
        self.set_targets({})
        (self.dir / "prometheus.yml").write_text(f"""global:
  scrape_interval: {SCRAPE_S}s
  scrape_timeout: {SCRAPE_S}s
scrape_configs:
  - job_name: {JOB}
    file_sd_configs: [{{files: ["{self.targets_file}"], refresh_interval: 1s}}]
""")
        self.port = free_port()
        self.log = open(self.dir / "prometheus.log", "w")
        self.proc = subprocess.Popen([binary, f"--config.file={self.dir / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={self.dir / 'data'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            check(self.proc.poll() is None, f"prometheus exited:\n{(self.dir / 'prometheus.log').read_text()}")
            time.sleep(0.3)
        fail(f"prometheus not ready:\n{(self.dir / 'prometheus.log').read_text()}")

    def set_targets(self, stages):
        """{member name: Stage}: what Prometheus scrapes, labelled member=NAME."""
        groups = [{"targets": [f"127.0.0.1:{s.port}"], "labels": {"member": name}} for name, s in stages.items()]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups))
        tmp.rename(self.targets_file)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        check(body.get("status") == "success", f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr, at=None):
        return self.api("query", query=expr, **({"time": f"{at:.3f}"} if at else {}))["result"]

    def lag(self, at=None):
        """{(topic, partition): lag} as the dashboard and the autoscaler see it."""
        return {(r["metric"]["topic"], int(r["metric"]["partition"])): int(float(r["value"][1]))
                for r in self.query(LAG, at)}

    def scraped(self, member):
        """Until Prometheus holds a successful scrape of the member."""
        deadline = time.time() + 20
        while time.time() < deadline:
            if any(r["value"][1] == "1" for r in self.query(f'up{{member="{member}"}}')):
                return
            time.sleep(0.2)
        fail(f"prometheus never scraped {member}: {self.api('targets')}")

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def samples(prom, selector, since):
    """Every raw sample of the selector's series since `since`: [(labels, timestamp, value)]."""
    window = max(1, int(time.time() - since) + 1)
    out = []
    for series in prom.query(f"{selector}[{window}s]"):
        out += [(series["metric"], float(t), int(float(v))) for t, v in series["values"] if float(t) >= since]
    return out


def recorded_equals(prom, held, since, until, what):
    """At every scrape step from `since` to `until`, the lag Prometheus holds for each partition is
    ConsumerGroupCommand's figure: none missing, none wrong."""
    steps = prom.api("query_range", query=LAG, start=f"{since:.3f}", end=f"{until:.3f}", step=f"{SCRAPE_S}s")["result"]
    per_partition = {(s["metric"]["topic"], int(s["metric"]["partition"])): s["values"] for s in steps}
    check(set(per_partition) == set(held), f"{what}: partitions recorded {sorted(per_partition)}, expected {sorted(held)}")
    expected_steps = int((until - since) // SCRAPE_S) + 1
    for tp, values in per_partition.items():
        wrong = [(t, v) for t, v in values if int(float(v)) != held[tp]]
        check(not wrong, f"{what}: {tp} recorded {wrong[:5]}, ConsumerGroupCommand {held[tp]}")
        check(len(values) >= expected_steps - 1, f"{what}: {tp} has {len(values)} of {expected_steps} steps")
    return expected_steps


def dashboard_expressions():
    """Every query of the Grafana dashboard with its variables filled in, and the autoscaler's."""
    board = json.loads((ROOT / "deploy/grafana/dlr-enricher.json").read_text())
    exprs = [(p.get("title", "?"), t["expr"]) for p in board["panels"] for t in p.get("targets", []) if t.get("expr")]
    check(exprs, "the dashboard has no queries")
    comment = " ".join(line.lstrip("# ") for line in (ROOT / "deploy/kubernetes/hpa.yaml").read_text().splitlines()
                       if line.startswith("#"))
    rule = re.search(r"rule: (.+?) as \"dlr_consumer_lag\"", comment)
    check(rule, "deploy/kubernetes/hpa.yaml names no prometheus-adapter rule")
    exprs.append(("autoscaler rule", rule.group(1)))
    fill = lambda e: e.replace('=~"$job"', f'=~"{JOB}"').replace("$__rate_interval", "1m")
    return [(title, fill(e)) for title, e in exprs]


def main(binary):
    msgs = list(dlrgen.generate(911, 4000, 0.03))
    topics = Topics(["sms", "whatsapp", "email", "voice"], partitions=2, skip=("dead_letter",))
    produce(topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
    props = {"message.timeout.ms": "3000"}
    quick = "metrics:\n  address: 127.0.0.1:0\n  lag_interval_s: 1"
    start = lambda name: Stage(binary, topics, producer_props=props, extra=quick, name=name)
    prom = Prometheus()
    stages = {}
    try:
        stages["first"] = start("first")
        prom.set_targets(stages)
        prom.scraped("first")
        settled(topics)
        held = tool_lag(topics.group)
        check(sum(held.values()) > 0 and None not in held.values(), f"nothing held back: {held}")

        # A clean stop and a restart: from its first scrape, the restarted instance's lag is the group's.
        stages.pop("first").stop()
        stages["again"] = start("again")
        prom.set_targets(stages)
        restarted = time.time()
        prom.scraped("again")
        time.sleep(4 * SCRAPE_S)
        after_restart = samples(prom, 'dlr_consumer_lag{member="again"}', restarted - 1)
        check(after_restart, "no lag sample of the restarted instance")
        wrong = [(m["topic"], m["partition"], v) for m, _, v in after_restart if v != held[(m["topic"], int(m["partition"]))]]
        check(not wrong, f"after the restart Prometheus recorded {wrong[:5]}; ConsumerGroupCommand {held}")
        # Served from the first scrape on, or at most one lag reading (lag_interval_s) later.
        first_scrape = min(t for _, t, v in samples(prom, 'up{member="again"}', restarted - 1) if v == 1)
        first_sample = min(t for _, t, _ in after_restart)
        check(first_sample - first_scrape <= 1 + SCRAPE_S,
              f"the restarted instance served no lag for {first_sample - first_scrape:.1f} s after its first scrape")
        check(prom.lag() == tool_lag(topics.group), f"after the restart: {prom.lag()} vs {tool_lag(topics.group)}")

        # A rebalance: four members join (five for eight partitions), then one holding partitions is
        # killed; its partitions wait for the session timeout while the others serve their lag.
        joined = time.time()
        for i in range(4):
            stages[f"member{i}"] = start(f"member{i}")
        prom.set_targets(stages)
        for name in stages:
            prom.scraped(name)
        time.sleep(4)
        holding = [n for n, s in stages.items() if s.metrics().get("dlr_assigned_partitions", 0) > 0]
        check(holding, "no member holds a partition")
        victim = holding[0]
        killed = time.time()
        stages[victim].proc.send_signal(signal.SIGKILL)
        stages[victim].proc.wait(10)
        time.sleep(10)  # past session.timeout.ms (6 s): the group has moved the dead member's partitions
        now = tool_lag(topics.group)
        check(now == held, f"the group's lag moved during the rebalance: {now} vs {held}")
        steps = recorded_equals(prom, held, joined, time.time() - SCRAPE_S, "while members joined and one was killed")
        check(prom.lag() == now, f"after the rebalance: Prometheus {prom.lag()}, ConsumerGroupCommand {now}")
        del stages[victim]
        prom.set_targets(stages)

        # Released: the dead-letter topic appears, the lag drains to 0 in both.
        topics.create("dead_letter")
        deadline = time.time() + 90
        while (sum(prom.lag().values()) or any(tool_lag(topics.group).values())) and time.time() < deadline:
            time.sleep(1)
        check(not sum(prom.lag().values()), f"Prometheus still records lag {prom.lag()}")
        check(not any(tool_lag(topics.group).values()), f"ConsumerGroupCommand still reports lag {tool_lag(topics.group)}")

        empty = [(title, e) for title, e in dashboard_expressions() if not prom.query(e)]
        check(not empty, "expressions that return no data:\n" + "\n".join(f"  {t}: {e}" for t, e in empty))
        print(f"prometheus: held {sum(held.values())} messages on {len(held)} partitions; restarted instance's lag in "
              f"the scrape {first_sample - first_scrape:.0f} s after its first, {len(after_restart)} samples all equal to "
              f"ConsumerGroupCommand; {steps} scrape steps while 4 joined and {victim} was killed "
              f"(at +{killed - joined:.0f} s), none missing or wrong; {len(dashboard_expressions())} dashboard and "
              f"autoscaler expressions all return data")
    finally:
        for s in stages.values():
            if s.proc.poll() is None:
                s.stop()
        prom.close()


if __name__ == "__main__":
    main(sys.argv[1])
    print("prometheus: passed")
