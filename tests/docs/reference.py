#!/usr/bin/env python3
"""Keeps the configuration and metrics references in deploy/README.md true to the code.

  - The configuration reference is generated from schemas/config.schema.json.
  - The schema and the config loader agree: for every section, the keys the loader knows (it lists
    them when it meets an unknown one) are the schema's keys; a config with every key passes
    check-config and the schema.
  - The metrics references are generated from what a running stage and tracker serve on /metrics.

  reference.py BINARY            fails when deploy/README.md differs from what it generates
  reference.py BINARY --write    rewrites its two sections
"""
import difflib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas/config.schema.json").read_text())
README = ROOT / "deploy/README.md"  # the operations manual holds both references
MARKS = {"config": ("<!-- config-reference:begin -->", "<!-- config-reference:end -->"),
         "metrics": ("<!-- metrics-reference:begin -->", "<!-- metrics-reference:end -->"),
         "tracker-metrics": ("<!-- tracker-metrics-reference:begin -->", "<!-- tracker-metrics-reference:end -->")}


def resolve(node):
    if "$ref" in node:
        target = SCHEMA
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node:
        merged = {}
        for part in node["allOf"]:
            merged.update(resolve(part))
        return {**merged, **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def type_of(node):
    node = resolve(node)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if node.get("type") == "array":
        items = resolve(node.get("items", {}))
        return "list of " + (" \\| ".join(f"`{v}`" for v in items["enum"]) if "enum" in items else items.get("type", "?"))
    if node.get("type") == "object" and "additionalProperties" in node and node["additionalProperties"] is not False:
        return "map of librdkafka properties"
    text = node.get("type", "?")
    if "minimum" in node:
        text += f", {node['minimum']}–{node['maximum']}"
    return text


def leaves(node, path):
    """(key path, schema node) of every documented key, depth first in schema order."""
    node = resolve(node)
    if node.get("type") == "object" and isinstance(node.get("properties"), dict) and node.get("additionalProperties") is False:
        for key, child in node["properties"].items():
            yield from leaves(child, f"{path}.{key}" if path else key)
    elif node.get("type") == "array" and resolve(node.get("items", {})).get("type") == "object":
        yield path, node
        yield from leaves(node["items"], path + "[]")
    else:
        yield path, node


def config_reference():
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for path, node in leaves(SCHEMA, ""):
        node = resolve(node)
        default = node.get("default")
        shown = "" if default is None else f"`{json.dumps(default) if not isinstance(default, str) else default}`"
        required = " (required)" if path in SCHEMA.get("required", []) or path.endswith(".topic") else ""
        lines.append(f"| `{path}` | {type_of(node)} | {shown} | {node.get('description', '')}{required} |")
    return "\n".join(lines)


def check_loader_agrees(binary, problems):
    """Each section's keys as the loader knows them equal the schema's."""
    sections = {"": SCHEMA}
    for key, node in SCHEMA["properties"].items():
        node = resolve(node)
        if node.get("type") == "object" and node.get("additionalProperties") is False:
            sections[key] = node
    sections["inputs[]"] = resolve(SCHEMA["properties"]["inputs"]["items"])
    work = Path(tempfile.mkdtemp(prefix="dlr-reference-"))
    for section, node in sections.items():
        base = {"inputs": [{"topic": "in"}]}
        if section == "":
            base["zz_unknown"] = 1
        elif section == "inputs[]":
            base["inputs"][0]["zz_unknown"] = 1
        else:
            base[section] = {"zz_unknown": 1}
        path = work / "config.yaml"
        path.write_text(yaml.safe_dump(base))
        result = subprocess.run([binary, "check-config", str(path)], capture_output=True, text=True)
        match = re.search(r"unknown key 'zz_unknown' in [^(]*\(known: ([^)]*)\)", result.stderr)
        if not match:
            problems.append(f"section '{section or 'top level'}': the loader did not list its keys: {result.stderr.strip()}")
            continue
        known = set(match.group(1).split(", "))
        schema_keys = set(node["properties"])
        if known != schema_keys:
            problems.append(f"section '{section or 'top level'}': loader knows {sorted(known)}, schema has {sorted(schema_keys)}")

    # Every key at once, each at its default (or an example): valid for the schema and the loader.
    full = {}
    for path, node in leaves(SCHEMA, ""):
        node = resolve(node)
        if "[]" in path or path == "inputs":
            continue
        value = node.get("default", {"string": "x", "integer": 1, "boolean": True}.get(node.get("type")))
        if path.startswith("kafka."):
            value = {"client.id": "reference"}
        elif path in ("catalog.codes", "catalog.policy"):
            value = str(ROOT / value)
        target = full
        *parents, last = path.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    full["inputs"] = [{"topic": "in", "channel": "sms"}]
    try:
        jsonschema.validate(full, SCHEMA)
    except jsonschema.ValidationError as e:
        problems.append(f"a config with every key at its default breaks the schema: {e.message}")
    path = work / "full.yaml"
    path.write_text(yaml.safe_dump(full))
    result = subprocess.run([binary, "check-config", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        problems.append(f"a config with every key at its default fails check-config:\n{result.stderr}")


def served_metrics(binary, command="run"):
    """The /metrics page of a stage (`run` or `track`) that has just started (its broker need not exist)."""
    work = Path(tempfile.mkdtemp(prefix="dlr-reference-"))
    config = work / "config.yaml"
    config.write_text("brokers: 127.0.0.1:1\ninputs: [{topic: in}]\nmetrics: {address: 127.0.0.1:0}\nshutdown_timeout_s: 1\n"
                      f"tracking: {{metrics_address: 127.0.0.1:0, state_dir: {work / 'state'}}}\n")
    log = work / "stage.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([binary, command, "--config", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"\(port (\d+)\)", log.read_text())
            if m:
                with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=5) as r:
                    return r.read().decode()
            time.sleep(0.1)
        raise SystemExit(f"the stage never served /metrics:\n{log.read_text()}")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def metrics_reference(text):
    helps = dict(re.findall(r"^# HELP (\w+) (.*)$", text, re.M))
    types = dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.M))
    labels = {}
    for name, label_text in re.findall(r"^(\w+)\{([^}]*)\}", text, re.M):
        labels.setdefault(name, set()).update(re.findall(r'(\w+)="', label_text))
    # Per-partition families have no samples before an assignment; their help text names the labels.
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for name in helps:
        shown = ", ".join(f"`{label}`" for label in sorted(labels.get(name, ())))
        lines.append(f"| `{name}` | {types[name]} | {shown} | {helps[name]} |")
    return "\n".join(lines)


