"""Native unit tests of the rendering helpers: `python3 -m unittest test_markdown` (any CPython).

The component itself is tested end to end by atio's tests (tests/integration/polyglot.rs).
"""

import struct
import unittest

import arrow_ipc
import markdown


class Escaping(unittest.TestCase):
    def test_markdown_syntax_and_line_breaks_are_escaped(self):
        self.assertEqual(markdown.escape("a|b"), "a\\|b")
        self.assertEqual(markdown.escape("<b>*x*</b> & _y_"), "\\<b\\>\\*x\\*\\</b\\> \\& \\_y\\_")
        self.assertEqual(markdown.escape("back\\slash `code` [l](u) ~s~"),
                         "back\\\\slash \\`code\\` \\[l\\](u) \\~s\\~")
        self.assertEqual(markdown.escape("two\r\nlines"), "two<br>lines")

    def test_header_and_alignment(self):
        self.assertEqual(markdown.header(["a", "b"], ["int", "utf8"], "none"),
                         "| a | b |\n| --- | --- |\n")
        self.assertEqual(markdown.header(["a", "b"], ["float", "bool"], "auto"),
                         "| a | b |\n| ---: | :--- |\n")


class Floats(unittest.TestCase):
    def test_float32_is_shortest_round_trip(self):
        widen = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]
        self.assertEqual(markdown.format_float32(widen(0.1)), "0.1")
        self.assertEqual(markdown.format_float32(widen(2.0)), "2.0")
        self.assertEqual(markdown.format_float32(widen(1e20)), "1e+20")
        self.assertEqual(markdown.format_float32(float("-inf")), "-inf")


class Options(unittest.TestCase):
    def test_defaults_and_errors(self):
        self.assertEqual(markdown.parse_options([]), {"align": "none", "null": ""})
        with self.assertRaisesRegex(markdown.OptionError, "unknown option `colour`; known options: align, null"):
            markdown.parse_options([("colour", "x")])
        with self.assertRaisesRegex(markdown.OptionError, "expected one of none, left, center, right, auto, got `up`"):
            markdown.parse_options([("align", "up")])
        with self.assertRaisesRegex(markdown.OptionError, "given twice"):
            markdown.parse_options([("null", "-"), ("null", "x")])


class Ipc(unittest.TestCase):
    def test_garbage_is_invalid_not_a_crash(self):
        with self.assertRaises(arrow_ipc.Invalid):
            arrow_ipc.read_schema(b"\xff\xff\xff\xff\x10\x00\x00\x00short")
        with self.assertRaises(arrow_ipc.Invalid):
            arrow_ipc.read_schema(b"")


if __name__ == "__main__":
    unittest.main()
