#!/usr/bin/env python3
"""Differential corpus test: `atio write INPUT OUTPUT` for every input x every built-in format,
each outcome checked by an independent reader (pyarrow; DuckDB for Parquet's temporal types).

Usage: differential.py CORPUS_DIR [--atio BIN] [--parquet-testing DIR] [--report FILE]

The rule (issue 15): a write either round-trips exactly, read back value by value, or is
refused clearly (exit 9 naming the column, or exit 10 naming the input). Each run is classified:

  exact       exit 0, the output equals the input (types per NEAREST below, values exactly)
  refused     exit 9 naming a column / exit 10 naming the input (or a column), nothing left behind
  unverified  exit 0 for an input pyarrow cannot read: nothing to compare with
  WRONG       exit 0 but the output differs from the input (types, values, names, shape)
  CRASH       exit 101, killed by a signal, "panicked" in stderr, or exit 11 (a built-in
              encoder failed: with built-in encoders the plugin is never the user's fault)
  BADMSG      exit 9/10 whose message does not name the column / input (e.g. names the output)
  BADEXIT     any other exit code (e.g. an I/O error, exit 3, for a corrupt input)
  LEFTOVER    a refused run left an output, marker or staging file, or exit 0 left staging
  MEMORY      peak RSS of the atio process above max(512 MiB, 20 x input size)
  TIMEOUT     no exit within 60 s

Exit status: 1 if any WRONG/CRASH/BADMSG/BADEXIT/LEFTOVER/MEMORY/TIMEOUT, else 0.
"""

import argparse
import calendar
import concurrent.futures
import datetime
import decimal
import json
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.ipc as ipc
import pyarrow.json as pjson
import pyarrow.parquet as pq
import pyarrow.types as pt

FORMATS = ("parquet", "arrow", "csv", "jsonl", "npy")
FAILURES = ("WRONG", "CRASH", "BADMSG", "BADEXIT", "LEFTOVER", "MEMORY", "TIMEOUT")
TIMEOUT_S = 60
MEMORY_FLOOR = 512 << 20
MEMORY_FACTOR = 20

# The ONE table of accepted "nearest types". An output column whose type differs from the
# input's is accepted only if both map to the same logical kind here; values are then compared
# in that kind's canonical form (see canon()), so a lossy change still fails on the values.
#   input type                      accepted output type              why
#   dictionary<V>, run_end<V>       V (or the same encoding)          encodings are storage details
#   large_string, string_view       string                            same values, other offsets
#   large_binary, binary_view       binary                            same
#   large_list, list_view, fixed_size_list   list (same item kind)    same
#   decimal32/64/128/256 (p, s)     any decimal                       values compared as numbers
#   float16, float32                any wider float                   widening is exact
#   timestamp[unit, tz]             timestamp[any unit, any tz]       the INSTANT must be equal;
#                                                                     naive vs zoned is not allowed
#   date32, date64                  date32 or date64                  the day must be equal
#   time32, time64                  time32 or time64                  the time must be equal
#   duration[unit]                  duration[any unit]                the length must be equal
#   null                            anything, if every value is null  (e.g. a header-only CSV)
#   extension<name, S>              the same extension only           dropping it loses meaning
#   (CSV/JSON-lines INPUT) any      string, equal to the input's text  inference is a policy: a
#                                   column left as text, unchanged, loses nothing
# Everything else must come back as the identical type.


