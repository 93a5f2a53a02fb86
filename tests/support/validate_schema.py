"""Validates JSON or YAML documents against a JSON Schema from schemas/.

usage: validate_schema.py SCHEMA FILE...         one document per FILE (.json, .yaml)
       validate_schema.py SCHEMA --lines FILE... one JSON document per line (JSON Lines)
Exit 0 when every document is valid; 1 with each error listed otherwise.
"""
import json
import pathlib
import sys

import jsonschema
import yaml


def load(path: pathlib.Path):
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema_path = pathlib.Path(argv[1])
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    # Schemas refer to each other by file name: resolve those from the schema's own folder.
    store = {}
    for sibling in schema_path.parent.glob("*.schema.json"):
        s = json.loads(sibling.read_text(encoding="utf-8"))
        store[s.get("$id", sibling.name)] = s
        store[sibling.name] = s
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    lines = argv[2] == "--lines"
    files = argv[3:] if lines else argv[2:]
    errors = checked = 0
    for name in files:
        path = pathlib.Path(name)
        docs = ([(i + 1, json.loads(l)) for i, l in enumerate(path.read_text(encoding="utf-8").splitlines()) if l.strip()]
                if lines else [(0, load(path))])
        for line, doc in docs:
            checked += 1
            for error in validator.iter_errors(doc):
                errors += 1
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"{name}{':' + str(line) if line else ''}: at /{where}: {error.message}", file=sys.stderr)
    print(f"{schema_path.name}: {checked} document(s) checked, {errors} error(s)")
    return 1 if errors or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
