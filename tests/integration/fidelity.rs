//! Every value right or refused (issue 15), for the CSV and JSON-lines encoders: tables of the
//! types those formats get wrong most easily are written by pyarrow as Arrow IPC, passed through
//! `atio write`, and either read back by pyarrow and compared value by value with the input, or
//! refused with exit 9 and a message naming the column, its type and the way out.

use std::path::Path;

use crate::support::{
    assert_no_leftovers, probe_python_module, python, run_atio, stderr, tool_available,
};

/// Whether the test Python has pyarrow (else the test is skipped, or fails under
/// `ATIO_REQUIRE_ALL_TOOLS=1`).
fn pyarrow() -> bool {
    tool_available("pyarrow", "pip install pyarrow", || {
        probe_python_module("pyarrow")
    })
}

/// Runs a Python script in `dir` (with `pa`, `pc` = pyarrow.csv, `pj` = pyarrow.json, `ipc`
/// imported and a `save(name, table)` helper that writes `name.arrow`); fails the test with its
/// stderr if the script fails.
fn py(dir: &Path, script: &str) {
    let prelude = "import pyarrow as pa, pyarrow.csv as pc, pyarrow.json as pj, \
                   pyarrow.ipc as ipc, decimal, datetime\n\
                   def save(name, table):\n    \
                       with ipc.new_file(name + '.arrow', table.schema) as w:\n        \
                           w.write_table(table)\n";
    let output = python()
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .current_dir(dir)
        .output()
        .expect("running the test Python");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `atio write <input>.arrow <output>` with `options`: asserts success.
fn write_ok(dir: &Path, input: &str, output: &str, options: &[&str]) {
    let out = atio_write(dir, input, output, options);
    assert!(
        out.status.success(),
        "{input} -> {output} {options:?}: {}",
        stderr(&out)
    );
}

/// `atio write` that must be refused as unsupported (exit 9) with every one of `needles` in
/// its message, leaving no output and no staging file.
fn write_refused(dir: &Path, input: &str, output: &str, options: &[&str], needles: &[&str]) {
    let out = atio_write(dir, input, output, options);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(9), "{input} -> {output}: {text}");
    for needle in needles {
        assert!(text.contains(needle), "`{needle}` not in: {text}");
    }
    assert!(!dir.join(output).exists());
    assert_no_leftovers(dir);
}

fn atio_write(dir: &Path, input: &str, output: &str, options: &[&str]) -> std::process::Output {
    let input = format!("{input}.arrow");
    let mut args = vec!["write", input.as_str(), output];
    for option in options {
        args.extend(["-o", option]);
    }
    run_atio(dir, &args, b"")
}

