#!/usr/bin/env python3
"""Checks the deploy files as far as a machine without a container engine or a cluster allows.

  Dockerfile   multi-stage, Debian base of this machine's release, non-root user; the builder
               stage's build commands run on a copy of exactly the files it COPYs; every runtime
               package exists and together they provide every library the binary links; every
               file the runtime stage copies exists.
  entrypoint   a dry run of `entrypoint.sh run` with the image's config against the test broker:
               ready, then SIGTERM and exit 0; a broken config stops it before running; other
               commands pass through.
  compose      valid against the Compose Specification; the build context and Dockerfile exist.
  Kubernetes   each manifest valid against the Kubernetes API schemas (strict); the kustomization
               lists them; probes hit /healthz and /readyz on the metrics port; the ConfigMap's
               config passes check-config.
  Grafana      valid dashboard JSON whose every query names a metric the stage exports.

  check.py BINARY TOOLS_BIN     TOOLS_BIN: where check-jsonschema and kubernetes-validate are
                                (tests/deploy/tools.sh installs them)
Environment: DLR_TEST_BROKERS (the broker of tests/run.sh) for the entrypoint's dry run.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"  FAIL {message}")
    return condition


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


# ------------------------------------------------------------------------------------------------
def stages(path):
    """[(base image, [(instruction, value)])] per stage."""
    parser = DockerfileParser(path=str(path))
    out = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            out.append((item["value"].split()[0], []))
        elif out:
            out[-1][1].append((item["instruction"], item["value"]))
    return out


def apt_packages(run_value):
    """Package names of the `apt-get install` in a RUN."""
    text = run_value.replace("\\\n", " ")
    match = re.search(r"apt-get install ([^&;]*)", text)
    return [w for w in match.group(1).split() if not w.startswith("-")] if match else []


def check_dockerfile(binary_for_ldd):
    print("Dockerfile")
    path = DEPLOY / "container/Dockerfile"
    found = stages(path)
    check(len(found) >= 2, f"not multi-stage: {len(found)} stage(s)")
    codename = re.search(r"VERSION_CODENAME=(\w+)", Path("/etc/os-release").read_text()).group(1)
    for base, _ in found:
        check(base.startswith(f"debian:{codename}"), f"base image {base} is not Debian {codename} (this machine's release, "
                                                     "whose package names the Dockerfile uses)")
    build_base, build = found[0]
    runtime_base, runtime = found[-1]
    check(runtime_base.endswith("-slim"), f"runtime base {runtime_base} is not a slim image")
    users = [v for i, v in runtime if i == "USER"]
    check(users and users[-1].split(":")[0] not in ("0", "root"), f"the runtime stage runs as {users or 'root'}")

    # The builder stage on a copy of what it copies: a file the build needs but the Dockerfile
    # forgets to COPY fails here.
    work = Path(tempfile.mkdtemp(prefix="dlr-image-build-"))
    src = work / "src"
    src.mkdir()
    for instruction, value in build:
        if instruction == "COPY":
            *sources, _ = shlex.split(value)
            for s in sources:
                if not check((ROOT / s).exists(), f"builder COPY source {s} missing"):
                    continue
                if (ROOT / s).is_dir():
                    shutil.copytree(ROOT / s, src / s, ignore=shutil.ignore_patterns(".*"))
                else:
                    shutil.copy(ROOT / s, src / s)
    commands = [v.replace("\\\n", " ") for i, v in build if i == "RUN" and "cmake" in v]
    check(commands, "no cmake build in the builder stage")
    # Build arguments at their defaults, as `docker build` without --build-arg sees them.
    args = dict(v.split("=", 1) for i, v in build if i == "ARG" and "=" in v)
    for command in commands:
        result = run(["bash", "-euo", "pipefail", "-c", command], cwd=src, env={**os.environ, **args})
        check(result.returncode == 0, f"builder command failed: {command}\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    built = src / "build/dlr-enricher"
    if check(built.exists(), "the builder stage made no build/dlr-enricher"):
        binary_for_ldd = built
        print(f"  builder stage built {built.stat().st_size // 1024} KiB from the copied files only")

    # Runtime packages: they exist, and they (with their dependencies) provide every linked library.
    packages = [p for i, v in runtime if i == "RUN" for p in apt_packages(v)]
    check(packages, "no apt-get install in the runtime stage")
    for p in packages:
        check(run(["apt-cache", "show", p]).returncode == 0, f"runtime package {p} does not exist in {codename}")
    depends = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                   "--no-breaks", "--no-replaces", "--no-enhances", *packages]).stdout
    provided = set(packages) | {line.strip().split(":")[-1].strip().split(":")[0] for line in depends.splitlines()}
    provided = {p.split(":")[0] for p in provided}
    libraries = re.findall(r"=> (/\S+)", run(["ldd", str(binary_for_ldd)]).stdout)
    for lib in libraries:
        real = os.path.realpath(lib)
        owner = run(["dpkg", "-S", real]).stdout or run(["dpkg", "-S", real.replace("/usr/lib/", "/lib/", 1)]).stdout
        package = owner.split(":")[0] if owner else "?"
        priority = run(["dpkg-query", "-W", "-f=${Priority}", package]).stdout if package != "?" else ""
        check(package in provided or priority == "required",
              f"{lib} comes from {package}, which the runtime stage does not install")
    print(f"  runtime packages {packages} cover {len(libraries)} linked libraries")

    for instruction, value in runtime:
        if instruction == "COPY" and "--from" not in value:
            *sources, _ = shlex.split(value)
            for s in sources:
                check((ROOT / s).exists(), f"runtime COPY source {s} missing")
        if instruction == "COPY" and "--from" in value:
            check("/src/build/dlr-enricher" in value, f"runtime copies {value}, not the builder's binary")
    entry = [v for i, v in runtime if i == "ENTRYPOINT"]
    check(entry and "entrypoint.sh" in entry[-1], "no entrypoint.sh ENTRYPOINT")
    script = DEPLOY / "container/entrypoint.sh"
    check(os.access(script, os.X_OK), "entrypoint.sh is not executable")
    check(run(["sh", "-n", str(script)]).returncode == 0, "entrypoint.sh has a syntax error")
    return binary_for_ldd


# ------------------------------------------------------------------------------------------------
def metrics_of(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def check_entrypoint(binary):
    """`entrypoint.sh run` as the container runs it, on the image's config with the test broker."""
    print("entrypoint dry run")
    brokers = os.environ.get("DLR_TEST_BROKERS")
    if not check(brokers, "DLR_TEST_BROKERS not set (tests/run.sh starts the broker)"):
        return ""
    work = Path(tempfile.mkdtemp(prefix="dlr-entrypoint-"))
    config = work / "config.yaml"
    # Only the metrics port changes: a fixed port may be taken on a shared machine.
    text = (DEPLOY / "container/config.yaml").read_text()
    check("address: 0.0.0.0:9464" in text, "the image's config does not serve metrics on 0.0.0.0:9464")
    config.write_text(text.replace("address: 0.0.0.0:9464", "address: 127.0.0.1:0"))
    env = dict(os.environ, DLR_BIN=str(binary), DLR_CONFIG=str(config), DLR_BROKERS=brokers,
               DLR_CATALOG_DIR=str(ROOT / "catalog"), DLR_LOG_LEVEL="info")
    log = work / "stage.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(DEPLOY / "container/entrypoint.sh"), "run"], env=env, stdout=out, stderr=subprocess.STDOUT)
    port, metrics, ready = None, "", False
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not ready:
        m = re.search(r"\(port (\d+)\)", log.read_text())
        if m:
            port = int(m.group(1))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    ready = r.status == 200
            except OSError:
                pass
        time.sleep(0.3)
    check(ready, f"the stage never became ready:\n{log.read_text()[-3000:]}")
    if port:
        metrics = metrics_of(port)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
    check(proc.returncode == 0, f"entrypoint run exit {proc.returncode} after SIGTERM:\n{log.read_text()[-3000:]}")
    lines = log.read_text().splitlines()
    check(lines and all(l.startswith("{") and json.loads(l) for l in lines), "the image's config does not give JSON logs")
    print(f"  ready on the image's config, {len(lines)} JSON log lines, exit 0 on SIGTERM")

    broken = work / "broken.yaml"
    broken.write_text(text + "\nunknown_key: 1\n")
    result = run([str(DEPLOY / "container/entrypoint.sh"), "run"], env=dict(env, DLR_CONFIG=str(broken)), timeout=30)
    check(result.returncode == 1 and "unknown key 'unknown_key'" in result.stderr,
          f"a broken config: exit {result.returncode}, {result.stderr[-500:]}")
    result = run([str(DEPLOY / "container/entrypoint.sh"), "catalog", "check"], env=env, timeout=30)
    check(result.returncode == 0, f"`entrypoint.sh catalog check` exit {result.returncode}: {result.stderr[-500:]}")
    print("  a broken config stops before running (exit 1); other commands pass through")
    return metrics


