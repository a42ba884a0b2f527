#!/usr/bin/env python3
"""Generates the input corpus for the differential test (tests/corpus/differential.py).

Usage: generate.py OUT_DIR

Writes into OUT_DIR:
  * one Arrow IPC file (`NAME.arrow`) per table below, and `NAME.parquet` where pyarrow can
    write it (unions, for one, it cannot: no Parquet file then);
  * hand-made IPC streams (`NAME.arrows`) that pyarrow cannot write: a big-endian stream and
    the year-month / day-time interval types;
  * CSV and JSON-lines edge cases written as raw bytes (`NAME.csv`, `NAME.jsonl`).

Tables are small on purpose (a few rows, nulls in every column that can hold one): the point is
to cover every type and edge shape, not volume. One concern per table, so that a refusal of one
type does not hide the outcome of another.
"""

import datetime as dt
import decimal
import struct
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

D = decimal.Decimal
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# ---------------------------------------------------------------------------------------------
# Arrow tables, one function per concern. Each returns a pa.Table (or a list of batches).
# ---------------------------------------------------------------------------------------------


def t_integers():
    cols = {}
    for bits in (8, 16, 32, 64):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        cols[f"i{bits}"] = pa.array([lo, hi, 0, None, -1], getattr(pa, f"int{bits}")())
        cols[f"u{bits}"] = pa.array([0, 2**bits - 1, 1, None, 7], getattr(pa, f"uint{bits}")())
    return pa.table(cols)


def t_floats():
    values = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, None, 1.5]
    f64 = values + [np.finfo(np.float64).max, 5e-324]
    f32 = values + [float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny)]
    return pa.table({"f32": pa.array(f32, pa.float32()), "f64": pa.array(f64, pa.float64())})


def t_float16():
    values = np.array([0.5, -0.0, np.inf, -np.inf, np.nan, 65504.0, 6.0e-8], dtype=np.float16)
    return pa.table({"h": pa.array(values, pa.float16())})


def t_bool():
    return pa.table({"b": pa.array([True, False, None, True])})


TEXTS = ["plain", "", None, "comma, \"quote\"", "line\nbreak\r\nend", "tab\tx", "ünïcødé 日本 🎉", "\x00nul"]


def t_strings():
    return pa.table({
        "s": pa.array(TEXTS, pa.string()),
        "ls": pa.array(TEXTS, pa.large_string()),
    })


def t_string_view():
    return pa.table({"sv": pa.array(TEXTS + ["a longer string than twelve bytes"], pa.string_view())})


BLOBS = [b"\x00\x01\xff", b"", None, b"text", bytes(range(256))]


def t_binary():
    return pa.table({
        "bin": pa.array(BLOBS, pa.binary()),
        "lbin": pa.array(BLOBS, pa.large_binary()),
        "fsb": pa.array([b"abcd", b"\x00\x00\x00\x00", None, b"\xff\xfe\xfd\xfc", b"1234"], pa.binary(4)),
    })


def t_binary_view():
    return pa.table({"bv": pa.array(BLOBS, pa.binary_view())})


def t_huge_string():
    # A 3 MiB cell: CSV/JSON writers must not truncate or split it.
    return pa.table({"id": [1, 2], "big": ["x" * (3 << 20), "é" * 1000]})


# Instants chosen around edges: the epoch, before 1970, a DST change in Paris, a leap day.
INSTANTS = [
    dt.datetime(1970, 1, 1),
    dt.datetime(1969, 12, 31, 23, 59, 59),
    dt.datetime(2024, 3, 31, 1, 30, 0),
    dt.datetime(2024, 2, 29, 12, 0, 0, 123456),
    None,
]
UNITS = ("s", "ms", "us", "ns")


def _timestamps(tz):
    epoch = dt.datetime(1970, 1, 1)
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
    cols = {}
    for unit in UNITS:
        raw = []
        for instant in INSTANTS:
            if instant is None:
                raw.append(None)
                continue
            delta = instant - epoch
            micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
            raw.append(micros * per_second[unit] // 10**6)
        # Sub-unit digits a coarse unit cannot hold are dropped by the // above, on purpose.
        if unit == "ns":
            raw[0] = 1  # one nanosecond after the epoch: a nanosecond digit that must survive
        cols[f"ts_{unit}"] = pa.array(raw, pa.int64()).cast(pa.timestamp(unit, tz))
    return pa.table(cols)


def t_ts_naive():
    return _timestamps(None)


def t_ts_utc():
    return _timestamps("UTC")


def t_ts_paris():
    return _timestamps("Europe/Paris")


def t_ts_offset():
    return _timestamps("+05:30")


def t_ts_far():
    # Far instants: year 1 and year 9999 fit timestamp[us] and [s] but not [ns].
    return pa.table({
        "us": pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), None], pa.timestamp("us")),
        "s_utc": pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31), None], pa.timestamp("s", "UTC")),
    })


