#!/usr/bin/env python3
"""Writes the golden inputs (and each line of line-delimited ones) as a fuzzing seed corpus."""
import base64
import hashlib
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for case in sorted((Path(__file__).resolve().parents[1] / "golden").glob("*.json")):
    c = json.loads(case.read_text())
    data = base64.b64decode(c["input_base64"]) if "input_base64" in c else c["input"].encode()
    for piece in [data] + [line for line in data.split(b"\n") if line.strip() and data.count(b"\n") > 1]:
        (out / hashlib.sha1(piece).hexdigest()).write_bytes(piece)
print(len(list(out.iterdir())), "seeds in", out)
