"""Every channel the vendor delivers reports for is a valid binding, under every spelling its API
specifications use (catalog/source/channels.md, the per-channel table); a typo is refused with
the list of valid names."""
import pathlib
import re
import subprocess
import sys
import unittest

BINARY = sys.argv.pop(1)
ROOT = pathlib.Path(__file__).resolve().parents[2]
CHANNELS = ROOT / "catalog/source/channels.md"
DOC = '{"messageId":"m1","status":{"groupId":3,"id":5,"name":"DELIVERED_TO_HANDSET"}}'
MULTI_CHANNEL = ("Messages API", "OMNI failover")  # carriers: their reports name the channel


def spellings():
    """{channel row: [spellings]} from the table's 'spellings seen' column."""
    out = {}
    table = CHANNELS.read_text().split("## Per-channel delivery reports", 1)[1].split("\n## ", 1)[0]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or cells[0] in ("channel", "---") or cells[0].startswith(MULTI_CHANNEL):
            continue
        # Enum values (upper case) and path segments (lower case); not an enum's own name, an
        # endpoint or the report field `channel` a note mentions.
        names = re.findall(r"`([^`]+)`", cells[1])
        out[cells[0]] = [n for n in names if re.fullmatch(r"[A-Z0-9_]+|[a-z0-9-]+", n) and n != "channel"]
    return out


def enrich(channel):
    return subprocess.run([BINARY, "enrich", "--channel", channel], input=DOC, capture_output=True, text=True,
                          timeout=60)


class Channels(unittest.TestCase):
    def test_every_spelling_of_every_channel_is_a_binding(self):
        table = spellings()
        self.assertGreaterEqual(len(table), 18, table.keys())
        for channel, names in table.items():
            self.assertTrue(names, channel)
            for name in names:
                result = enrich(name)
                self.assertEqual(result.returncode, 0, f"{channel}: {name}: {result.stderr}")
                self.assertIn('"channelSource":"binding"', result.stdout, f"{channel}: {name}")

    def test_a_typo_is_refused_with_the_valid_names(self):
        result = enrich("tiktk")
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown channel 'tiktk'; known: sms, mms, voice", result.stderr)
        self.assertIn("tiktok", result.stderr)


if __name__ == "__main__":
    unittest.main()
