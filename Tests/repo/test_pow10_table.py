"""The shortest-digits formatter's power-of-ten table (Sources/Plugins/Core/ShortestDouble+Table.swift) is exactly
what its generator, bootstrap/pow10-table, writes from the table's definition: nobody edited a row by hand."""
import pathlib
import subprocess
import sys
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]


class PowersOfTenTableTests(unittest.TestCase):
    def test_the_checked_in_table_is_the_generated_one(self):
        generated = subprocess.run([sys.executable, str(ROOT / "bootstrap/pow10-table")], capture_output=True, text=True, check=True).stdout
        checked_in = (ROOT / "Sources/Plugins/Core/ShortestDouble+Table.swift").read_text()
        self.assertEqual(generated, checked_in)

    def test_rows_follow_the_definition(self):
        text = (ROOT / "Sources/Plugins/Core/ShortestDouble+Table.swift").read_text()
        rows = [line for line in text.splitlines() if line.strip().startswith("0x")]
        self.assertEqual(len(rows), 292 + 324 + 1)
        # k = 0: 10^0 = 2^125 * 2^-125, so g = 2^125 + 1: upper 63 bits 2^62, lower 1.
        self.assertIn("0x4000000000000000, 0x0000000000000001,  // 0", text)
        # k = -1: 10 = (10 * 2^121) * 2^-121 with 2^124 < 10 * 2^121 < 2^125, so beta = 10 * 2^122 (scaled into range).
        beta = 10 * 2 ** 122
        g = beta + 1
        self.assertIn(f"0x{g >> 63:016X}, 0x{g & (2 ** 63 - 1):016X},  // -1", text)


if __name__ == "__main__":
    unittest.main()