#[test]
fn csv_reads_back_exactly_or_is_refused() {
    if !pyarrow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        r##"
flat = pa.table({
    "s": pa.array(["", None, "NA", "null", "NaN", "x,y", "a\"b", "line\nbreak"]),
    "ls": pa.array(["", "n/a", None, "#N/A", "", "z", "NULL", "-nan"], pa.large_string()),
    "d": pa.array(["x", None, "", "x", "NA", "", None, "y"]).dictionary_encode(),
    "f": pa.array([float("nan"), float("inf"), float("-inf"), None, -0.0, 1e300, 0.1, 5e-324]),
    "i": pa.array([None, 0, -1, 2**63 - 1, -2**63, 7, None, 1], pa.int64()),
    "dec": pa.array([decimal.Decimal("-99999999999999999999999999999999999.999"), None,
                     decimal.Decimal("0.001"), decimal.Decimal("1"), None, None, None,
                     decimal.Decimal("12.5")], pa.decimal128(38, 3)),
    "dec256": pa.array([decimal.Decimal("1e40"), None, None, None, None, None, None,
                        decimal.Decimal("-3")], pa.decimal256(50, 0)),
    "tz": pa.array([0, 1_700_000_000_123_456, None, -1, 5, 6, 7, 8],
                   pa.timestamp("us", "Europe/Paris")),
    "utc": pa.array([0, None, 2, 3, 4, 5, 6, 7], pa.timestamp("s", "UTC")),
    "dur": pa.array([-2**63, 2**63 - 1, None, 0, 1, -1, 2, 3], pa.duration("s")),
    "date": pa.array([0, -719162, None, 2932896, 1, 2, 3, 4], pa.date32()),
})
save("flat", flat)
save("one_string", pa.table({"s": pa.array(["a", None, ""])}))
save("one_int", pa.table({"n": pa.array([1, None, 3])}))
save("nested", pa.table({"tags": pa.array([["a", None], None])}))
save("binary", pa.table({"b": pa.array([b"\x00\xff", b"", None]), "n": pa.array([1, 2, 3])}))
save("none", pa.table({}))
"##,
    );
    write_ok(dir.path(), "flat", "flat.csv", &[]);
    write_ok(dir.path(), "one_string", "one_null.csv", &["null=NULL"]);
    write_ok(dir.path(), "one_int", "one_int.csv", &[]);
    write_ok(dir.path(), "none", "none.csv", &[]);
    py(
        dir.path(),
        r##"
def read(name, schema, **kw):
    convert = pc.ConvertOptions(column_types=schema, strings_can_be_null=True,
                                quoted_strings_can_be_null=False, **kw)
    parse = pc.ParseOptions(newlines_in_values=True)
    return pc.read_csv(name, parse_options=parse, convert_options=convert)

def same(a, b):
    # Type by type, value by value (floats in Python, where NaN is compared as NaN).
    assert a.schema == b.schema, (a.schema, b.schema)
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if not pa.types.is_floating(x.type):
            assert x.equals(y), (name, x, y)
            continue
        x, y = x.to_pylist(), y.to_pylist()
        assert len(x) == len(y), name
        for i, (u, v) in enumerate(zip(x, y)):
            assert u == v or (u != u and v != v), (name, i, u, v)

flat = ipc.open_file("flat.arrow").read_all()
expected = flat.set_column(2, "d", flat.column("d").cast(pa.string()))
# pyarrow's CSV reader has no decimal256: read that column as text, then cast.
index = expected.schema.get_field_index("dec256")
schema = expected.schema.set(index, pa.field("dec256", pa.string()))
got = read("flat.csv", schema)
got = got.set_column(index, "dec256", got.column(index).cast(pa.decimal256(50, 0)))
same(got, expected)
one = ipc.open_file("one_string.arrow").read_all()
same(read("one_null.csv", one.schema, null_values=["NULL"]), one)
one = ipc.open_file("one_int.arrow").read_all()
got = pc.read_csv("one_int.csv", convert_options=pc.ConvertOptions(column_types=one.schema))
same(got, one)
assert open("none.csv", "rb").read() == b""
"##,
    );
    write_refused(
        dir.path(),
        "one_string",
        "one_string.csv",
        &[],
        &["column `s` (Utf8) holds a null", "-o null=<text>"],
    );
    write_refused(
        dir.path(),
        "nested",
        "nested.csv",
        &[],
        &[
            "column `tags` (List(",
            "cannot be written as CSV; write it as parquet, arrow or jsonl, or pass -o nested=json",
        ],
    );
    write_refused(
        dir.path(),
        "binary",
        "binary.csv",
        &[],
        &["column `b` (Binary)", "-o binary=hex"],
    );
    write_ok(dir.path(), "nested", "nested.csv", &["nested=json"]);
    write_ok(dir.path(), "binary", "binary.csv", &["binary=base64"]);
    py(
        dir.path(),
        r##"
import base64, json
# One column: its null is `""` (JSON text is never empty).
got = pc.read_csv("nested.csv", convert_options=pc.ConvertOptions(
    column_types={"tags": pa.string()}, strings_can_be_null=True))
assert [None if t is None else json.loads(t) for t in got.column("tags").to_pylist()] \
    == [["a", None], None], got
got = pc.read_csv("binary.csv", convert_options=pc.ConvertOptions(
    column_types={"b": pa.string()}, strings_can_be_null=True, quoted_strings_can_be_null=False))
assert [None if b is None else base64.b64decode(b) for b in got.column("b").to_pylist()] \
    == [b"\x00\xff", b"", None], got
"##,
    );
}

