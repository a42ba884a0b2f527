"""Markdown (GitHub-flavoured) table rendering: options, cell escaping, value formatting.

Pure Python with no WIT types, so it can be unit-tested with any CPython
(`python3 -m unittest test_markdown`).
"""

import struct

NAME = "markdown"
VERSION = "0.1.0"
MEDIA_TYPE = "text/markdown"
EXTENSIONS = ["md", "markdown"]

ALIGNMENTS = ("none", "left", "center", "right", "auto")
# (name, description, default) of every option `open` accepts.
OPTIONS = [
    (
        "align",
        "column alignment: none, left, center, right, or auto (numbers right, the rest left)",
        "none",
    ),
    ("null", "text written for null values, as is (may use Markdown, e.g. `_null_`); empty by default", None),
]

_SEPARATORS = {"none": "---", "left": ":---", "center": ":---:", "right": "---:"}

# Everything GitHub-flavoured Markdown could interpret inside a table cell: the cell delimiter,
# the backslash itself, emphasis, code, links, raw HTML, entities and strikethrough. GFM lets any
# ASCII punctuation be backslash-escaped, so each is written as `\` + the character.
_ESCAPED = "\\|`*_[]<>&~"
_ESCAPES = {ord(c): "\\" + c for c in _ESCAPED}
_ESCAPES.update({ord("\r"): "", ord("\n"): "<br>"})  # a row must stay on one line


class OptionError(Exception):
    """An unknown option or a bad value; the message names the option."""


def parse_options(pairs):
    """{'align': ..., 'null': ...} from the user's (key, value) pairs, as the Rust SDK does."""
    known = [name for name, _, _ in OPTIONS]
    values = {name: default or "" for name, _, default in OPTIONS}
    seen = set()
    for key, value in pairs:
        if key not in values:
            raise OptionError("unknown option `%s`; known options: %s" % (key, ", ".join(known)))
        if key in seen:
            raise OptionError("option `%s` given twice" % key)
        seen.add(key)
        values[key] = value
    if values["align"] not in ALIGNMENTS:
        raise OptionError(
            "option `align`: expected one of %s, got `%s`" % (", ".join(ALIGNMENTS), values["align"])
        )
    if "|" in values["null"] or "\n" in values["null"] or "\r" in values["null"]:
        raise OptionError("option `null`: must not contain `|` or a line break")
    return values


def escape(text):
    """A cell's text, escaped so it renders as itself and stays inside its cell."""
    return text.translate(_ESCAPES)


def header(names, kinds, align):
    """The header row and the delimiter row."""
    if align == "auto":
        seps = [_SEPARATORS["right" if kind in ("int", "float") else "left"] for kind in kinds]
    else:
        seps = [_SEPARATORS[align]] * len(names)
    return row([escape(name) for name in names]) + row(seps)


def row(cells):
    return "| " + " | ".join(cells) + " |\n"


def format_float32(value):
    """The shortest decimal that reads back as the same float32 (`0.1`, not `0.100000001...`)."""
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    for precision in range(1, 10):
        text = "%.*g" % (precision, value)
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
            break
    if not any(c in text for c in ".en"):  # match repr(): `2.0`, not `2`
        text += ".0"
    return text


def formatter(kind, fmt):
    """A function turning one non-null value of this column into its (unescaped) cell text."""
    if kind == "int":
        return str
    if kind == "float":
        return format_float32 if fmt == "f" else repr
    if kind == "bool":
        return lambda value: "true" if value else "false"
    return escape  # utf8