def logical(t):
    """The logical kind of an Arrow type, per the table above."""
    if pt.is_dictionary(t):
        return logical(t.value_type)
    if pt.is_run_end_encoded(t):
        return logical(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return ("extension", t.extension_name, logical(t.storage_type))
    if pt.is_string(t) or pt.is_large_string(t) or pt.is_string_view(t):
        return "string"
    if pt.is_binary(t) or pt.is_large_binary(t) or pt.is_binary_view(t):
        return "binary"
    if pt.is_fixed_size_binary(t):
        return ("fixed_size_binary", t.byte_width)
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_list_view(t) or pt.is_large_list_view(t) or pt.is_fixed_size_list(t):
        return ("list", logical(t.value_type))
    if pt.is_map(t):
        return ("map", logical(t.key_type), logical(t.item_type))
    if pt.is_struct(t):
        return ("struct", tuple((t.field(i).name, logical(t.field(i).type)) for i in range(t.num_fields)))
    if pt.is_decimal(t):
        return "decimal"
    if pt.is_floating(t):
        return "float"
    if pt.is_timestamp(t):
        return ("timestamp", t.tz is not None)
    if pt.is_date(t):
        return "date"
    if pt.is_time(t):
        return "time"
    if pt.is_duration(t):
        return "duration"
    return str(t)


def type_problem(expected, actual):
    """None if `actual` is an accepted representation of `expected`, else a description."""
    if expected == actual or logical(expected) == logical(actual):
        if pt.is_floating(expected) and pt.is_floating(actual) and actual.bit_width < expected.bit_width:
            return f"type {expected} narrowed to {actual}"
        return None
    if pt.is_null(expected):
        return None  # accepted if every value is null: the value comparison checks that
    return f"type {expected} came back as {actual}"


# ---------------------------------------------------------------------------------------------
# Canonical values: Python values in which equal data compares equal (NaN == NaN, -0.0 != 0.0,
# instants as integer nanoseconds so no unit or zone, and no pandas rounding, is involved).
# ---------------------------------------------------------------------------------------------

NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def canon_column(column):
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values = []
    for chunk in chunks:
        values.extend(canon(chunk))
    return values


def _float(x):
    if x is None:
        return None
    return "NaN" if math.isnan(x) else repr(float(x))


def _scaled(array, storage, factor):
    return [None if v is None else v * factor for v in array.view(storage).to_pylist()]


def canon(array):
    t = array.type
    if pt.is_dictionary(t):
        return canon(array.dictionary_decode())
    if pt.is_run_end_encoded(t):
        return canon(pc.run_end_decode(array))
    if isinstance(t, pa.ExtensionType):
        return canon(array.storage)
    if pt.is_floating(t):
        if pt.is_float16(t):
            array = array.cast(pa.float32())
        return [_float(v) for v in array.to_pylist()]
    if pt.is_timestamp(t):
        return _scaled(array, pa.int64(), NS_PER[t.unit])
    if pt.is_date32(t):
        return _scaled(array, pa.int32(), 86_400_000)
    if pt.is_date64(t):
        return _scaled(array, pa.int64(), 1)
    if pt.is_time32(t):
        return _scaled(array, pa.int32(), NS_PER[t.unit])
    if pt.is_time64(t) or pt.is_duration(t):
        return _scaled(array, pa.int64(), NS_PER[t.unit])
    if pt.is_decimal(t):
        return array.to_pylist()  # Decimals compare as numbers: 1.20 == 1.2 across scales
    if pt.is_struct(t):
        fields = [canon(array.field(i)) for i in range(t.num_fields)]  # .field() honours the offset
        names = [t.field(i).name for i in range(t.num_fields)]
        valid = array.is_valid().to_pylist()
        return [tuple(zip(names, (f[row] for f in fields))) if valid[row] else None for row in range(len(array))]
    if pt.is_map(t):
        return [None if not array[i].is_valid else tuple(tuple(kv[1] for kv in entry) for entry in canon(array[i].values))
                for i in range(len(array))]
    if pt.is_list(t) or pt.is_large_list(t) or pt.is_list_view(t) or pt.is_large_list_view(t) or pt.is_fixed_size_list(t):
        return [canon(array[i].values) if array[i].is_valid else None for i in range(len(array))]
    if pt.is_binary_view(t) or pt.is_large_binary(t):
        return array.cast(pa.binary()).to_pylist()
    if pt.is_string_view(t) or pt.is_large_string(t):
        return array.cast(pa.string()).to_pylist()
    return array.to_pylist()


def first_difference(expected, actual):
    for row, (e, a) in enumerate(zip(expected, actual)):
        if e != a:
            return f"row {row}: expected {str(e)[:80]}, got {str(a)[:80]}"
    return None


def compare_tables(expected, actual, as_text=None):
    """Problems found comparing `actual` (read back) with `expected`, value by value. `as_text`:
    for a CSV/JSON-lines input, the input read with every column as string."""
    if actual.column_names != expected.column_names:
        return [f"columns {expected.column_names[:8]} came back as {actual.column_names[:8]}"]
    if actual.num_rows != expected.num_rows:
        return [f"{expected.num_rows} rows came back as {actual.num_rows}"]
    problems = []
    for i, name in enumerate(expected.column_names):
        e_col, a_col = expected.column(i), actual.column(i)
        problem = type_problem(e_col.type, a_col.type)
        if problem and as_text is not None and logical(a_col.type) == "string":
            e_col, problem = as_text.column(i), None  # left as the input's text: compare that
        if problem and as_text is not None and pt.is_timestamp(a_col.type) and a_col.type.tz is not None:
            # Text with a zone name or offset, read as the instant it names (README).
            e_vals = [instant_from_text(v) for v in as_text.column(i).to_pylist()]
            a_vals = a_col.cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_pylist()
            difference = first_difference(e_vals, a_vals)
            if difference:
                problems.append(f"column {name!r} (zoned text as instants): {difference}")
            continue
        if problem:
            problems.append(f"column {name!r}: {problem}")
            continue
        e_vals, a_vals = canon_column(e_col), canon_column(a_col)
        difference = first_difference(e_vals, a_vals)
        if difference and as_text is not None and logical(a_col.type) == "string":
            try:  # zoned text read as instants, written back as UTC text (README)
                difference = first_difference([instant_from_text(v) for v in as_text.column(i).to_pylist()],
                                              [instant_from_text(v) for v in a_col.to_pylist()])
            except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
                pass
        if difference:
            problems.append(f"column {name!r} ({e_col.type}): {difference}")
    return problems


def instant_from_text(text):
    """Nanoseconds since the epoch of "YYYY-MM-DD[T ]HH:MM:SS[.f](Z|±HH:MM| Zone/Name)"."""
    if text is None:
        return None
    text = text.strip()
    zone = None
    head, _, tail = text.rpartition(" ")
    if head and tail[:1].isalpha():
        text, zone = head, zoneinfo.ZoneInfo(tail)
    moment = datetime.datetime.fromisoformat(text.replace("z", "Z"))
    if zone is not None:
        moment = moment.replace(tzinfo=zone)
    seconds = calendar.timegm(moment.utctimetuple())
    return seconds * 10**9 + moment.microsecond * 1000


def duration_from_iso(text, unit):
    """Chrono's ISO 8601 duration text (`-PT1.5S`, `P0D`) as a count of `unit`."""
    if text is None:
        return None
    negative = text.startswith("-")
    body = text.lstrip("-")
    if body == "P0D":
        return 0
    seconds, _, fraction = body.removeprefix("PT").removesuffix("S").partition(".")
    nanos = int(seconds) * 10**9 + int((fraction + "000000000")[:9])
    count = nanos // NS_PER[unit]
    return -count if negative else count


def date_from_text(text):
    """"YYYY-MM-DD", or a midnight datetime text (how date64 is written), as days since 1970."""
    if text is None:
        return None
    day, _, time = text.partition("T")
    if time and time.strip("0:.") != "":
        raise ValueError(f"date written with a time of day: {text}")
    return (datetime.date.fromisoformat(day) - datetime.date(1970, 1, 1)).days


# ---------------------------------------------------------------------------------------------
# Independent readers.
# ---------------------------------------------------------------------------------------------


# How CSV is read, for inputs and outputs alike: only an empty unquoted field is null (pyarrow's
# default null spellings, "NaN", "null", "N/A"..., are data), and one value may be several MiB.
CSV_NULLS = {"null_values": [""], "strings_can_be_null": True, "quoted_strings_can_be_null": False}
CSV_READ = pcsv.ReadOptions(block_size=64 << 20)
JSON_READ = pjson.ReadOptions(block_size=64 << 20)


# How a CSV *input* is read: atio's reader (arrow-csv), like pandas' read_csv, takes an empty
# field as null whether it is quoted or not (README: "Arrow types and formats").
CSV_INPUT_NULLS = dict(CSV_NULLS, quoted_strings_can_be_null=True)


def read_expected(path, input_format):
    """The input as pyarrow reads it, or (None, why) if pyarrow cannot read it."""
    try:
        if input_format == "parquet":
            table = pq.ParquetFile(path).read()  # read_table refuses duplicate column names
        elif input_format == "arrow":
            with open(path, "rb") as f:
                magic = f.read(6)
            reader = ipc.open_file(path) if magic == b"ARROW1" else ipc.open_stream(path)
            table = reader.read_all()
        elif input_format == "csv":
            table = pcsv.read_csv(path, read_options=CSV_READ, parse_options=pcsv.ParseOptions(newlines_in_values=True),
                                  convert_options=pcsv.ConvertOptions(**CSV_INPUT_NULLS))
        else:
            table = pjson.read_json(path, read_options=JSON_READ)
        canon_table(table)  # pyarrow may read a type it cannot then hand to Python (intervals)
        return table, None
    except (pa.ArrowException, OSError, KeyError, ValueError, TypeError, NotImplementedError) as error:
        return None, f"{type(error).__name__}: {str(error)[:160]}"


def read_as_text(path, input_format, expected):
    """A text input with every column read as string, or None."""
    if expected is None or input_format not in ("csv", "jsonl") or expected.num_columns == 0:
        return None
    strings = {name: pa.string() for name in expected.column_names}
    try:
        if input_format == "csv":
            return pcsv.read_csv(path, read_options=CSV_READ, parse_options=pcsv.ParseOptions(newlines_in_values=True),
                                 convert_options=pcsv.ConvertOptions(column_types=strings, **CSV_INPUT_NULLS))
        schema = pa.schema([pa.field(name, pa.string()) for name in expected.column_names])
        return pjson.read_json(path, read_options=JSON_READ, parse_options=pjson.ParseOptions(explicit_schema=schema))
    except (pa.ArrowException, ValueError):
        return None  # e.g. JSON numbers cannot be read as strings: no text to compare with


def schema_names(path, input_format):
    """Column names when pyarrow reads the schema but not the values (e.g. interval types)."""
    try:
        if input_format == "arrow":
            with open(path, "rb") as f:
                is_file = f.read(6) == b"ARROW1"
            return (ipc.open_file(path) if is_file else ipc.open_stream(path)).schema.names
        if input_format == "parquet":
            return pq.read_schema(path).names
    except (pa.ArrowException, OSError, ValueError):
        pass
    return []


def canon_table(table):
    return [canon_column(c) for c in table.columns]


def plain_type(t):
    """The type a text reader should parse a column as (storage details dropped)."""
    if pt.is_dictionary(t) or pt.is_run_end_encoded(t):
        return plain_type(t.value_type)
    if pt.is_string_view(t) or pt.is_large_string(t):
        return pa.string()
    if pt.is_binary_view(t) or pt.is_large_binary(t):
        return pa.binary()
    if pt.is_float16(t):
        return pa.float32()
    if pt.is_list_view(t):
        return pa.list_(plain_type(t.value_type))
    if pt.is_large_list_view(t) or pt.is_large_list(t):  # pyarrow.json reads no large lists
        return pa.list_(plain_type(t.value_type))
    if pt.is_decimal(t) and t.scale < 0:  # pyarrow's readers reject negative scales
        return pa.decimal128(38, 0)
    return t


def read_csv_output(path, expected):
    # Column types from the input's schema where pyarrow's CSV reader can parse them (text
    # carries no types); other columns are inferred and then fail the type check unless equal.
    # An empty line is a row (a one-column row holding null). A quoted empty field ("") is an
    # empty string in a text column but may stand for null in any other: so two reads.
    if expected.num_columns == 0 and not Path(path).read_bytes().strip():
        return expected  # no columns: an empty file is the exact CSV
    names = expected.column_names
    types, decimals, dates = {}, {}, set()
    for field in expected.schema:
        t = plain_type(field.type)
        if names.count(field.name) != 1:  # column_types goes by name
            continue
        if pt.is_date(t):  # date64 is written as a midnight datetime, which pyarrow cannot parse
            types[field.name] = pa.string()
            dates.add(field.name)
        elif pt.is_decimal(t):  # pyarrow's CSV reader lacks decimal32/64/256 and negative scales
            types[field.name], decimals[field.name] = pa.string(), t
        elif pt.is_primitive(t) or pt.is_string(t) or pt.is_binary(t):
            types[field.name] = t
    parse = pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)

    def read(column_types, quoted_null):
        nulls = dict(CSV_NULLS, quoted_strings_can_be_null=quoted_null)
        return pcsv.read_csv(path, read_options=CSV_READ, parse_options=parse,
                             convert_options=pcsv.ConvertOptions(column_types=column_types, **nulls))

    table = read(types, True)
    text = [i for i, f in enumerate(table.schema)
            if (pt.is_string(f.type) or pt.is_binary(f.type)) and f.name not in decimals and f.name not in dates]
    if text:  # text columns again, "" not null; the others as strings so that nothing fails
        as_strings = {f.name: (f.type if i in text else pa.string()) for i, f in enumerate(table.schema)
                      if names.count(f.name) == 1}
        strict = read(as_strings, False)
        for i in text:
            table = table.set_column(i, table.schema.field(i).name, strict.column(i))
    for i, field in enumerate(table.schema):
        if field.name in decimals:
            table = table.set_column(i, field.name, decimal_from_text(table.column(i), decimals[field.name]))
        elif field.name in dates:
            days = [date_from_text(v) for v in table.column(i).to_pylist()]
            table = table.set_column(i, field.name, pa.array(days, pa.int32()).cast(pa.date32()))
    return table


