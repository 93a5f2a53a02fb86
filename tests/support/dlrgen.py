#!/usr/bin/env python3
"""Deterministic delivery-report traffic, shaped like real webhook traffic.

Same seed, same messages. Mostly SMS; webhook batches of varied sizes; mostly delivered, some
pending, a few percent failures drawn from the catalogue's real codes; a little malformed input.
Used by the integration tests and the benchmarks.

As a command: dlrgen.py --seed 7 --reports 100000 > traffic.jsonl prints one JSON object per
message: {"channel", "key", "value", "kind", "reports"} (value is the message text); with --raw,
only the values, one per line (empty messages left out).
"""
import argparse
import json
import random
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_MIX = [("sms", 0.70), ("whatsapp", 0.12), ("email", 0.10), ("voice", 0.08)]
# Shares of reports by status group, like production traffic: mostly delivered.
GROUP_MIX = [(3, 0.86), (1, 0.08), (5, 0.03), (2, 0.02), (4, 0.01)]
# Malformed messages of every kind the core rejects; `reason` is the dead-letter reason.
MALFORMED = [
    ("INVALID_JSON", lambda r: '{"results":[{"messageId":"%s","status":{"groupId":3' % r.token()),
    ("INVALID_JSON", lambda r: "not json at all " + r.token()),
    ("EMPTY_INPUT", lambda r: ""),
    ("NOT_A_REPORT", lambda r: "null"),
    ("MISSING_STATUS", lambda r: '{"hello":"%s"}' % r.token()),  # read as one report without a status
    ("RESULTS_NOT_ARRAY", lambda r: '{"results":{"messageId":"%s"}}' % r.token()),
    ("TOO_DEEP", lambda r: "[" * 100 + "]" * 100),
    ("INVALID_UTF8", lambda r: b'{"results":[{"messageId":"\xff\xfe"}]}'),
]


class Rand(random.Random):
    def token(self, n=20):
        return "".join(self.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def pick(self, mix):
        x, acc = self.random(), 0.0
        for value, share in mix:
            acc += share
            if x < acc:
                return value
        return mix[-1][0]


def load_codes():
    entries = yaml.safe_load((ROOT / "catalog" / "codes.yaml").read_text())["entries"]
    statuses = {}
    errors = []
    for e in entries:
        if e["family"] != "general":
            continue
        if e["kind"] == "status":
            statuses.setdefault(e["group_id"], []).append(e)
        else:
            errors.append(e)
    return statuses, errors


STATUSES, ERRORS = load_codes()
NO_ERROR = next(e for e in ERRORS if e["id"] == 0)
DELIVERED_TO_HANDSET = next(e for e in STATUSES[3] if e["id"] == 5)


def status_obj(e):
    return {"groupId": e["group_id"], "groupName": e["group_name"], "id": e["id"], "name": e["name"],
            "description": e["description"][:60]}


def error_obj(e):
    return {"groupId": e["group_id"], "groupName": e["group_name"], "id": e["id"], "name": e["name"],
            "description": e["description"][:60], "permanent": bool(e["permanent"])}


def report(r, channel, seq):
    group = r.pick(GROUP_MIX)
    # Most delivered reports are DELIVERED_TO_HANDSET; the other group-3 statuses are rarer.
    status = DELIVERED_TO_HANDSET if group == 3 and r.random() < 0.92 else r.choice(STATUSES[group])
    error = NO_ERROR if group in (1, 3) else r.choice([e for e in ERRORS if e["id"] != 0])
    sent = 1700000000 + seq
    rep = {"bulkId": "bulk-%d" % (seq // 100), "messageId": "m-%s-%d" % (r.token(8), seq)}
    if channel == "email":
        rep["to"] = "user%d@example.com" % seq
        rep.update({"sentAt": iso(sent), "doneAt": iso(sent + 2), "smsCount": 1,
                    "price": {"pricePerMessage": 0, "currency": "EUR"}, "sendingIp": "192.0.2.1"})
    elif channel == "voice":
        rep.update({"from": "385333444", "to": "38598%07d" % (seq % 10**7), "sentAt": iso(sent), "mccMnc": "21901",
                    "voiceCall": {"feature": "Voice-message", "duration": r.randint(1, 90), "chargedDuration": 30},
                    "price": {"pricePerSecond": 0.01, "currency": "EUR"}})
    elif channel == "whatsapp":
        rep.update({"event": "DELIVERY", "channel": "WHATSAPP", "sender": "447860099299",
                    "destination": "4179%07d" % (seq % 10**7), "sentAt": iso(sent), "doneAt": iso(sent + 5),
                    "messageCount": 1, "platform": {"entityId": "e1", "applicationId": "a1"}})
    else:
        rep.update({"to": "4179%07d" % (seq % 10**7), "sender": "InfoSMS", "sentAt": iso(sent),
                    "doneAt": iso(sent + r.randint(1, 30)), "smsCount": 1, "mccMnc": r.choice(["22801", "21901", "26201"]),
                    "price": {"pricePerMessage": round(r.uniform(0.005, 0.05), 4), "currency": "EUR"},
                    "callbackData": r.token(12)})
    rep["status"] = status_obj(status)
    rep["error"] = error_obj(error)
    return rep


def iso(seconds):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(seconds))


def batch_size(r):
    # Webhook batches: many single reports, a tail up to 50.
    x = r.random()
    if x < 0.45:
        return 1
    if x < 0.80:
        return r.randint(2, 10)
    return r.randint(11, 50)


def generate(seed, reports, malformed_share=0.01, single=False):
    """Yields dicts: channel, key (bytes), value (bytes), kind ("valid"/"malformed"), reports, reason.
    `single`: one report per message (a report object, no batch), instead of webhook batches."""
    r = Rand(seed)
    made = 0
    seq = 0
    while made < reports:
        channel = r.pick(CHANNEL_MIX)
        if r.random() < malformed_share:
            reason, make = r.choice(MALFORMED)
            value = make(r)
            value = value if isinstance(value, bytes) else value.encode()
            yield {"channel": channel, "key": ("bad-%d" % seq).encode(), "value": value, "kind": "malformed",
                   "reports": 0, "reason": reason}
            seq += 1
            continue
        n = 1 if single else min(batch_size(r), reports - made)
        results = [report(r, channel, seq + i) for i in range(n)]
        seq += n
        made += n
        body = results[0] if single else {"results": results}
        yield {"channel": channel, "key": results[0]["messageId"].encode(),
               "value": json.dumps(body, separators=(",", ":")).encode(), "kind": "valid", "reports": n,
               "reason": None, "message_ids": [x["messageId"] for x in results]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--malformed", type=float, default=0.01, help="share of messages that are malformed")
    ap.add_argument("--raw", action="store_true", help="print only the message values, one per line")
    a = ap.parse_args()
    if a.raw:
        out = sys.stdout.buffer
        for m in generate(a.seed, a.reports, a.malformed):
            if b"\n" not in m["value"] and m["value"]:
                out.write(m["value"] + b"\n")
        return
    for m in generate(a.seed, a.reports, a.malformed):
        out = {"channel": m["channel"], "key": m["key"].decode(), "value": m["value"].decode("utf-8", "replace"),
               "kind": m["kind"], "reports": m["reports"]}
        sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
