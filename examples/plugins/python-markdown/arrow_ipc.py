"""A small pure-Python reader for the Arrow IPC *stream* messages atio sends to encoders.

pyarrow is a native extension and cannot run inside a WebAssembly component, so this module
decodes the few parts of the format the Markdown encoder needs, by hand:

* framing: each message is ``0xFFFFFFFF`` (continuation marker), an int32 metadata length, the
  FlatBuffer-encoded ``Message`` (padded to 8 bytes), then the message body;
* the ``Schema`` message: field names, nullability and types;
* ``RecordBatch`` messages: row count, one ``FieldNode`` (length, null count) per field and the
  (offset, length) of every buffer in the body.

Supported column types: Null, Int8/16/32/64, UInt8/16/32/64, Float32/64, Boolean, Utf8 and
LargeUtf8, with validity bitmaps. Anything else (dictionaries, nested, temporal, decimal, binary,
views, compressed bodies) raises ``Unsupported`` naming the column and its type, so an encoder
can refuse a schema in ``open`` before any data is sent.

References: Arrow's Message.fbs / Schema.fbs and the "Arrow Columnar Format" specification
(IPC streaming format, buffer layouts).
"""

import struct

# --- FlatBuffers ------------------------------------------------------------------------------
#
# A FlatBuffer starts with a uint32 offset to its root table. A table starts with an int32
# "soffset": the table's position minus that value is its vtable. A vtable is uint16s: its own
# size in bytes, the table's size, then one offset per field (0 = field absent: use the default).
# Scalars are stored inline; strings, vectors, tables and union values are stored as a uint32
# offset relative to the position of that offset. Everything is little-endian.


class Table:
    """One FlatBuffer table: typed access to its fields by index (declaration order)."""

    __slots__ = ("buf", "pos", "vtable", "vtable_size")

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vtable_size = struct.unpack_from("<H", buf, self.vtable)[0]

    @classmethod
    def root(cls, buf):
        return cls(buf, struct.unpack_from("<I", buf, 0)[0])

    def _field(self, index):
        """Position of field `index`, or None when it is absent."""
        entry = 4 + 2 * index
        if entry >= self.vtable_size:
            return None
        offset = struct.unpack_from("<H", self.buf, self.vtable + entry)[0]
        return self.pos + offset if offset else None

    def scalar(self, index, fmt, default):
        at = self._field(index)
        return default if at is None else struct.unpack_from("<" + fmt, self.buf, at)[0]

    def _indirect(self, at):
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, index):
        at = self._field(index)
        return None if at is None else Table(self.buf, self._indirect(at))

    def string(self, index):
        at = self._field(index)
        if at is None:
            return None
        start = self._indirect(at)
        length = struct.unpack_from("<I", self.buf, start)[0]
        return bytes(self.buf[start + 4 : start + 4 + length]).decode("utf-8")

    def vector(self, index):
        """(position of the first element, element count), or (0, 0) when absent."""
        at = self._field(index)
        if at is None:
            return 0, 0
        start = self._indirect(at)
        return start + 4, struct.unpack_from("<I", self.buf, start)[0]

    def tables(self, index):
        start, count = self.vector(index)
        return [Table(self.buf, self._indirect(start + 4 * i)) for i in range(count)]


# --- Arrow metadata ---------------------------------------------------------------------------

# MessageHeader union tags (Message.fbs).
HEADER_SCHEMA = 1
HEADER_DICTIONARY_BATCH = 2
HEADER_RECORD_BATCH = 3

# Type union tags (Schema.fbs), for naming unsupported types.
TYPE_NAMES = {
    1: "Null", 2: "Int", 3: "FloatingPoint", 4: "Binary", 5: "Utf8", 6: "Bool", 7: "Decimal",
    8: "Date", 9: "Time", 10: "Timestamp", 11: "Interval", 12: "List", 13: "Struct",
    14: "Union", 15: "FixedSizeBinary", 16: "FixedSizeList", 17: "Map", 18: "Duration",
    19: "LargeBinary", 20: "LargeUtf8", 21: "LargeList", 22: "RunEndEncoded",
    23: "BinaryView", 24: "Utf8View", 25: "ListView", 26: "LargeListView",
}
TYPE_NULL, TYPE_INT, TYPE_FLOAT, TYPE_UTF8, TYPE_BOOL, TYPE_LARGE_UTF8 = 1, 2, 3, 5, 6, 20
TYPE_DATE, TYPE_TIME, TYPE_TIMESTAMP, TYPE_DURATION = 8, 9, 10, 18

SUPPORTED = "Null, Int8-64, UInt8-64, Float32, Float64, Boolean, Utf8, LargeUtf8"