#[test]
fn jsonl_reads_back_exactly_or_is_refused() {
    if !pyarrow() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    py(
        dir.path(),
        r##"
values = pa.array(["a", None, ""])
flat = pa.table({
    "d": pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2], pa.int32()), values),
    "di": pa.DictionaryArray.from_arrays(pa.array([1, 0, 0, 1], pa.int8()),
                                         pa.array([None, 5], pa.int64())),
    "dec": pa.array([decimal.Decimal("-99999999999999999999999999999999999.999"), None,
                     decimal.Decimal("0.001"), decimal.Decimal("12.5")], pa.decimal128(38, 3)),
    "dec256": pa.array([decimal.Decimal("1e40"), None, decimal.Decimal("-3"), None],
                       pa.decimal256(50, 0)),
    "tz": pa.array([0, 1_700_000_000_123_456, None, -1], pa.timestamp("us", "Europe/Paris")),
    "utc": pa.array([0, None, 2, 3], pa.timestamp("ns", "UTC")),
    "ts": pa.array([0, None, -1, 253402300799], pa.timestamp("s")),
    "f": pa.array([0.1, None, 1e300, -0.0]),
    "i": pa.array([2**63 - 1, -2**63, None, 0], pa.int64()),
    "u": pa.array([2**64 - 1, 0, None, 1], pa.uint64()),
    "s": pa.array(["", None, "\u2028\"\\", "é"]),
})
save("flat", flat)
save("map", pa.table({"m": pa.array([[("a", 1), ("b", None)], None],
                                    pa.map_(pa.string(), pa.int32()))}))
save("dur", pa.table({"d": pa.array([-2**63, 2**63 - 1, 0, None], pa.duration("ms"))}))
save("nan", pa.table({"f": pa.array([1.5, float("nan"), None])}))
save("nested_nan", pa.table({"l": pa.array([[1.0, float("inf")]])}))
save("binary", pa.table({"b": pa.array([b"\x00\xff", b"", None])}))
dup = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"])
save("dup", dup)
save("union", pa.table({"u": pa.UnionArray.from_sparse(pa.array([0], pa.int8()),
                                                      [pa.array([1])])}))
"##,
    );
    write_ok(dir.path(), "flat", "flat.jsonl", &[]);
    write_ok(dir.path(), "map", "map.jsonl", &[]);
    write_ok(dir.path(), "dur", "dur.jsonl", &[]);
    write_ok(dir.path(), "nan", "nan_null.jsonl", &["non-finite=null"]);
    write_ok(
        dir.path(),
        "nan",
        "nan_string.jsonl",
        &["non-finite=string"],
    );
    write_ok(dir.path(), "binary", "binary.jsonl", &["binary=base64"]);
    py(
        dir.path(),
        r##"
import base64, json
flat = ipc.open_file("flat.arrow").read_all()
expected = flat.set_column(0, "d", flat.column("d").cast(pa.string()))
expected = expected.set_column(1, "di", flat.column("di").cast(pa.int64()))
got = pj.read_json("flat.jsonl", parse_options=pj.ParseOptions(explicit_schema=expected.schema))
assert got.schema == expected.schema, got.schema
for name in expected.column_names:
    assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name

lines = [json.loads(line) for line in open("map.jsonl")]
assert lines == [{"m": {"a": 1, "b": None}}, {"m": None}], lines
lines = [json.loads(line) for line in open("dur.jsonl")]
assert lines == [{"d": "-PT9223372036854775.808S"}, {"d": "PT9223372036854775.807S"},
                 {"d": "P0D"}, {"d": None}], lines
lines = [json.loads(line) for line in open("nan_null.jsonl")]
assert lines == [{"f": 1.5}, {"f": None}, {"f": None}], lines
assert open("nan_string.jsonl").read() == '{"f":1.5}\n{"f":"NaN"}\n{"f":null}\n'
lines = [json.loads(line) for line in open("binary.jsonl")]
assert [None if l["b"] is None else base64.b64decode(l["b"]) for l in lines] \
    == [b"\x00\xff", b"", None], lines
"##,
    );
    write_refused(
        dir.path(),
        "nan",
        "nan.jsonl",
        &[],
        &[
            "column `f` (Float64) holds NaN or infinity",
            "-o non-finite=null",
        ],
    );
    write_refused(
        dir.path(),
        "nested_nan",
        "nested_nan.jsonl",
        &[],
        &["column `l` (List(", "NaN or infinity"],
    );
    write_refused(
        dir.path(),
        "binary",
        "binary_refused.jsonl",
        &[],
        &["column `b` (Binary)", "-o binary=base64"],
    );
    write_refused(
        dir.path(),
        "dup",
        "dup.jsonl",
        &[],
        &["column `x` (Int64)", "same name"],
    );
    write_refused(
        dir.path(),
        "union",
        "union.jsonl",
        &[],
        &["column `u` (Union(", "parquet or arrow"],
    );
}