def main():
    binary = sys.argv[1]
    write = "--write" in sys.argv
    problems = []
    check_loader_agrees(binary, problems)
    generated = {"config": config_reference(), "metrics": metrics_reference(served_metrics(binary)),
                 "tracker-metrics": metrics_reference(served_metrics(binary, "track"))}
    readme = README.read_text()
    for name, (begin, end) in MARKS.items():
        if begin not in readme or end not in readme:
            problems.append(f"deploy/README.md has no {begin} ... {end} section")
            continue
        head, rest = readme.split(begin, 1)
        current, tail = rest.split(end, 1)
        wanted = "\n" + generated[name] + "\n"
        if current != wanted:
            if write:
                readme = head + begin + wanted + end + tail
            else:
                diff = "".join(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), "deploy/README.md", "generated"))
                problems.append(f"deploy/README.md's {name} reference is out of date (tests/docs/reference.py BINARY --write):\n{diff}")
    if write:
        README.write_text(readme)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"reference: config ({len(generated['config'].splitlines()) - 2} keys), stage metrics "
          f"({len(generated['metrics'].splitlines()) - 2} families) and tracker metrics "
          f"({len(generated['tracker-metrics'].splitlines()) - 2}) match deploy/README.md; loader and schema agree")


if __name__ == "__main__":
    main()
