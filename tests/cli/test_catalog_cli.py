"""The catalog subcommands as a user runs them: exit codes, JSON output, messages."""
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

BINARY = sys.argv.pop(1) if len(sys.argv) > 1 else "build/dlr-enricher"
ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = ROOT / "catalog/source/infobip-response-status-and-error-codes.md"


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60)


def lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


class CatalogCli(unittest.TestCase):
    def test_a_page_cut_short_is_not_imported_unless_told(self):
        with tempfile.TemporaryDirectory() as tmp:
            cut, out = pathlib.Path(tmp) / "page.md", pathlib.Path(tmp) / "codes.yaml"
            cut.write_bytes(PAGE.read_bytes()[:30_000])  # a download that failed at 30 KB
            result = run("catalog", "import", str(cut), "--output", str(out))
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertFalse(out.exists(), "a partial catalogue was written")
            self.assertIn("a table row is cut short", result.stderr)
            self.assertIn("section 'people api error codes' is missing", result.stderr)
            self.assertRegex(result.stderr, r"\d+ entries, \d+ fewer than the 500 of")
            self.assertIn("--partial", result.stderr)
            partial = run("catalog", "import", str(cut), "--output", str(out), "--partial")
            self.assertEqual(partial.returncode, 0, partial.stderr)
            self.assertTrue(out.exists())
            whole = run("catalog", "import", str(PAGE), "--output", str(out))  # replaces the partial one
            self.assertEqual(whole.returncode, 0, whole.stderr)

    def test_explain_shows_the_decision_the_rule_and_the_vendors_words(self):
        result = run("catalog", "explain", "--kind", "error", "--id", "628")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("general error 628 EC_TEMPORARY_HANDSET_FAILURE", result.stdout)
        self.assertIn("vendor's flag: permanent", result.stdout)
        self.assertIn("decision:      retryable", result.stdout)
        self.assertIn("temporary-handset-failure (overrides the vendor's flag)", result.stdout)
        self.assertIn('rests on:      "temporary handset failure"', result.stdout)

    def test_explain_shows_a_sending_window_and_dump_carries_it(self):
        result = run("catalog", "explain", "--kind", "error", "--family", "dlt", "--id", "4138")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("decision:      retryable, final; next attempt inside 10:00-21:00 Asia/Kolkata, 2 attempts in all",
                      result.stdout)
        self.assertIn('rests on:      "(9 PM to 10 AM)"', result.stdout)
        dumped = [json.loads(line) for line in run("catalog", "dump").stdout.splitlines()]
        live_chat = next(e for e in dumped if e["family"] == "live-chat" and e["id"] == 1033)
        self.assertEqual(live_chat["retry"]["window"], {"name": "working-hours", "opens": "09:00", "closes": "17:00",
                                                        "zone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"]})

    def test_the_review_report_counts_entries_without_a_flag(self):
        result = run("catalog", "review")
        self.assertIn("| dlt | error | 51 | 47 | 4 |", result.stdout)
        self.assertIn("- `dlt-default`: permanent, 47 entries", result.stdout)

    def test_explain_of_a_pair_says_which_side_decides_and_why(self):
        firm = run("catalog", "explain", "--kind", "error", "--id", "608", "--status", "87")
        self.assertEqual(firm.returncode, 0, firm.stderr)
        self.assertEqual(firm.stdout.count("the status decides: the status's rule is firm"), 2, firm.stdout)
        self.assertEqual(firm.stdout.count("report:        permanent"), 2, firm.stdout)
        explained = run("catalog", "explain", "--kind", "error", "--id", "27", "--status", "9")
        self.assertIn("the error decides: a failed status is explained by its error", explained.stdout)
        self.assertIn("report:        retryable, final; next attempt after 3600 s, 4 attempts in all", explained.stdout)
        ok = run("catalog", "explain", "--kind", "error", "--id", "0", "--status", "9")
        self.assertIn("an error of group OK reports no failure", ok.stdout)

    def test_explain_fails_on_nothing_found_and_on_bad_arguments(self):
        self.assertEqual(run("catalog", "explain", "--kind", "error", "--id", "99999").returncode, 1)
        self.assertEqual(run("catalog", "explain", "--id", "628").returncode, 2)
        self.assertEqual(run("catalog", "explain", "--kind", "status", "--id", "9", "--status", "9").returncode, 2)

    def test_the_review_report_is_current(self):
        result = run("catalog", "review")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("| 6046 | `EC_UNSOLICITED_RECIPIENT` | temporary | permanent, final |", result.stdout)
        self.assertEqual(result.stdout, (ROOT / "catalog/REVIEW.md").read_text(),
                         "catalog/REVIEW.md is out of date: dlr-enricher catalog review > catalog/REVIEW.md")

    def test_dump_has_one_entry_per_table_row_with_required_fields(self):
        result = run("catalog", "dump")
        self.assertEqual(result.returncode, 0, result.stderr)
        entries = lines(result.stdout)
        self.assertEqual(len(entries), 500)
        required = {"kind", "family", "group_id", "group_name", "id", "name", "aliases", "permanent",
                    "description", "resolution"}
        for entry in entries:
            self.assertLessEqual(required, entry.keys())

    def test_lookup_error_27_is_absent_subscriber_with_resolution(self):
        result = run("catalog", "lookup", "--kind", "error", "--id", "27")
        self.assertEqual(result.returncode, 0, result.stderr)
        [entry] = lines(result.stdout)
        self.assertEqual(entry["name"], "EC_ABSENT_SUBSCRIBER")
        self.assertIs(entry["permanent"], False)
        self.assertEqual(entry["group_id"], 1)
        self.assertIn("device is turned on", entry["resolution"])

    def test_lookup_status_87_shows_three_entries_told_apart(self):
        result = run("catalog", "lookup", "--kind", "status", "--id", "87")
        self.assertEqual(result.returncode, 0, result.stderr)
        found = {(e["family"], e["group_id"], e["name"]) for e in lines(result.stdout)}
        self.assertEqual(found, {("general", 4, "SIGNALS_BLOCKED"), ("general", 5, "SIGNALS_BLOCKED"),
                                 ("voice", 5, "REJECTED_INVALID_DELIVERY_TIME_WINDOW")})

    def test_lookup_by_name_and_narrowing(self):
        result = run("catalog", "lookup", "--name", "ec_unknown_user")
        self.assertEqual([e["id"] for e in lines(result.stdout)], [7002])
        result = run("catalog", "lookup", "--id", "87", "--family", "voice")
        self.assertEqual(len(lines(result.stdout)), 1)

    def test_lookup_without_match_says_so_and_fails(self):
        result = run("catalog", "lookup", "--kind", "error", "--id", "123456")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertIn("no catalogue entry matches id 123456, kind error", result.stderr)

    def test_lookup_rejects_bad_arguments(self):
        self.assertEqual(run("catalog", "lookup", "--family", "fax", "--id", "1").returncode, 2)
        self.assertEqual(run("catalog", "lookup", "--id", "x").returncode, 2)
        self.assertEqual(run("catalog", "lookup").returncode, 2)

    def test_import_reproduces_the_shipped_yaml(self):
        shipped = (ROOT / "catalog/codes.yaml").read_text()
        result = run("catalog", "import", str(PAGE), "--date", "2026-11-27")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, shipped)
        self.assertIn("imported 500 entries from 500 table rows", result.stderr)

    def test_diff_lists_added_removed_and_changed_entries(self):
        page = PAGE.read_text()
        edited = (page.replace("| 27   | false     | `EC_ABSENT_SUBSCRIBER`", "| 27   | true      | `EC_ABSENT_SUBSCRIBER`")
                      .replace("| 33   | false     | `EC_MESSAGE_WAITING_LIST_FULL`   | The message waiting list is full"
                               "                                                                                                                                                                       |\n", "")
                      .replace("| 4202  | true      | `EC_10DLC_LIMIT_REACHED`",
                               "| 4203  | true      | `EC_NEW_CODE`          | New. |\n| 4202  | true      | `EC_10DLC_LIMIT_REACHED`"))
        with tempfile.TemporaryDirectory() as tmp:
            new_page = pathlib.Path(tmp) / "new.md"
            new_page.write_text(edited)
            result = run("catalog", "diff", str(ROOT / "catalog/codes.yaml"), str(new_page))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("+ error general group 2 id 4203 EC_NEW_CODE", result.stdout)
        self.assertIn("- error general group 1 id 33 EC_MESSAGE_WAITING_LIST_FULL", result.stdout)
        self.assertIn("~ error general group 1 id 27 EC_ABSENT_SUBSCRIBER", result.stdout)
        self.assertIn("permanent: false", result.stdout)
        self.assertIn("1 added, 1 removed, 1 changed", result.stdout)
        same = run("catalog", "diff", str(ROOT / "catalog/codes.yaml"), str(PAGE))
        self.assertEqual(same.returncode, 0, same.stdout + same.stderr)

    def test_broken_catalogue_lists_every_problem_and_fails(self):
        with tempfile.TemporaryDirectory() as tmp:
            codes = pathlib.Path(tmp) / "codes.yaml"
            codes.write_text("source: {date: \"2026-01-01\"}\nentries:\n"
                             "  - {kind: error, family: fax, id: 1, name: A, description: x}\n"
                             "  - {kind: error, family: general, id: two, name: B, description: x}\n")
            result = run("catalog", "check", "--codes", str(codes))
        self.assertEqual(result.returncode, 1)
        self.assertIn("codes.yaml:3: unknown family 'fax'", result.stderr)
        self.assertIn("codes.yaml:4: field 'id' must be an integer", result.stderr)


if __name__ == "__main__":
    unittest.main()