class Unsupported(Exception):
    """A valid stream using something this reader does not implement."""


class Invalid(Exception):
    """Bytes that are not a well-formed Arrow IPC stream."""


class Column:
    """One schema field this reader can decode.

    kind is one of "null", "int", "float", "bool", "utf8"; for "int" and "float", fmt is the
    struct/memoryview format of one value ("b", "H", "q", "f", "d", ...); for "utf8", fmt is the
    offsets format ("i" for Utf8, "q" for LargeUtf8).
    """

    __slots__ = ("name", "nullable", "kind", "fmt", "type_name")

    def __init__(self, name, nullable, kind, fmt, type_name):
        self.name = name
        self.nullable = nullable
        self.kind = kind
        self.fmt = fmt
        self.type_name = type_name


_INT_FORMATS = {
    (8, True): "b", (8, False): "B", (16, True): "h", (16, False): "H",
    (32, True): "i", (32, False): "I", (64, True): "q", (64, False): "Q",
}


def _type_name(tag, type_table):
    """A readable name for a field type, as used in error messages (e.g. `Timestamp(us)`)."""
    name = TYPE_NAMES.get(tag, "type #%d" % tag)
    if type_table is None:
        return name
    if tag == TYPE_INT:
        width = type_table.scalar(0, "i", 0)
        return "%s%d" % ("Int" if type_table.scalar(1, "?", False) else "UInt", width)
    if tag == TYPE_FLOAT:
        return ("Float16", "Float32", "Float64")[type_table.scalar(0, "h", 0)]
    if tag == TYPE_DATE:
        return ("Date32", "Date64")[type_table.scalar(0, "h", 1)]
    if tag in (TYPE_TIME, TYPE_DURATION, TYPE_TIMESTAMP):
        default_unit = 0 if tag == TYPE_TIMESTAMP else 1  # Schema.fbs defaults
        unit = ("s", "ms", "us", "ns")[type_table.scalar(0, "h", default_unit)]
        return "%s(%s)" % (name, unit)
    return name


def _column(field):
    name = field.string(0) or ""
    nullable = field.scalar(1, "?", False)
    tag = field.scalar(2, "B", 0)
    type_table = field.table(3)
    type_name = _type_name(tag, type_table)
    if field.table(4) is not None:  # DictionaryEncoding
        raise Unsupported(
            "column `%s`: dictionary-encoded %s is not supported (supported: %s)"
            % (name, type_name, SUPPORTED)
        )
    if tag == TYPE_NULL:
        return Column(name, nullable, "null", None, type_name)
    if tag == TYPE_INT:
        key = (type_table.scalar(0, "i", 0), type_table.scalar(1, "?", False))
        if key in _INT_FORMATS:
            return Column(name, nullable, "int", _INT_FORMATS[key], type_name)
    if tag == TYPE_FLOAT:
        precision = type_table.scalar(0, "h", 0)
        if precision in (1, 2):
            return Column(name, nullable, "float", "fd"[precision - 1], type_name)
    if tag == TYPE_BOOL:
        return Column(name, nullable, "bool", None, type_name)
    if tag == TYPE_UTF8:
        return Column(name, nullable, "utf8", "i", type_name)
    if tag == TYPE_LARGE_UTF8:
        return Column(name, nullable, "utf8", "q", type_name)
    raise Unsupported(
        "column `%s`: type %s is not supported (supported: %s)" % (name, type_name, SUPPORTED)
    )


# --- Messages ---------------------------------------------------------------------------------


def messages(data):
    """Yields (header type, header table, body memoryview) for each message in `data`."""
    view = memoryview(data)
    pos = 0
    while pos + 4 <= len(view):
        length = struct.unpack_from("<i", view, pos)[0]
        pos += 4
        if length == -1:  # continuation marker; the real length follows
            if pos + 4 > len(view):
                raise Invalid("truncated message prefix at byte %d" % pos)
            length = struct.unpack_from("<i", view, pos)[0]
            pos += 4
        if length == 0:  # end-of-stream marker
            return
        if length < 0 or pos + length > len(view):
            raise Invalid("bad metadata length %d at byte %d" % (length, pos - 4))
        message = Table.root(view[pos : pos + length])
        pos += length
        header_type = message.scalar(1, "B", 0)
        header = message.table(2)
        body_length = message.scalar(3, "q", 0)
        if header is None or body_length < 0 or pos + body_length > len(view):
            raise Invalid("malformed message at byte %d" % pos)
        yield header_type, header, view[pos : pos + body_length]
        pos += body_length