def decimal_from_text(column, t):
    """Strings to decimals in Python: exact, and for any precision or scale (a value that does
    not fit the scale fails, as it should)."""
    scale = max(t.scale, 0)
    target = pa.decimal256(76, scale)
    return pa.array([None if v is None else decimal.Decimal(v) for v in column.to_pylist()], target)


def time_from_text(column, t):
    """"HH:MM:SS[.fraction]" to time64[ns] (pyarrow cannot cast strings to times)."""
    def parse(text):
        hms, _, fraction = text.partition(".")
        h, m, sec = (int(x) for x in hms.split(":"))
        return ((h * 60 + m) * 60 + sec) * 10**9 + int((fraction + "000000000")[:9])
    return pa.array([None if v is None else parse(v) for v in column.to_pylist()], pa.int64()).cast(pa.time64("ns"))


TEXT_PARSED_IN_JSON = (pt.is_date, pt.is_time)


def nullable(t):
    """`t` with every nested field nullable: JSON cannot say a child is required, and pyarrow
    refuses a null parent whose required child is then missing."""
    if pt.is_struct(t):
        return pa.struct([pa.field(f.name, nullable(f.type)) for f in t])
    if pt.is_list(t):
        return pa.list_(pa.field(t.value_field.name, nullable(t.value_type)))
    if pt.is_large_list(t):
        return pa.large_list(pa.field(t.value_field.name, nullable(t.value_type)))
    if pt.is_map(t):
        return pa.map_(t.key_type, pa.field(t.item_field.name, nullable(t.item_type)))
    return t