def t_ts_ns_extremes():
    # Nanosecond timestamps near both ends of int64 (1677 and 2262). The very ends themselves
    # are not used: pyarrow's own CSV reader cannot parse them back.
    edge = pa.array([dt.datetime(1677, 9, 22, 0, 0, 0, 1), dt.datetime(2262, 4, 11, 23, 47, 16, 854775), None], pa.timestamp("ns"))
    return pa.table({"ns": pc.add(edge.cast(pa.int64()), pa.array([7, 807, None], pa.int64())).cast(pa.timestamp("ns"))})


def t_dates():
    days = [dt.date(1970, 1, 1), dt.date(1900, 2, 28), dt.date(2024, 2, 29), None, dt.date(9999, 12, 31), dt.date(1, 1, 1)]
    return pa.table({"d32": pa.array(days, pa.date32()), "d64": pa.array(days, pa.date64())})


def t_times():
    return pa.table({
        "t32s": pa.array([0, 86399, None, 3600], pa.int32()).cast(pa.time32("s")),
        "t32ms": pa.array([0, 86399999, None, 1], pa.int32()).cast(pa.time32("ms")),
        "t64us": pa.array([0, 86399999999, None, 1], pa.int64()).cast(pa.time64("us")),
        "t64ns": pa.array([0, 86399999999999, None, 1], pa.int64()).cast(pa.time64("ns")),
    })


def t_durations():
    return pa.table({f"d_{u}": pa.array([0, -1, 86400, None, 1234567], pa.int64()).cast(pa.duration(u)) for u in UNITS})


def t_duration_extremes():
    return pa.table({f"d_{u}": pa.array([INT64_MIN, INT64_MAX, None], pa.int64()).cast(pa.duration(u)) for u in ("s", "ns")})


def t_interval_mdn():
    values = [pa.MonthDayNano([1, 2, 3]), pa.MonthDayNano([-1, -15, -(10**9)]), None,
              pa.MonthDayNano([2**31 - 1, -(2**31), INT64_MAX])]
    return pa.table({"mdn": pa.array(values, pa.month_day_nano_interval())})


def t_decimal_small():
    return pa.table({
        "d32": pa.array([D("1234567.89"), D("-0.01"), None, D("9999999.99")], pa.decimal32(9, 2)),
        "d64": pa.array([D("12345678901234.5678"), D("-1.0000"), None, D("0")], pa.decimal64(18, 4)),
    })


def t_decimal_big():
    return pa.table({
        "d128": pa.array([D("1234567890123456789012345678.0123456789"), D("-" + "9" * 28 + ".9999999999"), None,
                          D("0E-10")], pa.decimal128(38, 10)),
        "d256": pa.array([D("9" * 56 + "." + "9" * 20), D("-1." + "0" * 20), None, D("0E-20")], pa.decimal256(76, 20)),
    })


def t_decimal_negative_scale():
    return pa.table({"dneg": pa.array([D("1.2E+5"), D("-3E+3"), None], pa.decimal128(5, -3))})


def _dictionary(values, value_type):
    """A dictionary column whose dictionary holds a null AND whose indices hold a null."""
    dictionary = pa.array(values, value_type)
    null_at = values.index(None)
    indices = pa.array([0, null_at, None, 1, 0, null_at], pa.int32())
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def t_dict_string():
    return pa.table({"ds": _dictionary(["red", None, "green"], pa.string())})


def t_dict_int():
    return pa.table({"di": _dictionary([10, None, -7], pa.int64())})


def t_dict_float():
    return pa.table({"df": _dictionary([1.5, None, float("nan")], pa.float64())})


def t_dict_date():
    return pa.table({"dd": _dictionary([dt.date(2024, 1, 1), None, dt.date(1969, 7, 20)], pa.date32())})


def t_dict_binary():
    return pa.table({"db": _dictionary([b"\x00\xff", None, b"abc"], pa.binary())})


