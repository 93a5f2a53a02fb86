"""The command line's manners: --version, --help for every command (on stdout, exit 0), usage
errors that say what is wrong on a line of their own (exit 2), and the README's CLI section equal
to what the binary prints.

  test_cli_manners.py BINARY            the checks
  test_cli_manners.py BINARY --write    rewrites the README's CLI section from the binary
"""
import pathlib
import re
import subprocess
import sys
import unittest

BINARY = sys.argv.pop(1)
WRITE = "--write" in sys.argv
if WRITE:
    sys.argv.remove("--write")
ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
COMMANDS = ["run", "track", "replay", "check-config", "enrich", "catalog"]
BEGIN, END = "<!-- cli:begin -->", "<!-- cli:end -->"


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60)


def without_commit(text):
    return re.sub(r"\(commit [^)]*\)", "(commit COMMIT)", text)


def cli_section():
    """The README's CLI section, as the binary prints it."""
    parts = ["```console", "$ dlr-enricher --version", without_commit(run("--version").stdout).rstrip(),
             "$ dlr-enricher --help", run("--help").stdout.rstrip(), "```"]
    for command in COMMANDS:
        parts += ["", f"<details><summary><code>dlr-enricher {command} --help</code></summary>", "",
                  "```", run(command, "--help").stdout.rstrip(), "```", "", "</details>"]
    return "\n".join([BEGIN, *parts, END])


class Manners(unittest.TestCase):
    def test_version_names_the_build_and_its_libraries(self):
        result = run("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        version = re.search(r"project\(dlr-enricher VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text())[1]
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], rf"^dlr-enricher {re.escape(version)} \(commit ([0-9a-f]{{7,}}(-dirty)?|unknown)\)$")
        self.assertRegex(lines[1], r"^librdkafka \d+\.\d+\.\d+")
        self.assertRegex(lines[2], r"^simdjson \d+\.\d+\.\d+$")

    def test_every_command_has_help_on_stdout(self):
        for command in COMMANDS:
            for flag in ("--help", "-h"):
                result = run(command, flag)
                self.assertEqual(result.returncode, 0, f"{command} {flag}: {result.stderr}")
                self.assertEqual(result.stderr, "", command)
                self.assertTrue(result.stdout.startswith("usage"), f"{command}: {result.stdout[:80]}")
                self.assertIn("Exit:", result.stdout, command)
        self.assertEqual(run("catalog", "lookup", "--help").stdout, run("catalog", "--help").stdout)

    def test_an_unknown_option_is_named_on_a_line_of_its_own(self):
        for command in COMMANDS:
            result = run(*(["catalog", "dump"] if command == "catalog" else [command]), "--bogus")
            self.assertEqual(result.returncode, 2, command)
            first, blank, usage = result.stderr.split("\n", 2)
            self.assertEqual(first, f"dlr-enricher {command}: unknown option --bogus")
            self.assertEqual(blank, "")
            self.assertTrue(usage.startswith("usage"), usage[:80])
            self.assertTrue(result.stderr.endswith("\n"))

    def test_usage_errors_say_what_is_missing(self):
        self.assertIn("--config FILE is required", run("run").stderr)
        self.assertIn("--config FILE is required", run("track", "--brokers", "x:1").stderr)
        self.assertIn("one config FILE is expected", run("check-config").stderr)
        self.assertIn("--config FILE is required", run("replay", "--dry-run").stderr)
        config = str(ROOT / "deploy/config/local.yaml")
        self.assertIn("unknown reason 'NOPE'; one of: ", run("replay", "--config", config, "--reason", "NOPE").stderr)
        self.assertIn("--since '", run("replay", "--config", config, "--since", "yesterday").stderr)
        self.assertIn("--since must be before --until",
                      run("replay", "--config", config, "--since", "2026-12-02T00:00:00Z", "--until", "2026-12-01T00:00:00Z").stderr)
        self.assertIn("unknown subcommand 'frobnicate'", run("catalog", "frobnicate").stderr)
        for args in (["run"], ["replay"], ["check-config"], ["catalog", "frobnicate"], ["frobnicate"], []):
            self.assertEqual(run(*args).returncode, 2, args)

    def test_a_negative_answer_exits_1(self):
        self.assertEqual(run("catalog", "lookup", "--kind", "status", "--id", "999999").returncode, 1)
        self.assertEqual(run("check-config", str(ROOT / "README.md")).returncode, 1)

    def test_the_readme_shows_what_the_binary_prints(self):
        readme = README.read_text()
        start, end = readme.index(BEGIN), readme.index(END) + len(END)
        self.assertEqual(readme[start:end], cli_section(),
                         "README.md's CLI section is out of date: tests/cli/test_cli_manners.py BINARY --write")


if __name__ == "__main__":
    if WRITE:
        readme = README.read_text()
        start, end = readme.index(BEGIN), readme.index(END) + len(END)
        README.write_text(readme[:start] + cli_section() + readme[end:])
        print("README.md: CLI section written")
    else:
        unittest.main()