# ------------------------------------------------------------------------------------------------
def check_compose(tools):
    print("compose")
    path = DEPLOY / "compose.yaml"
    result = run([f"{tools}/check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)])
    check(result.returncode == 0, f"compose.yaml against the Compose Specification:\n{result.stdout}{result.stderr}")
    doc = yaml.safe_load(path.read_text())
    build = doc["services"]["dlr-enricher"]["build"]
    context = (path.parent / build["context"]).resolve()
    check((context / build["dockerfile"]).exists(), f"compose builds from {context / build['dockerfile']}, which is missing")
    check(doc["services"]["kafka"]["image"].startswith("apache/kafka:4."), "compose does not run Apache Kafka 4")
    print(f"  valid; services {sorted(doc['services'])}")


def check_kubernetes(tools, binary):
    print("Kubernetes")
    folder = DEPLOY / "kubernetes"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    manifests = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    check(sorted(kustomization["resources"]) == manifests, f"kustomization lists {kustomization['resources']}, folder has {manifests}")
    result = run([f"{tools}/kubernetes-validate", "--strict", "--quiet", "-k", "1.30.0", *[str(folder / m) for m in manifests]])
    check(result.returncode == 0, f"manifests against the Kubernetes 1.30 schemas:\n{result.stdout}{result.stderr}")
    docs = {d["kind"]: d for m in manifests for d in yaml.safe_load_all((folder / m).read_text())}
    check({"Deployment", "ConfigMap", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= set(docs),
          f"missing a manifest: have {sorted(docs)}")
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        got = container.get(probe, {}).get("httpGet", {})
        check(got.get("path") == path and got.get("port") in ports, f"{probe} is {got}, expected {path} on a named port")
    check(docs["Service"]["spec"]["ports"][0]["targetPort"] in ports, "the Service does not target the metrics port")
    grace = docs["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    config_text = docs["ConfigMap"]["data"]["config.yaml"]
    config = yaml.safe_load(config_text)
    check(config["shutdown_timeout_s"] < grace, f"shutdown_timeout_s {config['shutdown_timeout_s']} not below the grace period {grace}")
    check(config["metrics"]["address"].endswith(f":{ports['metrics']}"), "the config's metrics port is not the container's")
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    check(os.path.dirname(env.get("DLR_CONFIG", "")) in mounts, f"DLR_CONFIG {env.get('DLR_CONFIG')} is not in a mounted volume")
    check(os.path.dirname(config["catalog"]["codes"]) in mounts, "the catalogue path is not a mounted volume")
    # The config itself, with the catalogue paths pointed at the repository's files.
    work = Path(tempfile.mkdtemp(prefix="dlr-k8s-"))
    local = config_text.replace(config["catalog"]["codes"], str(ROOT / "catalog/codes.yaml")) \
                       .replace(config["catalog"]["policy"], str(ROOT / "catalog/policy.yaml"))
    (work / "config.yaml").write_text(local)
    # Every variable the Deployment sets is set, each to a stand-in (the secret's and the pod's name).
    pod_env = {e["name"]: e.get("value") or f"from-{e['name'].lower()}" for e in container["env"]}
    check(set(re.findall(r"\$\{env:([A-Z_]+)", config_text)) <= set(pod_env),
          "the ConfigMap refers to an environment variable the Deployment does not set")
    result = run([str(binary), "check-config", str(work / "config.yaml")],
                 env={**os.environ, **pod_env, "DLR_KAFKA_PASSWORD": "from-secret"})
    check(result.returncode == 0, f"the ConfigMap's config fails check-config:\n{result.stderr}")
    check("from-secret" not in result.stdout + result.stderr and 'sasl.password: "***"' in result.stdout,
          "check-config shows the ConfigMap's password")
    print(f"  {len(manifests)} manifests valid (strict, Kubernetes 1.30); probes, ports, mounts and config agree")


def check_grafana(metrics_text):
    print("Grafana")
    dash = json.loads((DEPLOY / "grafana/dlr-enricher.json").read_text())
    exported = set(re.findall(r"^# TYPE (\w+) ", metrics_text, re.M))
    check(exported, "no metrics from the dry run to check the dashboard against")
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), "panel ids repeat")
    used = set()
    for p in dash["panels"]:
        for t in p.get("targets", []):
            names = set(re.findall(r"\b(dlr_\w+)", t["expr"]))
            check(names, f"panel '{p['title']}' has a query without a dlr metric: {t['expr']}")
            used |= names
    unknown = sorted(used - exported) if exported else []
    check(not unknown, f"the dashboard queries metrics the stage does not export: {unknown}")
    print(f"  {len(dash['panels'])} panels; {len(used)} metrics queried, all exported; not shown: {sorted(exported - used)}")


def main():
    binary, tools = Path(sys.argv[1]).resolve(), sys.argv[2]
    check_dockerfile(binary)
    metrics = check_entrypoint(binary)
    check_compose(tools)
    check_kubernetes(tools, binary)
    check_grafana(metrics)
    if failures:
        print(f"deploy: {len(failures)} problem(s)")
        sys.exit(1)
    print("deploy: all checks passed")


if __name__ == "__main__":
    main()
