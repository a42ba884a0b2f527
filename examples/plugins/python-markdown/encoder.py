"""The `session` resource of the exported `encoder` interface: one Markdown file being written.

componentize-py looks for an exported interface's resources in a module named after the
interface, so this module is `encoder` and the class is `Session`. The `info` function of the
same interface lives in `app.py` (class `Encoder`).

Every method turns failures into the contract's `encode-error` variant (raised as
`componentize_py_types.Err`): an uncaught Python exception would trap the component instead,
and this component has no stderr to print a traceback to (it is built with `--stub-wasi`).
"""

import traceback

from componentize_py_types import Err
from wit_world.imports.types import (
    EncodeError_Internal,
    EncodeError_InvalidInput,
    EncodeError_InvalidOptions,
    EncodeError_SinkRejected,
    EncodeError_Unsupported,
    Summary,
)

import arrow_ipc
import markdown

# Bytes buffered before one `output.write` call: each call crosses the sandbox boundary, so
# rows are never written one by one.
FLUSH_BYTES = 256 * 1024


class SinkRejected(Exception):
    """The host's output refused bytes; the message is the host's, passed on unchanged."""


def _guarded(method):
    """Runs `method`, mapping every failure to an encode-error (and closing the session)."""

    def call(self, *args):
        if self.state != "open":
            raise Err(EncodeError_Internal("session is %s" % self.state))
        try:
            return method(self, *args)
        except Exception as error:  # noqa: BLE001 - every failure must become an encode-error
            self.state = "failed"
            self.buffer = bytearray()
            raise Err(_to_encode_error(error))

    call.__name__ = method.__name__
    return call


def _to_encode_error(error):
    if isinstance(error, Err):
        return error.value
    if isinstance(error, SinkRejected):
        return EncodeError_SinkRejected(str(error))
    if isinstance(error, arrow_ipc.Unsupported):
        return EncodeError_Unsupported(str(error))
    if isinstance(error, arrow_ipc.Invalid):
        return EncodeError_InvalidInput(str(error))
    if isinstance(error, markdown.OptionError):
        return EncodeError_InvalidOptions(str(error))
    if isinstance(error, MemoryError):
        return EncodeError_Internal("out of memory (see --plugin-memory)")
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return EncodeError_Internal("".join(lines[-3:]).strip())


class Session:
    """Writes the header in `open`, one table row per input row, nothing in `finish`."""

    def __init__(self, columns, options, out):
        self.columns = columns
        self.out = out
        self.null = options["null"]
        self.formatters = [markdown.formatter(c.kind, c.fmt) for c in columns]
        self.rows = 0
        self.written = 0
        self.state = "open"
        self.buffer = bytearray()

    @classmethod
    def open(cls, schema, options, out):
        try:
            options = markdown.parse_options(options)
            columns = arrow_ipc.read_schema(schema)
            if not columns:
                raise arrow_ipc.Unsupported("a Markdown table needs at least one column")
        except Exception as error:  # noqa: BLE001
            raise Err(_to_encode_error(error))
        session = cls(columns, options, out)
        session.buffer += markdown.header(
            [c.name for c in columns], [c.kind for c in columns], options["align"]
        ).encode("utf-8")
        return session

    @_guarded
    def write_batch(self, ipc):
        for batch in arrow_ipc.read_batches(ipc, self.columns):
            null = self.null
            # One formatted column at a time (fast), then rows are zipped together.
            cells = [
                [null if value is None else fmt(value) for value in values]
                for fmt, values in zip(self.formatters, batch.columns)
            ]
            lines = ["| " + " | ".join(cells_of_row) + " |\n" for cells_of_row in zip(*cells)]
            self.buffer += "".join(lines).encode("utf-8")
            self.rows += batch.num_rows
            if len(self.buffer) >= FLUSH_BYTES:
                self._flush()

    @_guarded
    def finish(self):
        self._flush()
        self.state = "finished"
        return Summary(
            self.rows, [("columns", str(len(self.columns))), ("bytes", str(self.written))]
        )

    def abort(self):
        # The host discards the output: drop the buffer, write nothing.
        self.state = "aborted"
        self.buffer = bytearray()

    def _flush(self):
        if self.buffer:
            try:
                self.out.write(bytes(self.buffer))
            except Err as refusal:
                raise SinkRejected(refusal.value)
            self.written += len(self.buffer)
            self.buffer = bytearray()
