"""Golden cases: every file in this folder is {description, channel, input | input_base64, expected}.
A case may name a `twin` (another case holding the same document in another form: XML and JSON);
both must then give exactly the same records.

  golden.py BINARY check     run each case through `dlr-enricher enrich`, compare with `expected`,
                             and validate every output record against the schemas
  golden.py BINARY update    rewrite `expected` from the current output (review the diff!)
The catalogue version is replaced by <catalog-version> so that a catalogue edit does not touch
every case; outcomes and texts still do.
"""
import base64
import json
import pathlib
import re
import subprocess
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests/support"))
VERSION = re.compile(r"\d{4}-\d{2}-\d{2}\+[0-9a-f]{12}")


def load_schema(name):
    import jsonschema
    store = {}
    for path in (ROOT / "schemas").glob("*.schema.json"):
        s = json.loads(path.read_text())
        store[s["$id"]] = s
        store[path.name] = s
    schema = store[name]
    return jsonschema.Draft202012Validator(schema, resolver=jsonschema.RefResolver.from_schema(schema, store=store))


def run(binary, case, analytics=False):
    data = base64.b64decode(case["input_base64"]) if "input_base64" in case else case["input"].encode()
    args = [binary, "enrich"] + (["--channel", case["channel"]] if case.get("channel") else [])
    args += ["--analytics"] if analytics else []
    result = subprocess.run(args, input=data, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr.decode()}")
    text = VERSION.sub("<catalog-version>", result.stdout.decode())
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def actual(binary, case):
    return {"enriched": run(binary, case), "analytics": run(binary, case, analytics=True)}


class Golden(unittest.TestCase):
    binary = None

    def test_cases(self):
        enriched = load_schema("enriched-report.schema.json")
        invalid = load_schema("invalid-record.schema.json")
        analytics = load_schema("analytics-record.schema.json")
        report_input = load_schema("delivery-report.schema.json")
        cases = sorted(HERE.glob("*.json"))
        self.assertGreater(len(cases), 20)
        for path in cases:
            with self.subTest(case=path.name):
                case = json.loads(path.read_text())
                if path.name.startswith(("sample-", "policy-", "shape-", "unknown-", "mismatch-")):
                    errors = [e.message for e in report_input.iter_errors(json.loads(case["input"]))]
                    self.assertEqual(errors, [], f"{path.name}: input does not match delivery-report.schema.json")
                got = actual(self.binary, case)
                self.assertEqual(got, case["expected"], f"{path.name}: {case['description']}")
                if "twin" in case:
                    twin = json.loads((HERE / case["twin"]).read_text())
                    self.assertEqual(got, actual(self.binary, twin), f"{path.name}: differs from its twin {case['twin']}")
                for record in got["enriched"]:
                    schema = invalid if record["outcome"] in ("invalid", "skipped") else enriched
                    errors = [e.message for e in schema.iter_errors(json.loads(json.dumps(record).replace("<catalog-version>", "2026-01-01+000000000000")))]
                    self.assertEqual(errors, [], f"{path.name}: {record}")
                for record in got["analytics"]:
                    errors = [e.message for e in analytics.iter_errors(record)]
                    self.assertEqual(errors, [], f"{path.name}: {record}")


def main():
    binary, command = sys.argv[1], sys.argv[2]
    if command == "update":
        for path in sorted(HERE.glob("*.json")):
            case = json.loads(path.read_text())
            case["expected"] = actual(binary, case)
            path.write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n")
            outcomes = [r["outcome"] + ("/" + r.get("classification", {}).get("rule", r.get("reason", "")))
                        for r in case["expected"]["enriched"]]
            print(f"{path.name:55} {', '.join(outcomes)}")
        return 0
    Golden.binary = binary
    suite = unittest.TestLoader().loadTestsFromTestCase(Golden)
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