def t_dict_large_string_int8_index():
    dictionary = pa.array(["a", "b", None], pa.large_string())
    return pa.table({"dl": pa.DictionaryArray.from_arrays(pa.array([2, None, 0, 1], pa.int8()), dictionary)})


def t_lists():
    return pa.table({
        "l": pa.array([[1, None, 3], [], None, [INT64_MAX]], pa.list_(pa.int64())),
        "ll": pa.array([["a", None], [], None, ["日本"]], pa.large_list(pa.string())),
        "fsl": pa.array([[1.0, 2.0, 3.0], None, [float("nan"), -0.0, None], [0.0, 0.0, 0.0]], pa.list_(pa.float64(), 3)),
    })


def t_list_view():
    return pa.table({
        "lv": pa.array([[1, None], [], None, [4, 5, 6]], pa.list_view(pa.int32())),
        "llv": pa.array([["x"], None, [], ["y", None]], pa.large_list_view(pa.string())),
    })


def t_nested_lists():
    return pa.table({"ll": pa.array([[[1], [], None], None, [[2, 3]]], pa.list_(pa.list_(pa.int16())))})


def t_structs():
    inner = pa.struct([("x", pa.int32()), ("y", pa.string())])
    outer = pa.struct([("a", pa.float64()), ("inner", inner), ("ts", pa.timestamp("ms", "UTC"))])
    values = [
        {"a": 1.5, "inner": {"x": 1, "y": "one"}, "ts": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)},
        {"a": None, "inner": None, "ts": None},
        None,
        {"a": float("nan"), "inner": {"x": None, "y": ""}, "ts": dt.datetime(1960, 1, 1, tzinfo=dt.timezone.utc)},
    ]
    return pa.table({"st": pa.array(values, outer)})


def t_list_of_structs():
    item = pa.struct([("k", pa.string()), ("v", pa.int64())])
    return pa.table({"ls": pa.array([[{"k": "a", "v": 1}, None], [], None, [{"k": None, "v": None}]], pa.list_(item))})


def t_maps():
    return pa.table({
        "m": pa.array([[("a", 1), ("b", None)], [], None, [("c", 3)]], pa.map_(pa.string(), pa.int64())),
        "m_struct_values": pa.array([[(1, {"x": 1})], [(2, None)], None, []], pa.map_(pa.int32(), pa.struct([("x", pa.int8())]))),
    })


def t_union_sparse():
    types = pa.array([0, 1, 0, 1], pa.int8())
    children = [pa.array([1, None, 3, None], pa.int64()), pa.array([None, "b", None, None], pa.string())]
    return pa.table({"u": pa.UnionArray.from_sparse(types, children, ["i", "s"])})


def t_union_dense():
    types = pa.array([0, 1, 1, 0], pa.int8())
    offsets = pa.array([0, 0, 1, 1], pa.int32())
    children = [pa.array([7, None], pa.int64()), pa.array(["x", "y"], pa.string())]
    return pa.table({"u": pa.UnionArray.from_dense(types, offsets, children, ["i", "s"])})


def t_run_end_encoded():
    return pa.table({
        "ree_s": pa.RunEndEncodedArray.from_arrays(pa.array([2, 3, 6], pa.int32()), pa.array(["x", None, "z"])),
        "ree_f": pa.RunEndEncodedArray.from_arrays(pa.array([1, 6], pa.int64()), pa.array([1.5, float("nan")])),
    })


def t_null_type():
    return pa.table({"n": pa.nulls(3), "i": [1, 2, 3]})


def t_uuid():
    values = [b"\x12\x34\x56\x78" * 4, None, b"\x00" * 16]
    return pa.table({"id": pa.ExtensionArray.from_storage(pa.uuid(), pa.array(values, pa.binary(16)))})


def t_empty_batches():
    schema = pa.schema([("i", pa.int64()), ("s", pa.string())])
    batches = [
        pa.record_batch([pa.array([], pa.int64()), pa.array([], pa.string())], schema=schema),
        pa.record_batch([pa.array([1, 2]), pa.array(["a", None])], schema=schema),
        pa.record_batch([pa.array([], pa.int64()), pa.array([], pa.string())], schema=schema),
        pa.record_batch([pa.array([3]), pa.array(["c"])], schema=schema),
    ]
    return pa.Table.from_batches(batches, schema)


def t_zero_rows():
    schema = pa.schema([("i", pa.int64()), ("f", pa.float64()), ("s", pa.string()), ("ts", pa.timestamp("us", "UTC"))])
    return schema.empty_table()


