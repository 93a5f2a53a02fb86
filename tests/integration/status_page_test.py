#!/usr/bin/env python3
"""The live status page in a real headless browser (Debian's Chromium) while the stage runs on
the real broker: after a mix of delivered, pending, undeliverable (with a known and an unknown
error code) and invalid reports, every
figure the page shows (each element with data-metric) equals the same series in /metrics, the
verdict, error code and lag tables list every series, and the top reasons are the non-zero ones. Writes a
screenshot of the page.

  status_page_test.py BINARY [--screenshot PATH]   (default: status-page.png in the current folder)
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stage as kafka  # noqa: E402

REPORTS = {  # status and error of one report: how many messages carry them
    ('{"groupId":3,"groupName":"DELIVERED","id":5,"name":"DELIVERED_TO_HANDSET"}',
     '{"groupId":0,"groupName":"OK","id":0,"name":"NO_ERROR"}'): 60,
    ('{"groupId":1,"groupName":"PENDING","id":7,"name":"PENDING_ENROUTE"}', "null"): 25,
    ('{"groupId":2,"groupName":"UNDELIVERABLE","id":4,"name":"UNDELIVERABLE_REJECTED_OPERATOR"}',
     '{"groupId":1,"groupName":"HANDSET_ERRORS","id":7002,"name":"EC_UNKNOWN_USER"}'): 10,
    ('{"groupId":2,"groupName":"UNDELIVERABLE","id":4,"name":"UNDELIVERABLE_REJECTED_OPERATOR"}',
     '{"groupId":1,"groupName":"HANDSET_ERRORS","id":987654,"name":"NOT_IN_THE_CATALOGUE"}'): 4,
}
INVALID = [b'{"results":[{"messageId":"x","status":{"groupId":3', b"not json", b'{"results":[{"messageId":"y"}]}']


def browser_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    kafka.fail("no Chromium found: deploy/setup.sh chromium")


def browse(url, *options):
    """Loads the page headless, lets its scripts run for a few (virtual) seconds; stdout."""
    profile = tempfile.mkdtemp(prefix="dlr-chromium-")
    try:
        done = subprocess.run([browser_binary(), "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}",
                               "--virtual-time-budget=6000", *options, url],
                              capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        kafka.fail(f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout


class Figures(HTMLParser):
    """Text of every element with data-metric, by its series; the tables each row sits in."""

    def __init__(self):
        super().__init__()
        self.figures, self.tables, self.loaded = {}, {}, False
        self._open, self._table = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("data-loaded") == "true":
            self.loaded = True
        if tag == "table" and "id" in a:
            self._table = a["id"]
        if "data-metric" in a:
            self._open = a["data-metric"]
            self.figures[self._open] = ""
            if self._table:
                self.tables.setdefault(self._table, []).append(self._open)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        if tag in ("td", "b"):
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.figures[self._open] += data


def value_of(text):
    text = text.strip().replace(",", "")
    return None if text in ("", "-") else float(text)


def main():
    binary = sys.argv[1]
    shot = Path(sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else "status-page.png")
    topics = kafka.Topics(["sms"])
    stage = kafka.Stage(binary, topics, name="status-page")
    stage.wait_ready()
    messages = []
    n = 0
    for (status, error), count in REPORTS.items():
        for _ in range(count):
            n += 1
            body = '{"results":[{"messageId":"m-%d","status":%s,"error":%s}]}' % (n, status, error)
            messages.append(("sms", None, body.encode(), None))
    messages += [("sms", None, bad, None) for bad in INVALID]
    kafka.produce(topics.inputs, messages)
    kafka.wait_consumed([stage], len(messages))

    before = stage.metrics()
    page = Figures()
    page.feed(browse(f"http://127.0.0.1:{stage.port}/", "--dump-dom"))
    after = stage.metrics()
    if not page.loaded:
        kafka.fail("the page never loaded /metrics")
    wrong = []
    for series, text in page.figures.items():
        shown = value_of(text)
        low, high = sorted((before.get(series, float("nan")), after.get(series, float("nan"))))
        # A gauge may move between the two scrapes; the page read it in between.
        if shown is None or not (low - 0.05 <= shown <= high + 0.05):
            wrong.append(f"{series}: page {text!r}, /metrics {before.get(series)} .. {after.get(series)}")
    verdict_series = sorted(k for k in after if k.startswith("dlr_reports_total{"))
    if sorted(page.tables.get("verdicts", [])) != verdict_series:
        wrong.append(f"verdict rows {page.tables.get('verdicts')} != {verdict_series}")
    reasons = sorted((k for k in after if k.startswith("dlr_reason_total{") and after[k] > 0),
                     key=lambda k: -after[k])[:10]
    if sorted(page.tables.get("reasons", [])) != sorted(reasons):
        wrong.append(f"reason rows {page.tables.get('reasons')} != {reasons}")
    error_series = sorted(k for k in after if k.startswith("dlr_error_reports_total{"))
    if sorted(page.tables.get("errors", [])) != error_series or len(error_series) != 2:
        wrong.append(f"error code rows {page.tables.get('errors')} != {error_series} (two codes sent)")
    lag_series = sorted(k for k in after if k.startswith("dlr_consumer_lag{"))
    if sorted(page.tables.get("lag", [])) != lag_series:
        wrong.append(f"lag rows {page.tables.get('lag')} != {lag_series}")
    delivered = value_of(page.figures.get('dlr_reports_total{verdict="delivered"}', ""))
    if delivered != REPORTS[next(iter(REPORTS))]:
        wrong.append(f"delivered shown {delivered}, sent {REPORTS[next(iter(REPORTS))]}")
    if wrong:
        kafka.fail("the page does not show what /metrics says:\n  " + "\n  ".join(wrong))

    shot.unlink(missing_ok=True)
    browse(f"http://127.0.0.1:{stage.port}/", f"--screenshot={shot.resolve()}", "--window-size=1180,640",
           "--hide-scrollbars")
    if not shot.exists() or shot.stat().st_size < 10_000:
        kafka.fail(f"no screenshot written to {shot}")
    code, _ = stage.stop()
    print(f"status page: {len(page.figures)} figures match /metrics "
          f"({json.dumps({k: page.figures[k] for k in verdict_series})}); screenshot {shot}")
    sys.exit(0 if code == 0 else 1)


if __name__ == "__main__":
    main()
