#!/usr/bin/env python3
"""Fault scenarios on a real three-broker cluster (deploy/kafka/cluster.sh: replication factor 3,
min.insync.replicas=2, internal topics replicated too): brokers killed, restarted one after another,
two of three gone at once, and the network to them slowed then cut (Toxiproxy), while reports flow.
Each prints
  faults: <scenario> in=N enriched=N dlq=N duplicates=D lost=L
and fails unless lost=0; the _eos variants run the stage in exactly-once mode and fail also unless
duplicates=0. The tracker's scenarios print tracker_faults_test.py's line (messages, mismatched)
and fail also unless every message's last state equals the model's.

  cluster_faults_test.py BINARY SCENARIO [--soak]
  SCENARIO: input_leader_kill | output_leader_kill | rolling_restart | no_quorum | long_no_quorum |
            slow_network | tracker_leader_kill | tracker_rolling_restart, each also SCENARIO_eos
"""
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests/integration"))
sys.path.insert(0, str(ROOT / "tests/support"))
import dlrgen  # noqa: E402
import faults_test as faults  # noqa: E402
import stage as kafka  # noqa: E402
import tracker_faults_test as tracker_faults  # noqa: E402

SCRIPT = str(ROOT / "deploy/kafka/cluster.sh")
PROXY_OFFSET = 30  # the proxy listens on the cluster's port + 30 + N - 1 for broker N
PROXY_API_OFFSET = 40


# The topics a fault is aimed at: whose leaders it kills (input, output), and all it waits to be
# in sync again.
Watched = collections.namedtuple("Watched", "input output all")


class Cluster:
    """Three brokers of our own on their own ports and a fresh data folder; with `proxied`, the
    stage reaches them only through Toxiproxy (tests/faults/toxiproxy.sh), while the test's own
    clients connect directly."""

    def __init__(self, proxied=False):
        self.base = int(os.environ.get("FAULTS_CLUSTER_PORT", "39292"))
        self.env = dict(os.environ, KAFKA_CLUSTER_PORT=str(self.base),
                        KAFKA_CLUSTER_DATA=tempfile.mkdtemp(prefix="dlr-faults-cluster-"), KAFKA_TOPICS="faults.probe:1",
                        KAFKA_PROXY_PORT_OFFSET=str(PROXY_OFFSET if proxied else 0))
        self.proxy = Toxiproxy(self.base) if proxied else None
        self.run("start")
        self.brokers = self.run("brokers").strip()
        self.stage_brokers = self.run("proxied").strip() if proxied else self.brokers
        kafka.BROKERS = self.brokers
        kafka.REPLICATION = 3

    def run(self, *args):
        return subprocess.run([SCRIPT, *args], env=self.env, check=True, capture_output=True, text=True, timeout=300).stdout

    def close(self):
        subprocess.run([SCRIPT, "stop"], env=self.env, capture_output=True, timeout=300)
        if self.proxy:
            self.proxy.close()
        subprocess.run(["rm", "-rf", self.env["KAFKA_CLUSTER_DATA"]])

    def in_sync(self, topics, timeout=120):
        """Until every partition of the topics has all three replicas in sync again."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.brokers})
        deadline = time.time() + timeout
        while time.time() < deadline:
            meta = admin.list_topics(timeout=10)
            if all(len(p.isrs) == 3 for t in topics for p in meta.topics[t].partitions.values()):
                return
            time.sleep(0.5)
        kafka.fail(f"replicas not back in sync within {timeout}s")


class Toxiproxy:
    """One proxy per broker, from the proxied port to the broker's PROXIED listener."""

    def __init__(self, base):
        binary = subprocess.run([str(HERE / "toxiproxy.sh")], check=True, capture_output=True, text=True,
                                timeout=600).stdout.strip()
        self.api_url = f"http://127.0.0.1:{base + PROXY_API_OFFSET}"
        self.log = tempfile.NamedTemporaryFile(prefix="dlr-toxiproxy-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(base + PROXY_API_OFFSET)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                self.api("GET", "/proxies")
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    kafka.fail(f"toxiproxy did not start: {Path(self.log.name).read_text()}")
                time.sleep(0.2)
        self.names = []
        for n in (1, 2, 3):
            name = f"broker{n}"
            self.api("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{base + PROXY_OFFSET + n - 1}",
                                          "upstream": f"127.0.0.1:{base + 20 + n - 1}", "enabled": True})
            self.names.append(name)

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.api_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def latency(self, ms):
        for name in self.names:
            self.api("POST", f"/proxies/{name}/toxics",
                     {"name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": ms}})

    def clear(self):
        for name in self.names:
            self.api("DELETE", f"/proxies/{name}/toxics/slow")

    def enabled(self, on):
        """Off closes every connection through the proxy and refuses new ones: a cut network."""
        for name in self.names:
            self.api("POST", f"/proxies/{name}", {"enabled": on})

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def leaders(topics):
    """{broker id: partitions it leads} over the topics."""
    from confluent_kafka.admin import AdminClient
    meta = AdminClient({"bootstrap.servers": kafka.BROKERS}).list_topics(timeout=10)
    count = collections.Counter()
    for t in topics:
        for p in meta.topics[t].partitions.values():
            count[p.leader] += 1
    return count