def t_zero_rows_i32():
    # One numeric column and no rows: an npy array of shape (0,).
    return pa.table({"x": pa.array([], pa.int32())})


def t_zero_columns():
    return pa.table({})


def t_duplicate_names():
    return pa.Table.from_arrays([pa.array([1, 2]), pa.array(["x", "y"])], names=["a", "a"])


def t_matrix_f64():
    # Same-typed numeric columns: npy writes them as one 2-D array.
    rng = np.random.default_rng(15)
    return pa.table({f"c{i}": rng.standard_normal(1000) for i in range(12)})


def t_single_i32():
    return pa.table({"x": pa.array(np.arange(-500, 500, dtype=np.int32))})


def t_many_rows():
    # Several batches' worth of rows: batch boundaries inside the writers.
    n = 200_000
    return pa.table({"i": np.arange(n, dtype=np.int64), "f": np.linspace(-1, 1, n), "s": pa.array([str(i % 97) for i in range(n)])})


TABLES = {name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("t_")}


def write_tables(out):
    for name, make in TABLES.items():
        table = make()
        with ipc.new_file(out / f"{name}.arrow", table.schema) as writer:
            # Keep the batches as made (empty_batches must keep its empty ones).
            for batch in table.to_batches() or []:
                writer.write_batch(batch)
        try:
            pq.write_table(table, out / f"{name}.parquet")
        except (pa.ArrowException, NotImplementedError, OSError):
            (out / f"{name}.parquet").unlink(missing_ok=True)  # pyarrow cannot: no parquet input


# ---------------------------------------------------------------------------------------------
# Hand-made Arrow IPC streams (pyarrow cannot write these): a minimal FlatBuffers writer.
# ---------------------------------------------------------------------------------------------


class Table:
    """A FlatBuffers table: `fields` maps field index -> (kind, value)."""

    def __init__(self, **fields):
        self.fields = fields  # name "f<index>" -> (kind, value)


class Vector:
    def __init__(self, kind, items):
        self.kind, self.items = kind, items  # kind: "table" or "struct16" (two int64 per item)


SCALAR = {"u8": "<B", "bool": "<B", "i16": "<h", "i32": "<i", "i64": "<q"}


class FlatWriter:
    """Lays a FlatBuffer out front to back: a parent first, its children after it (uoffsets are
    unsigned, so they must point forward), every scalar aligned to its size in absolute terms
    (the message starts 8-aligned in the stream), which the Arrow readers' verifiers check."""

    def __init__(self):
        self.buf = bytearray()

    def pad_to(self, align, extra=0):
        while (len(self.buf) + extra) % align:
            self.buf.append(0)

    def finish(self, root):
        self.buf += b"\0" * 8  # root uoffset at 0, then padding
        struct.pack_into("<I", self.buf, 0, self.write(root))
        self.pad_to(8)
        return bytes(self.buf)

    def write(self, obj):
        if isinstance(obj, str):
            obj = obj.encode()
        if isinstance(obj, bytes):
            self.pad_to(4)
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(obj)) + obj + b"\0"
            return pos
        if isinstance(obj, Vector):
            return self.write_vector(obj)
        return self.write_table(obj)

    def write_vector(self, vec):
        if vec.kind == "struct16":
            self.pad_to(8, extra=4)  # the items after the u32 length are 8-aligned
            pos = len(self.buf)
            self.buf += struct.pack("<I", len(vec.items))
            for a, b in vec.items:
                self.buf += struct.pack("<qq", a, b)
            return pos
        self.pad_to(4)
        pos = len(self.buf)
        self.buf += struct.pack("<I", len(vec.items)) + b"\0" * 4 * len(vec.items)
        for i, item in enumerate(vec.items):
            slot = pos + 4 + 4 * i
            struct.pack_into("<I", self.buf, slot, self.write(item) - slot)
        return pos

    def write_table(self, table):
        indices = sorted(int(k[1:]) for k in table.fields)
        nslots = (indices[-1] + 1) if indices else 0
        self.pad_to(2)
        vt_pos = len(self.buf)
        self.buf += b"\0" * (4 + 2 * nslots)
        self.pad_to(8, extra=4)  # fields after the 4-byte soffset start 8-aligned
        pos = len(self.buf)
        self.buf += struct.pack("<i", pos - vt_pos)
        children, slots = [], {}
        # Widest first keeps padding small; alignment is absolute anyway.
        order = sorted(indices, key=lambda i: -struct.calcsize(SCALAR.get(table.fields[f"f{i}"][0], "<I")))
        for i in order:
            kind, value = table.fields[f"f{i}"]
            fmt = SCALAR.get(kind, "<I")
            self.pad_to(struct.calcsize(fmt))
            slots[i] = len(self.buf) - pos
            if kind in SCALAR:
                self.buf += struct.pack(fmt, value)
            else:
                children.append((len(self.buf), value))
                self.buf += b"\0" * 4
        struct.pack_into("<HH", self.buf, vt_pos, 4 + 2 * nslots, len(self.buf) - pos)
        for i, offset in slots.items():
            struct.pack_into("<H", self.buf, vt_pos + 4 + 2 * i, offset)
        for slot, child in children:
            struct.pack_into("<I", self.buf, slot, self.write(child) - slot)
        return pos