def read_jsonl_output(path, expected):
    # pyarrow.json parses numbers, strings, booleans, timestamps and decimals to an explicit
    # type; dates and times it reads as strings, which are then cast (strictly). JSON has no
    # duration: the one readable form is the integer count in the input's unit.
    if expected.num_rows == 0 and not Path(path).read_bytes().strip():
        return expected  # no rows: an empty file is the exact JSON lines
    fields, cast_later = [], {}
    for field in expected.schema:
        t = plain_type(field.type)
        if any(test(t) for test in TEXT_PARSED_IN_JSON):
            cast_later[field.name] = t
            t = pa.string()
        elif pt.is_duration(t):
            cast_later[field.name] = t
            t = pa.string()  # ISO 8601 text (README)
        if pt.is_float16(field.type) or pt.is_null(t):
            continue
        fields.append(pa.field(field.name, nullable(t)))
    options = pjson.ParseOptions(explicit_schema=pa.schema(fields) if len(set(f.name for f in fields)) == len(fields) else None,
                                 unexpected_field_behavior="infer")
    table = pjson.read_json(path, read_options=JSON_READ, parse_options=options)
    if sorted(table.column_names) == sorted(expected.column_names) and len(set(expected.column_names)) == expected.num_columns:
        # Columns left out of the explicit schema (null, float16) were appended where pyarrow
        # found them: put them back in the file's order.
        table = table.select(expected.column_names)
    for name, t in cast_later.items():
        if name in table.column_names:
            i = table.column_names.index(name)
            column = table.column(i)
            if pt.is_time(t):
                converted = time_from_text(column, t)
            elif pt.is_duration(t):
                counts = [duration_from_iso(v, t.unit) for v in column.to_pylist()]
                converted = pa.array(counts, pa.int64()).cast(t)
            elif pt.is_date(t):
                converted = pa.array([date_from_text(v) for v in column.to_pylist()], pa.int32()).cast(pa.date32())
            else:
                converted = column.cast(t)
            table = table.set_column(i, name, converted)
    return table