class Feeder(threading.Thread):
    """The input stream at `rate` messages per second, on a thread; join() fails the scenario if
    the inputs could not all be written, so a report never written is not counted as lost."""

    def __init__(self, topics, msgs, rate):
        super().__init__()
        self.args_ = (topics.inputs, [(m["channel"], m["key"], m["value"], None) for m in msgs])
        self.rate, self.error = rate, None

    def run(self):
        try:
            kafka.produce(*self.args_, rate=self.rate)
        except AssertionError as e:
            self.error = e

    def join(self, timeout=None):
        super().join(timeout)
        if self.error:
            kafka.fail(f"the test's own producer could not write the inputs: {self.error}")


def stream(seed, reports, rate):
    msgs = list(dlrgen.generate(seed, reports, 0.002))
    topics = kafka.Topics(faults.CHANNELS)
    return msgs, topics, Feeder(topics, msgs, rate)


def run_scenario(binary, name, exactly_once, reports, seconds, fault):
    """Reports flow for about `seconds` through one stage while `fault(cluster, watched)` runs;
    then everything must be committed and accounted for."""
    cluster = Cluster(proxied=fault in PROXIED)
    try:
        msgs, topics, feeder = stream(zlib.crc32(name.encode()) % 1000, reports, reports / seconds)
        st = kafka.Stage(binary, topics, consumer_props=faults.FAST_COMMIT, name=name, brokers=cluster.stage_brokers,
                         extra=faults.EXACTLY_ONCE if exactly_once else "")
        st.wait_ready()
        feeder.start()
        time.sleep(3)
        before = st.metrics().get("dlr_input_messages_total", 0)
        fault(cluster, Watched(list(topics.inputs.values()), [topics.outputs["enriched"]],
                               list(topics.inputs.values()) + list(topics.outputs.values())))
        if st.proc.poll() is not None:
            st = restarted(binary, st, name, exactly_once, topics, cluster.stage_brokers)
        feeder.join()
        if not 0 < before < len(msgs):
            kafka.fail(f"the fault did not land mid-stream ({before} of {len(msgs)} messages consumed)")
        faults.wait_all_committed(topics, timeout=600, stage=st)
        code, _ = st.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{st.text()}")
        label = name + ("_eos" if exactly_once else "")
        duplicates = faults.verdict(label, msgs, topics, cluster.brokers)
        if exactly_once and duplicates:
            kafka.fail(f"{duplicates} duplicates under exactly_once")
    finally:
        cluster.close()


def restarted(binary, st, name, exactly_once, topics, brokers):
    """A stage that ended during the fault, started again as its orchestrator would. Only one end
    is allowed: exactly-once's, when the outage outlived transaction.timeout.ms, the broker aborted
    the transaction and the producer's error became fatal (exit 1, nothing committed; deploy/README.md,
    What the stage promises); then the restart must lose and duplicate nothing."""
    st.log.close()
    log = st.text()
    if not exactly_once or st.proc.returncode != 1 or "fatal: producer:" not in log:
        kafka.fail(f"the stage exited with {st.proc.returncode} during the fault:\n{log[-4000:]}")
    fatal = next(line for line in log.splitlines() if "fatal: producer:" in line)
    print(f"the stage ended as documented (exit 1: {fatal.split('fatal: ', 1)[1]}); restarted", flush=True)
    again = kafka.Stage(binary, topics, consumer_props=faults.FAST_COMMIT, name=name + "-restarted", brokers=brokers,
                        extra=faults.EXACTLY_ONCE)
    again.wait_ready()
    return again