# Arrow's Schema.fbs / Message.fbs numbering.
TYPE_INT, TYPE_FLOAT, TYPE_INTERVAL = 2, 3, 11
HEADER_SCHEMA, HEADER_RECORD_BATCH, V5 = 1, 3, 4


def ipc_message(header_type, header, body_length):
    message = Table(f0=("i16", V5), f1=("u8", header_type), f2=("table", header), f3=("i64", body_length))
    flat = FlatWriter().finish(message)
    return struct.pack("<Ii", 0xFFFFFFFF, len(flat)) + flat


def ipc_stream(fields, columns, rows, big_endian):
    """fields: [(name, type_id, type_table)]; columns: raw little-endian value bytes per column
    (no nulls). Builds schema + one record batch + end-of-stream."""
    schema = Table(
        f0=("i16", 1 if big_endian else 0),
        f1=("vector", Vector("table", [
            Table(f0=("string", name), f1=("bool", 1), f2=("u8", type_id), f3=("table", type_table),
                  f5=("vector", Vector("table", [])))
            for name, type_id, type_table in fields
        ])),
    )
    body, buffers = bytearray(), []
    for data in columns:
        buffers.append((len(body), 0))  # no validity bitmap: no nulls
        buffers.append((len(body), len(data)))
        body += data + b"\0" * (-len(data) % 8)
    batch = Table(
        f0=("i64", rows),
        f1=("vector", Vector("struct16", [(rows, 0)] * len(columns))),
        f2=("vector", Vector("struct16", buffers)),
    )
    return (ipc_message(HEADER_SCHEMA, schema, 0) + ipc_message(HEADER_RECORD_BATCH, batch, len(body))
            + bytes(body) + struct.pack("<Ii", 0xFFFFFFFF, 0))


def write_big_endian(out):
    """int32, int64 and float64 columns, values stored big-endian, schema says Big. A reader that
    ignores the endianness field reads 2147483647 as -129."""
    i32 = [2147483647, -2147483648, 1, -2, 0]
    i64 = [INT64_MAX, INT64_MIN, 1, -2, 258]
    f64 = [1.5, float("-inf"), -0.0, 1e300, 3.0]
    fields = [
        ("i32", TYPE_INT, Table(f0=("i32", 32), f1=("bool", 1))),
        ("i64", TYPE_INT, Table(f0=("i32", 64), f1=("bool", 1))),
        ("f64", TYPE_FLOAT, Table(f0=("i16", 2))),
    ]
    for big_endian, name in ((True, "big_endian"), (False, "handmade_little_endian")):
        order = ">" if big_endian else "<"
        columns = [struct.pack(f"{order}5i", *i32), struct.pack(f"{order}5q", *i64), struct.pack(f"{order}5d", *f64)]
        data = ipc_stream(fields, columns, 5, big_endian)
        (out / f"{name}.arrows").write_bytes(data)
        # The writer above is ours, so check it against the independent reader now.
        table = ipc.open_stream(data).read_all()
        assert table.to_pydict() == {"i32": i32, "i64": i64, "f64": f64}, (name, table)


def write_intervals(out):
    """Year-month and day-time intervals: pyarrow has the types but cannot write (or even wrap)
    such arrays, so the differential test can only require a clean outcome for them."""
    months = struct.pack("<4i", 0, 1, -1, 2147483647)
    day_time = struct.pack("<8i", 0, 0, 1, 1000, -1, -1, 2147483647, -2147483648)
    stream = ipc_stream([("ym", TYPE_INTERVAL, Table(f0=("i16", 0)))], [months], 4, False)
    (out / "interval_year_month.arrows").write_bytes(stream)
    stream = ipc_stream([("dt", TYPE_INTERVAL, Table(f0=("i16", 1)))], [day_time], 4, False)
    (out / "interval_day_time.arrows").write_bytes(stream)