def _malformed_is_invalid(function):
    """Out-of-range reads in malformed metadata surface as Invalid, not as internal errors."""

    def wrapper(*args):
        try:
            result = function(*args)
            return list(result) if hasattr(result, "__next__") else result
        except (struct.error, IndexError, ValueError) as error:
            raise Invalid("malformed Arrow IPC data: %s" % error)

    wrapper.__doc__ = function.__doc__
    return wrapper


@_malformed_is_invalid
def read_schema(data):
    """The columns of the schema message `data` starts with (raises Unsupported/Invalid)."""
    for header_type, header, _ in messages(data):
        if header_type != HEADER_SCHEMA:
            raise Invalid("expected a Schema message first, got message type %d" % header_type)
        if header.scalar(0, "h", 0) != 0:
            raise Unsupported("big-endian Arrow data is not supported")
        return [_column(field) for field in header.tables(1)]
    raise Invalid("no Schema message")


class Batch:
    """A decoded record batch: `num_rows` and one list of Python values per column (None = null)."""

    __slots__ = ("num_rows", "columns")

    def __init__(self, num_rows, columns):
        self.num_rows = num_rows
        self.columns = columns


@_malformed_is_invalid
def read_batches(data, schema):
    """A list with a Batch for each RecordBatch message in `data` (a write-batch payload)."""
    for header_type, header, body in messages(data):
        if header_type == HEADER_DICTIONARY_BATCH:
            raise Unsupported("dictionary batches are not supported")
        if header_type != HEADER_RECORD_BATCH:
            raise Invalid("expected a RecordBatch message, got message type %d" % header_type)
        yield _read_record_batch(header, body, schema)


def _read_record_batch(header, body, schema):
    if header.table(3) is not None:
        raise Unsupported("compressed IPC bodies are not supported")
    num_rows = header.scalar(0, "q", 0)
    nodes_at, node_count = header.vector(1)
    buffers_at, buffer_count = header.vector(2)
    buf = header.buf
    # FieldNode and Buffer are 16-byte structs of two int64s.
    nodes = [struct.unpack_from("<qq", buf, nodes_at + 16 * i) for i in range(node_count)]
    buffers = [struct.unpack_from("<qq", buf, buffers_at + 16 * i) for i in range(buffer_count)]
    if node_count != len(schema):
        raise Invalid("batch has %d field nodes for %d columns" % (node_count, len(schema)))
    columns = []
    next_buffer = 0
    for column, (length, null_count) in zip(schema, nodes):
        if column.kind == "null":
            columns.append([None] * length)  # the Null type has no buffers
            continue
        count = 3 if column.kind == "utf8" else 2
        if next_buffer + count > buffer_count:
            raise Invalid("batch has too few buffers for column `%s`" % column.name)
        views = []
        for offset, size in buffers[next_buffer : next_buffer + count]:
            if offset < 0 or size < 0 or offset + size > len(body):
                raise Invalid("buffer out of range in column `%s`" % column.name)
            views.append(body[offset : offset + size])
        next_buffer += count
        columns.append(_decode(column, length, null_count, views))
    return Batch(num_rows, columns)


def _bits(view, length):
    """The first `length` bits of a little-endian bitmap, as a list of bools."""
    data = bytes(view)
    if len(data) * 8 < length:
        raise Invalid("bitmap too short")
    return [bool(data[i >> 3] >> (i & 7) & 1) for i in range(length)]


def _fixed(view, fmt, length):
    size = struct.calcsize(fmt)
    if len(view) < size * length:
        raise Invalid("values buffer too short")
    # memoryview.cast needs a contiguous, exactly sized byte view; IPC buffers are aligned.
    return view[: size * length].cast("B").cast(fmt).tolist()


def _decode(column, length, null_count, views):
    validity = views[0]
    if column.kind == "bool":
        values = _bits(views[1], length)
    elif column.kind in ("int", "float"):
        values = _fixed(views[1], column.fmt, length)
    else:  # utf8
        offsets = _fixed(views[1], column.fmt, length + 1) if length else [0]
        data = views[2]
        values = []
        for i in range(length):
            start, end = offsets[i], offsets[i + 1]
            if start < 0 or end < start or end > len(data):
                raise Invalid("bad string offsets in column `%s`" % column.name)
            try:
                values.append(str(data[start:end], "utf-8"))
            except UnicodeDecodeError as error:
                raise Invalid("column `%s`: invalid UTF-8: %s" % (column.name, error))
    # A missing validity buffer (length 0) means "no nulls".
    if null_count and len(validity):
        valid = _bits(validity, length)
        values = [value if ok else None for value, ok in zip(values, valid)]
    return values