NPY_TYPES = (pt.is_integer, pt.is_floating, pt.is_boolean)


def npy_expected(table):
    """The array np.save would hold for `table`, or (None, why) if npy cannot hold it exactly."""
    if table.num_columns == 0:
        return None, "no columns"
    columns = [pa.chunked_array([canon_plain(c) for c in col.chunks], plain_type_npy(col.type)) for col in table.columns]
    types = {c.type for c in columns}
    if len(types) != 1 or not any(test(columns[0].type) for test in NPY_TYPES):
        return None, f"types {sorted(str(t) for t in types)}"
    if any(c.null_count for c in columns):
        return None, "nulls"
    arrays = [c.to_numpy() for c in columns]
    return (arrays[0] if len(arrays) == 1 else np.column_stack(arrays)), None


def plain_type_npy(t):
    return plain_type_npy(t.value_type) if (pt.is_dictionary(t) or pt.is_run_end_encoded(t)) else t


def canon_plain(array):
    if pt.is_dictionary(array.type):
        return array.dictionary_decode()
    if pt.is_run_end_encoded(array.type):
        return pc.run_end_decode(array)
    return array


def check_npy(path, table):
    expected, why = npy_expected(table)
    if expected is None:
        return [f"npy has no exact form for this table ({why}), yet exit 0"]
    actual = np.load(path, allow_pickle=False)
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        return [f"array {expected.dtype}{expected.shape} came back as {actual.dtype}{actual.shape}"]
    if expected.dtype.kind == "f":
        same = np.array_equal(actual, expected, equal_nan=True) and np.array_equal(np.signbit(actual), np.signbit(expected))
    else:
        same = np.array_equal(actual, expected)
    return [] if same else [f"values differ, first at {np.argwhere(actual != expected)[:1].tolist()}"]