# ---------------------------------------------------------------------------------------------
# CSV and JSON-lines edge cases, as raw bytes.
# ---------------------------------------------------------------------------------------------


def text_cases():
    wide_header = ",".join(f"c{i}" for i in range(2000))
    wide_rows = "".join(",".join(str((r * 2000 + i) % 1000) for i in range(2000)) + "\n" for r in range(40))
    late_key = "".join('{"a": %d}\n' % i for i in range(1200)) + '{"a": 1200, "late": "here"}\n'
    ordered = "".join("{" + ", ".join(f'"k{i}": {i}' for i in range(12)) + "}\n" for _ in range(3))
    return {
        "csv_quoting.csv": b'id,text\n1,"a ""quoted"" word"\n2,"comma, inside"\n3,plain\n4,""\n5,\n',
        "csv_embedded_newlines.csv": b'id,text\n1,"line one\nline two"\n2,"crlf\r\ninside"\n3,x\n',
        "csv_bom.csv": b"\xef\xbb\xbfid,name\n1,a\n2,b\n",
        "csv_crlf.csv": b"id,name,score\r\n1,a,1.5\r\n2,b,2.5\r\n",
        "csv_ragged.csv": b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n",
        "csv_invalid_utf8.csv": b"id,text\n1,ok\n2,bad \xff\xfe byte\n",
        "csv_huge_field.csv": b"id,big\n1," + b"y" * (4 << 20) + b"\n2,small\n",
        "csv_wide.csv": (wide_header + "\n" + wide_rows).encode(),
        "csv_types.csv": b"i,f,b,d,ts,s\n1,1.5,true,2024-01-01,2024-01-01T12:00:00,x\n"
                         b"-9223372036854775808,nan,false,1969-12-31,1969-12-31T23:59:59.123456,\n"
                         b"9223372036854775807,-inf,,2000-02-29,,y\n",
        "csv_ts_zones.csv": b"id,utc,offset,named\n1,2024-01-01T00:00:00Z,2024-01-01T00:00:00+05:30,2024-01-01 00:00:00 Europe/Paris\n"
                            b"2,2024-06-30T23:59:59.5Z,2024-06-30T12:00:00-08:00,2024-06-30 12:00:00 UTC\n",
        "csv_empty.csv": b"",
        "csv_header_only.csv": b"a,b,c\n",
        "jsonl_late_key.jsonl": late_key.encode(),
        "jsonl_mixed_types.jsonl": b'{"x": 1}\n{"x": "one"}\n{"x": 2.5}\n',
        "jsonl_bom.jsonl": b'\xef\xbb\xbf{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n',
        "jsonl_crlf.jsonl": b'{"a": 1}\r\n{"a": 2}\r\n',
        "jsonl_key_order.jsonl": ordered.encode(),
        "jsonl_nested.jsonl": b'{"o": {"x": 1, "l": [1, 2]}, "l": ["a", null]}\n{"o": null, "l": []}\n{"o": {"x": null, "l": null}, "l": null}\n',
        "jsonl_unicode.jsonl": '{"s": "\\u00e9\\ud83c\\udf89 日本", "e": ""}\n{"s": "quote \\" backslash \\\\ nl \\n", "e": null}\n'.encode(),
        "jsonl_numbers.jsonl": b'{"i": 9223372036854775807, "f": 1e308}\n{"i": -9223372036854775808, "f": -0.0}\n{"i": 0, "f": 5e-324}\n',
        "jsonl_ts_zones.jsonl": b'{"utc": "2024-01-01T00:00:00Z", "offset": "2024-01-01T00:00:00+05:30", "named": "2024-01-01 00:00:00 Europe/Paris"}\n',
        "jsonl_blank_lines.jsonl": b'{"a": 1}\n\n{"a": 2}\n\n',
        "jsonl_invalid_utf8.jsonl": b'{"s": "ok"}\n{"s": "bad \xff byte"}\n',
        "jsonl_empty.jsonl": b"",
        "jsonl_not_json.jsonl": b'{"a": 1}\n{"a": \n',
    }


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write_tables(out)
    write_big_endian(out)
    write_intervals(out)
    for name, data in text_cases().items():
        (out / name).write_bytes(data)
    print(f"generated {len(list(out.iterdir()))} input files in {out}")


if __name__ == "__main__":
    main()