def kill_leader_of(which):
    def fault(cluster, watched):
        victim = leaders(getattr(watched, which)).most_common(1)[0][0]
        print(f"SIGKILL broker {victim}, leader of the most {which} partitions", flush=True)
        cluster.run("kill", str(victim))
        time.sleep(8)
        cluster.run("start", str(victim))
        cluster.in_sync(watched.all)
    return fault


def rolling(cluster, watched):
    for n in (1, 2, 3):
        print(f"restart broker {n}", flush=True)
        cluster.run("restart", str(n))
        cluster.in_sync(watched.all)


def no_quorum_for(outage_s):
    def no_quorum(cluster, watched):
        """Two of three down: no write can reach min.insync.replicas and the controllers lose their
        quorum. The stage must hold (alive, nothing committed past what is written) and resume. A
        transaction cannot outlive transaction.timeout.ms (30 s): under exactly-once a longer outage
        (kill to brokers back and in sync) may end the stage with exit 1, and its restart must lose
        and duplicate nothing."""
        cluster.run("kill", "2")
        cluster.run("kill", "3")
        print(f"brokers 2 and 3 down (SIGKILL) for {outage_s} s", flush=True)
        time.sleep(outage_s)
        cluster.run("start", "2")
        cluster.run("start", "3")
        cluster.in_sync(watched.all, timeout=180)
    return no_quorum


def slow_then_cut(cluster, watched):
    """The network between the stage and every broker slowed (200 ms added to every answer), then
    cut for OUTAGE_S (connections closed, new ones refused), then back."""
    print("200 ms latency on every broker connection for 10 s", flush=True)
    cluster.proxy.latency(200)
    time.sleep(10)
    cluster.proxy.clear()
    print(f"network to every broker cut for {OUTAGE_S} s", flush=True)
    cluster.proxy.enabled(False)
    time.sleep(OUTAGE_S)
    cluster.proxy.enabled(True)


def run_tracker_scenario(binary, name, exactly_once, records, seconds, fault):
    """The tracker on the cluster while `fault` runs, its input analytics records from message
    histories (tracker_faults_test.py); every message's last state must equal the model's."""
    cluster = Cluster()
    try:
        setup = tracker_faults.Setup(binary, records, seed=zlib.crc32(name.encode()) % 1000, exactly_once=exactly_once)
        tracker = setup.tracker(name)
        tracker.wait_ready(timeout=120)
        feeder = setup.feed(rate=len(setup.records) / seconds)
        time.sleep(3)
        tracking = setup.tracking
        fault(cluster, Watched([setup.topics.outputs["analytics"]], [tracking.changelog],
                               [setup.topics.outputs["analytics"], tracking.output, tracking.changelog]))
        if tracker.proc.poll() is not None:
            kafka.fail(f"the tracker exited with {tracker.proc.returncode} during the fault:\n{tracker.text()[-4000:]}")
        feeder.join()
        setup.wait_committed(tracker=tracker)
        code, _ = tracker.stop()
        if code != 0:
            kafka.fail(f"exit {code}:\n{tracker.text()}")
        setup.verdict(name + ("_eos" if exactly_once else ""))
    finally:
        cluster.close()


OUTAGE_S = 20
PROXIED = (slow_then_cut,)

SCENARIOS = {
    # name: (reports, seconds of flow, fault)
    "input_leader_kill": (150_000, 15, kill_leader_of("input")),
    "output_leader_kill": (150_000, 15, kill_leader_of("output")),
    "rolling_restart": (500_000, 40, rolling),
    "no_quorum": (150_000, 15, no_quorum_for(OUTAGE_S)),
    "long_no_quorum": (150_000, 15, no_quorum_for(45)),  # longer than transaction.timeout.ms
    "slow_network": (150_000, 20, slow_then_cut),
}
TRACKER_SCENARIOS = {
    # name: (message histories, seconds of flow, fault); the changelog's leader is the output
    "tracker_leader_kill": (40_000, 20, kill_leader_of("output")),
    "tracker_rolling_restart": (60_000, 40, rolling),
}


if __name__ == "__main__":
    binary, scenario = sys.argv[1], sys.argv[2]
    exactly_once = scenario.endswith("_eos")
    base = scenario.removesuffix("_eos")
    reports, seconds, fault = {**SCENARIOS, **TRACKER_SCENARIOS}[base]
    if "--soak" in sys.argv:
        reports, seconds = reports * 3, seconds * 3
    (run_tracker_scenario if base in TRACKER_SCENARIOS else run_scenario)(binary, base, exactly_once, reports,
                                                                           seconds, fault)
