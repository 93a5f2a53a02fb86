#!/usr/bin/env bash
# One command on a fresh machine: installs dependencies, builds, and runs the processor on the
# shipped sample reports, printing what each report became and the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

./build/dlr-enricher catalog check
echo
echo "== deploy/samples/mixed-reports.jsonl through dlr-enricher enrich --channel sms =="
./build/dlr-enricher enrich --channel sms deploy/samples/mixed-reports.jsonl > build/quickstart-enriched.jsonl
python3 - build/quickstart-enriched.jsonl <<'PY'
import json, sys
print(f"{'messageId':26} {'outcome':10} {'rule or reason':32} retry")
for line in open(sys.argv[1]):
    r = json.loads(line)
    c = r.get("classification", {})
    retry = c.get("retry") or {}
    hint = f"after {retry['notBeforeSeconds']}s, {retry['maxAttempts']} attempts" if retry else ""
    print(f"{str(r.get('messageId', '-'))[:26]:26} {r['outcome']:10} {(c.get('rule') or r.get('reason', ''))[:32]:32} {hint}")
PY
echo
echo "Full enriched records: build/quickstart-enriched.jsonl"