def duckdb_temporal_problems(path, table):
    """DuckDB must see the Parquet output's timestamps/dates/times (as pyarrow reads them back)
    as such, not as BIGINT/INTEGER: that needs the Parquet logical type, not just pyarrow's
    own schema metadata."""
    try:
        import duckdb
    except ImportError:
        return []
    wanted = {}
    for field in table.schema:
        kind = logical(field.type)
        if isinstance(kind, tuple) and kind[0] == "timestamp":
            wanted[field.name] = "TIMESTAMP"
        elif kind in ("date", "time"):
            wanted[field.name] = kind.upper()
    if not wanted or len(set(table.column_names)) != len(table.column_names):
        return []
    with duckdb.connect() as con:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    types = {row[0]: row[1] for row in described}
    return [f"DuckDB reads column {name!r} as {types.get(name)}, not {want}"
            for name, want in wanted.items() if not str(types.get(name, "")).startswith(want)]


class Unverifiable(Exception):
    """pyarrow has no reader for this type in this format: the harness cannot judge the run."""


def check_output(fmt, path, expected, as_text):
    """Problems with a successful run's output, read back by an independent reader."""
    try:
        if fmt == "npy":
            return check_npy(path, expected)
        if fmt == "parquet":
            actual = pq.ParquetFile(path).read()  # read_table refuses duplicate column names
        elif fmt == "arrow":
            actual = ipc.open_file(path).read_all()
        elif fmt == "csv":
            actual = read_text_output(read_csv_output, path, expected, as_text)
        else:
            actual = read_text_output(read_jsonl_output, path, expected, as_text)
        problems = compare_tables(expected, actual, as_text)
    except pa.ArrowNotImplementedError as error:
        raise Unverifiable(str(error)[:200]) from error
    except pa.ArrowInvalid as error:
        if "couldn't parse:+" in str(error) or "couldn't parse:-" in str(error):
            # RFC 3339 text with an extended year (+52951-07-27…): exact, but beyond pyarrow's parser.
            raise Unverifiable(f"pyarrow cannot parse years beyond 9999: {str(error)[:120]}") from error
        return [f"output unreadable by pyarrow: {type(error).__name__}: {str(error)[:200]}"]
    except (pa.ArrowException, OSError, KeyError, ValueError, TypeError, NotImplementedError) as error:
        return [f"output unreadable by pyarrow: {type(error).__name__}: {str(error)[:200]}"]
    if fmt == "parquet" and not problems:
        problems = duckdb_temporal_problems(path, actual)
    return problems


