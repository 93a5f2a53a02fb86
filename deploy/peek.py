#!/usr/bin/env python3
"""Prints the records the stages wrote to their output topics since a time: key, outcome, what
decided it (rule, dead-letter reason or retry hint) and the input record it came from; for the
tracker's message-state records, each message's status and counts.

  deploy/peek.py --brokers 127.0.0.1:9092 --since EPOCH_MS dlr.enriched dlr.retry dlr.dlq dlr.analytics
  deploy/peek.py --brokers 127.0.0.1:9092 --since EPOCH_MS --latest dlr.message-state
"""
import argparse
import json
import uuid

from confluent_kafka import Consumer, TopicPartition


def records_since(brokers, topic, since_ms):
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "peek-" + uuid.uuid4().hex, "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    starts = consumer.offsets_for_times([TopicPartition(topic, p, since_ms) for p in partitions], timeout=10)
    wanted = {}
    for tp in starts:
        high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
        if 0 <= tp.offset < high:
            wanted[tp.partition] = (tp.offset, high)
    out = []
    if wanted:
        consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in wanted.items()])
        while wanted:
            for m in consumer.consume(1000, 2.0):
                if m.error():
                    continue
                out.append(m)
                if m.offset() + 1 >= wanted.get(m.partition(), (0, 0))[1]:
                    wanted.pop(m.partition(), None)
    consumer.close()
    return out


def describe_state(state):
    code = state["status"]["name"] or f"status {state['status']['id']}"
    if state["error"] and state["error"]["id"]:
        code += " / " + (state["error"]["name"] or f"error {state['error']['id']}")
    counts = " ".join(f"{k}={state[k]}" for k in ("reports", "duplicates", "late", "conflicts"))
    return (f"  {state['messageId'][:34]:34} {state['outcome']:10} {'final' if state['final'] else 'not final':9} "
            f"{code[:48]:48} {counts}")


def describe(m):
    try:
        state = json.loads(m.value())
        if isinstance(state, dict) and "lastReportAt" in state:
            return describe_state(state)
    except (TypeError, ValueError):
        pass
    h = {k: (v or b"").decode() for k, v in (m.headers() or [])}
    if "dlr-reason" in h:
        what = h["dlr-reason"] + (f" ({h['dlr-rule']})" if "dlr-rule" in h else "")
    elif "dlr-retry-attempt" in h:
        what = f"retry attempt {h['dlr-retry-attempt']} not before {h['dlr-retry-not-before']}"
    else:
        try:
            v = json.loads(m.value())
            what = (v.get("classification") or {}).get("rule") or v.get("rule") or ""
        except ValueError:
            what = ""
    outcome = h.get("dlr-outcome", "")
    if not outcome:
        try:
            outcome = json.loads(m.value()).get("outcome", "")
        except ValueError:
            pass
    key = (m.key() or b"-").decode(errors="replace")
    return f"  {key[:34]:34} {outcome:10} {what[:48]:48} from {h.get('dlr-source', '?')}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--since", type=int, required=True, help="epoch milliseconds")
    ap.add_argument("--latest", action="store_true", help="only the latest record per key (a compacted topic's view)")
    ap.add_argument("topics", nargs="+")
    a = ap.parse_args()
    for topic in a.topics:
        records = records_since(a.brokers, topic, a.since)
        if a.latest:
            records = list({m.key(): m for m in records if m.value() is not None}.values())
        print(f"\n== {topic}: {len(records)} record(s)")
        for m in records:
            print(describe(m))


if __name__ == "__main__":
    main()
