"""check-config as an operator runs it: the example passes, every problem is listed with its line."""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

BINARY = sys.argv.pop(1)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def check(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "c.yaml"
        path.write_text(text)
        return subprocess.run([BINARY, "check-config", str(path)], capture_output=True, text=True, timeout=60)


class CheckConfig(unittest.TestCase):
    def test_the_example_config_is_valid(self):
        result = subprocess.run([BINARY, "check-config", str(ROOT / "deploy/config/local.yaml")],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("config OK", result.stderr)
        self.assertIn("{topic: dlr.in.whatsapp, channel: whatsapp}", result.stdout)
        self.assertIn("invalid: [dead_letter]", result.stdout)

    def test_every_problem_is_listed_with_its_line(self):
        result = check("brokers: 127.0.0.1:9092\n"
                       "inputs:\n"
                       "  - {topic: a, channel: fax}\n"
                       "  - {topic: a, channel: sms}\n"
                       "routing:\n"
                       "  invalid: [enriched]\n"
                       "  delivered: [somewhere]\n"
                       "colour: blue\n"
                       "shutdown_timeout_s: soon\n")
        self.assertEqual(result.returncode, 1)
        err = result.stderr
        self.assertIn("c.yaml:3: unknown channel 'fax'", err)
        self.assertIn("c.yaml:4: topic 'a' is bound twice", err)
        self.assertIn("c.yaml:6: routing.invalid must include dead_letter", err)
        self.assertIn("c.yaml:7: unknown destination", err)
        self.assertIn("c.yaml:8: unknown key 'colour'", err)
        self.assertIn("c.yaml:9: shutdown_timeout_s must be a whole number", err)
        self.assertIn("6 problem(s)", err)

    def test_output_headers_and_the_transaction_period_are_read_and_bounded(self):
        base = "inputs: [{topic: in, channel: sms}]\n"
        result = check(base + "outputs: {source_headers: true}\nprocessing: {guarantee: exactly_once, transaction_ms: 500}\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("source_headers: true", result.stdout)
        self.assertIn("transaction_ms: 500", result.stdout)
        defaults = check(base)
        self.assertIn("source_headers: false", defaults.stdout)
        self.assertIn("transaction_ms: 100", defaults.stdout)
        # Past 5 s the broker's transaction timeout (10 s) comes too close.
        result = check(base + "processing: {transaction_ms: 20000}\noutputs: {source_headers: sometimes}\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("c.yaml:2: processing.transaction_ms", result.stderr)
        self.assertIn("c.yaml:3: outputs.source_headers", result.stderr)

    def test_secrets_are_shown_redacted(self):
        result = check("inputs: [{topic: in, channel: sms}]\n"
                       "kafka:\n  common:\n    sasl.username: svc\n    sasl.password: hunter2\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('sasl.password: "***"', result.stdout)
        self.assertNotIn("hunter2", result.stdout + result.stderr)
        self.assertIn("sasl.username: svc", result.stdout)

    def test_the_example_shows_where_the_password_goes_redacted(self):
        env = dict(os.environ, DLR_KAFKA_PASSWORD="example-secret")
        result = subprocess.run([BINARY, "check-config", str(ROOT / "deploy/config/local.yaml")],
                                capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('sasl.password: "***"  # from ${env:DLR_KAFKA_PASSWORD:-}', result.stdout)
        self.assertNotIn("example-secret", result.stdout + result.stderr)

    def test_secrets_come_from_the_environment_or_a_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            (pathlib.Path(tmp) / "secret").write_text("from-a-file\n")
            path = pathlib.Path(tmp) / "c.yaml"
            path.write_text("inputs: [{topic: in}]\n"
                            "kafka:\n  common:\n    sasl.password: ${env:DLR_TEST_SECRET}\n"
                            "  producer:\n    ssl.key.password: ${file:secret}\n"
                            "  consumer:\n    client.id: ${env:DLR_TEST_UNSET:-fallback}\n")
            env = dict(os.environ, DLR_TEST_SECRET="from-the-env")
            env.pop("DLR_TEST_UNSET", None)
            result = subprocess.run([BINARY, "check-config", str(path)], capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            out = result.stdout
            self.assertIn('sasl.password: "***"  # from ${env:DLR_TEST_SECRET}', out)
            self.assertIn('ssl.key.password: "***"  # from ${file:secret}', out)
            self.assertIn("client.id: fallback", out)
            self.assertNotIn("from-the-env", out + result.stderr)
            self.assertNotIn("from-a-file", out + result.stderr)

            env.pop("DLR_TEST_SECRET")
            (pathlib.Path(tmp) / "secret").unlink()
            result = subprocess.run([BINARY, "check-config", str(path)], capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(result.returncode, 1)
            self.assertIn("c.yaml:4: kafka.common.sasl.password refers to environment variable 'DLR_TEST_SECRET', which is not set",
                          result.stderr)
            self.assertIn("kafka.producer.ssl.key.password refers to file", result.stderr)
            self.assertIn("2 problem(s)", result.stderr)

    def test_a_broken_catalogue_makes_the_config_invalid(self):
        result = check("inputs: [{topic: in}]\ncatalog: {codes: /nonexistent/codes.yaml}\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot open /nonexistent/codes.yaml", result.stderr)

    def test_run_without_config_is_a_usage_error(self):
        self.assertEqual(subprocess.run([BINARY, "run"], capture_output=True, timeout=60).returncode, 2)


if __name__ == "__main__":
    unittest.main()