def read_text_output(reader, path, expected, as_text):
    """A CSV/JSON-lines output read with the input's types; for a text input whose columns atio
    kept as text, with the input's text instead (the types were pyarrow's inference)."""
    try:
        return reader(path, expected)
    except pa.ArrowInvalid:
        if as_text is None:
            raise
        return reader(path, as_text)


# ---------------------------------------------------------------------------------------------
# Running atio and classifying one run.
# ---------------------------------------------------------------------------------------------


class Runner:
    """A small helper process (runner.py) that runs atio and measures it; one per worker."""

    def __init__(self):
        script = Path(__file__).with_name("runner.py")
        self.proc = subprocess.Popen([sys.executable, "-S", str(script)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, argv, timeout):
        self.proc.stdin.write(json.dumps({"argv": argv, "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def names_column(message, names):
    if not names:
        return True
    return any(re.search(r"[`'\"]" + re.escape(n) + r"[`'\"]|column " + re.escape(n) + r"\b", message)
               for n in names)


def classify(case, code, stderr, out_dir, output):
    """(class, detail) from an exit code, the stderr text and what was left in the output dir."""
    expected, inp = case["expected"], case["input"]
    first_line = stderr.strip().splitlines()[0][:300] if stderr.strip() else ""
    left = sorted(p.name for p in out_dir.iterdir())
    staging = [n for n in left if ".atio-" in n]
    if code == 101 or code < 0 or "panicked" in stderr or code == 11:
        return "CRASH", f"exit {code}: {last_lines(stderr)}"
    if code == 0:
        if staging:
            return "LEFTOVER", f"exit 0 left staging files {staging}"
        if expected is None:
            return "unverified", f"pyarrow cannot read the input ({case['why']})"
        try:
            problems = check_output(case["format"], output, expected, case["as_text"])
        except Unverifiable as why:
            return "unverified", f"pyarrow cannot read this type back from {case['format']}: {why}"
        return ("WRONG", "; ".join(problems)[:600]) if problems else ("exact", "")
    if code in (9, 10):
        if left:
            return "LEFTOVER", f"exit {code} left {left}"
        names_input = str(inp) in stderr
        if code == 9 and not (names_input or names_column(stderr, case["columns"])):
            return "BADMSG", f"exit 9 without naming the column: {first_line}"
        if code == 10 and not (names_input or (expected is not None and names_column(stderr, case["columns"]))):
            return "BADMSG", f"exit 10 naming neither the input nor a column: {first_line}"
        return "refused", f"exit {code}: {first_line}"
    return "BADEXIT", f"exit {code}: {first_line}"


def last_lines(text, n=3):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[:1] + lines[-n:])[:400]


def declared_size(case):
    """What a Parquet input says its data takes uncompressed (a 4 KB file may hold 2 GiB of
    strings): memory near that is what the data needs, not a reader's runaway allocation."""
    if not str(case["input"]).endswith(".parquet"):
        return 0
    try:
        metadata = pq.ParquetFile(case["input"]).metadata
        return sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    except (pa.ArrowException, OSError):
        return 0


def run_case(runner, atio, case, work):
    out_dir = Path(tempfile.mkdtemp(dir=work))
    output = out_dir / f"out.{case['format']}"
    # fsync is not under test here; --durability none keeps 2-core CI runs short.
    argv = [atio, "write", "--durability", "none", *case["extra_args"], str(case["input"]), str(output)]
    ran = runner.run(argv, TIMEOUT_S)
    code, stderr, rss, seconds, timed_out = ran["code"], ran["stderr"], ran["rss"], ran["seconds"], ran["timed_out"]
    cap = max(MEMORY_FLOOR, MEMORY_FACTOR * case["size"], 3 * declared_size(case))
    if timed_out:
        kind, detail = "TIMEOUT", f"no exit after {TIMEOUT_S} s"
    else:
        kind, detail = classify(case, code, stderr, out_dir, output)
        if rss > cap:
            detail = f"peak RSS {rss >> 20} MiB > cap {cap >> 20} MiB (run was {kind}: {detail})"
            kind = "MEMORY"
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"case": case["name"], "input": str(case["input"]), "format": case["format"], "class": kind,
            "exit": code, "detail": detail, "rss_mib": round(rss / 2**20, 1), "seconds": round(seconds, 2)}


# ---------------------------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------------------------

INPUT_FORMATS = {".parquet": "parquet", ".arrow": "arrow", ".arrows": "arrow", ".csv": "csv",
                 ".jsonl": "jsonl", ".json": "jsonl", ".encrypted": "parquet"}


def collect_inputs(corpus, parquet_testing):
    inputs, skipped = [], []
    for path in sorted(Path(corpus).iterdir()):
        inputs.append((f"gen/{path.name}", path))
    if parquet_testing:
        root = Path(parquet_testing)
        for sub in ("data", "bad_data", "shredded_variant"):
            for path in sorted((root / sub).rglob("*")):
                if not path.is_file():
                    continue
                if path.suffix not in INPUT_FORMATS:
                    skipped.append(str(path))  # Variant value blobs (.bin) and notes: not tables
                    continue
                inputs.append((f"pt/{path.relative_to(root)}", path))
    return inputs, skipped


def make_cases(name, path):
    """The five cases of one input (its expected table is held only while they run)."""
    cases = []
    input_format = INPUT_FORMATS[path.suffix]
    # `.parquet.encrypted` has no extension atio knows: say what it is, as a user would.
    extra = ["--input-format", "parquet"] if path.suffix == ".encrypted" else []
    expected, why = read_expected(path, input_format)
    columns = expected.column_names if expected is not None else schema_names(path, input_format)
    as_text = read_as_text(path, input_format, expected)
    for fmt in FORMATS:
        cases.append({"name": f"{name} -> {fmt}", "input": path, "format": fmt, "extra_args": extra,
                      "expected": expected, "why": why, "columns": columns, "as_text": as_text, "size": path.stat().st_size})
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="directory written by generate.py")
    parser.add_argument("--atio", default=os.environ.get("ATIO_BIN"), help="atio binary (default: $ATIO_BIN)")
    parser.add_argument("--parquet-testing", help="apache/parquet-testing checkout: adds data/, bad_data/, shredded_variant/")
    parser.add_argument("--report", help="write the JSON report here")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    args = parser.parse_args()
    if not args.atio:
        parser.error("pass --atio BIN or set ATIO_BIN")

    started = time.monotonic()
    inputs, skipped = collect_inputs(args.corpus, args.parquet_testing)
    runners = queue.Queue()
    for _ in range(args.workers):
        runners.put(Runner())

    def run_input(named_path):
        # One input at a time per worker: the harness holds at most `workers` inputs in memory.
        cases = [c for c in make_cases(*named_path) if not args.only or args.only in c["name"]]
        runner = runners.get()
        try:
            return [run_case(runner, args.atio, case, work) for case in cases]
        finally:
            runners.put(runner)

    with tempfile.TemporaryDirectory(prefix="atio-differential-") as work:
        with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
            results = [r for batch in pool.map(run_input, inputs) for r in batch]
    while not runners.empty():
        runners.get().close()

    order = {k: i for i, k in enumerate(FAILURES + ("unverified", "refused", "exact"))}
    for result in sorted(results, key=lambda r: (order[r["class"]], r["case"])):
        if result["class"] != "exact":
            print(f"{result['class']:10} {result['case']}: {result['detail']}")
    counts = {k: sum(r["class"] == k for r in results) for k in order}
    summary = f"{len(results)} cases: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in ("exact", "WRONG", "CRASH"))
    worst = max(results, key=lambda r: r["rss_mib"], default=None)
    print(f"skipped {len(skipped)} non-table files; peak RSS {worst and worst['rss_mib']} MiB "
          f"({worst and worst['case']}); {time.monotonic() - started:.0f} s")
    print(summary)
    if args.report:
        Path(args.report).write_text(json.dumps({"summary": summary, "counts": counts, "skipped": skipped,
                                                 "results": results}, indent=1))
    return 1 if any(counts[k] for k in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
