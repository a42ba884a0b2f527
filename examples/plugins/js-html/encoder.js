// atio encoder plugin in JavaScript: writes an HTML table.
//
// Built into a WebAssembly component by ComponentizeJS (see build.sh): esbuild first bundles this
// module with the pure-JS `apache-arrow` package, which decodes the Arrow IPC stream messages the
// host sends, then `componentize-js` embeds the bundle in the StarlingMonkey engine.
//
// How the WIT world `encoder-plugin` (wit/encoder.wit) maps onto JavaScript:
// * the exported interface `encoder` is the exported object `encoder`; its function `info` is a
//   method and its resource `session` is the class `Session` (static `open`, methods
//   `writeBatch`, `finish`, `abort`);
// * records are plain objects with camelCase keys, `u64` is a BigInt, `list<u8>` a Uint8Array,
//   `list<tuple<string, string>>` an array of [key, value] arrays;
// * a function returning `result<T, encode-error>` returns T, or throws the error variant as a
//   plain object `{ tag: 'invalid-options', val: 'message' }`. Throwing anything else (an
//   `Error`) traps the component, so every method catches and converts;
// * the host's `output.write` returns nothing or throws (its error carries the host's message).

import { MessageHeader, Message, RecordBatchReader, Type, Precision, DateUnit, TimeUnit } from 'apache-arrow';

const NAME = 'html';
const VERSION = '0.1.0';

// Bytes buffered before one `output.write` call: each call crosses the sandbox boundary, so
// rows are never written one by one.
const FLUSH_BYTES = 256 * 1024;

const OPTIONS = [
  { name: 'caption', description: 'table caption (also the document title); none by default', defaultValue: undefined },
  { name: 'null', description: 'text written for null values (escaped); empty by default', defaultValue: undefined },
  { name: 'fragment', description: 'true: write only the <table> element, not a whole document', defaultValue: 'false' },
];

const SUPPORTED =
  'Null, Int8-64, UInt8-64, Float32, Float64, Boolean, Utf8, LargeUtf8, Date32, Date64, Timestamp, ' +
  'and dictionaries of these';

const encodeError = (tag, val) => ({ tag, val });

/** Every character that means something in HTML text or an attribute, as an entity. */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const SPECIAL = /[&<>"']/;
export function escapeHtml(text) {
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => ENTITIES[c]) : text;
}

function parseOptions(pairs) {
  const known = OPTIONS.map((o) => o.name);
  const values = { caption: null, null: '', fragment: 'false' };
  const seen = new Set();
  for (const [key, value] of pairs) {
    if (!known.includes(key)) {
      throw encodeError('invalid-options', `unknown option \`${key}\`; known options: ${known.join(', ')}`);
    }
    if (seen.has(key)) throw encodeError('invalid-options', `option \`${key}\` given twice`);
    seen.add(key);
    values[key] = value;
  }
  if (values.fragment !== 'true' && values.fragment !== 'false') {
    throw encodeError('invalid-options', `option \`fragment\`: expected true or false, got \`${values.fragment}\``);
  }
  return { caption: values.caption, null: escapeHtml(values.null), fragment: values.fragment === 'true' };
}

// ---- value formatting -------------------------------------------------------------------------

/** JavaScript's shortest round-trip decimal, keeping the sign of zero (`-0`). */
function formatFloat64(value) {
  return Object.is(value, -0) ? '-0' : String(value);
}

/** The shortest decimal that reads back as the same float32 (`0.1`, not `0.10000000149011612`). */
function formatFloat32(value) {
  if (!Number.isFinite(value) || value === 0) return formatFloat64(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(value);
}

const pad = (n, width) => String(n).padStart(width, '0');

/** ISO 8601 date of a day count or millisecond count since the epoch. */
function isoDate(ms) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw encodeError('invalid-input', `date out of range: ${ms} ms since 1970`);
  return date.toISOString().slice(0, 10).replace(/^\+0*(\d{4,})/, '$1');
}

const UNITS = { [TimeUnit.SECOND]: [1n, 0], [TimeUnit.MILLISECOND]: [1000n, 3], [TimeUnit.MICROSECOND]: [1000000n, 6], [TimeUnit.NANOSECOND]: [1000000000n, 9] };

/** ISO 8601 of a raw int64 timestamp; with a time zone the instant is shown in UTC (`Z`). */
function isoTimestamp(raw, unit, timezone) {
  const [perSecond, digits] = UNITS[unit];
  let seconds = raw / perSecond;
  let fraction = raw % perSecond;
  if (fraction < 0n) {
    fraction += perSecond;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) throw encodeError('invalid-input', `timestamp out of range: ${raw}`);
  let text = `${isoDate(date.getTime())}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  if (fraction !== 0n) text += '.' + pad(fraction, digits);
  return timezone ? text + 'Z' : text;
}

/**
 * A function (data, rows, nullCell) => array of `<td>` strings, one per row, for a column of
 * `type`, where `data` is one apache-arrow `Data` chunk; or an `unsupported` error naming the
 * column and type.
 */
function columnRenderer(type, column) {
  if (type.typeId === Type.Null) return (data, rows, nullCell) => new Array(rows).fill(nullCell);
  const format = cellFormatter(type, column);
  // Only text can contain characters HTML would interpret; numbers, booleans and dates cannot.
  const text = type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8 || type.typeId === Type.Dictionary;
  const plainNumbers = type.typeId === Type.Int;
  return (data, rows, nullCell) => {
    const cells = new Array(rows);
    const nulls = data.nullCount > 0;
    if (plainNumbers && !nulls) {
      const values = data.values;
      for (let i = 0; i < rows; i++) cells[i] = '<td>' + values[i] + '</td>';
      return cells;
    }
    for (let i = 0; i < rows; i++) {
      const value = nulls && !data.getValid(i) ? null : format(data, i);
      if (value === null) cells[i] = nullCell;
      else cells[i] = '<td>' + (text ? escapeHtml(value) : value) + '</td>';
    }
    return cells;
  };
}

/**
 * A function (data, index) => cell text (unescaped) for non-null values of `type`, where `data`
 * is one apache-arrow `Data` chunk (null for a dictionary key pointing at a null value); or an
 * `unsupported` error naming the column and type.
 */
function cellFormatter(type, column) {
  switch (type.typeId) {
    case Type.Int:
      return (data, i) => String(data.values[i]); // a BigInt for 64-bit widths
    case Type.Float:
      if (type.precision === Precision.SINGLE) return (data, i) => formatFloat32(data.values[i]);
      if (type.precision === Precision.DOUBLE) return (data, i) => formatFloat64(data.values[i]);
      break;
    case Type.Bool:
      return (data, i) => ((data.values[(data.offset + i) >> 3] >> ((data.offset + i) & 7)) & 1 ? 'true' : 'false');
    case Type.Utf8:
    case Type.LargeUtf8:
      return utf8At;
    case Type.Date:
      return type.unit === DateUnit.DAY
        ? (data, i) => isoDate(data.values[i] * 86400000)
        : (data, i) => isoDate(Number(data.values[i]));
    case Type.Timestamp:
      return (data, i) => isoTimestamp(BigInt(data.values[i]), type.unit, type.timezone);
    case Type.Dictionary: {
      const value = cellFormatter(type.dictionary, column);
      return (data, i) => {
        const key = Number(data.values[i]);
        const chunk = data.dictionary.data[findChunk(data.dictionary, key)];
        const index = key - chunkStart(data.dictionary, key);
        return chunk.getValid(index) ? value(chunk, index) : null;
      };
    }
    default:
      break;
  }
  throw encodeError('unsupported', `column \`${column}\`: type ${typeName(type)} is not supported (supported: ${SUPPORTED})`);
}

function typeName(type) {
  if (type.typeId === Type.Decimal) return `Decimal${type.bitWidth}(${type.precision}, ${type.scale})`;
  if (type.typeId === Type.Dictionary) return `Dictionary<${typeName(type.indices)}, ${typeName(type.dictionary)}>`;
  return String(type);
}

// Strings: decode the UTF-8 bytes between two offsets (int32 for Utf8, int64 for LargeUtf8).
const UTF8 = new TextDecoder('utf-8', { fatal: true });
function utf8At(data, i) {
  const start = Number(data.valueOffsets[i]);
  const end = Number(data.valueOffsets[i + 1]);
  return UTF8.decode(data.values.subarray(start, end));
}

// A dictionary is a Vector of one or more Data chunks (more after delta dictionary batches).
function findChunk(vector, index) {
  let start = 0;
  for (let c = 0; c < vector.data.length; c++) {
    if (index < start + vector.data[c].length) return c;
    start += vector.data[c].length;
  }
  throw encodeError('invalid-input', `dictionary key ${index} out of range`);
}
function chunkStart(vector, index) {
  let start = 0;
  for (const data of vector.data) {
    if (index < start + data.length) return start;
    start += data.length;
  }
  return start;
}

// ---- Arrow IPC framing --------------------------------------------------------------------------

/**
 * Splits IPC stream bytes into messages: [{ type: MessageHeader, bytes }], where each message is
 * 0xFFFFFFFF, an int32 metadata length, the FlatBuffer `Message` and its body.
 */
function splitMessages(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const start = pos;
    let length = view.getInt32(pos, true);
    pos += 4;
    if (length === -1) {
      length = view.getInt32(pos, true);
      pos += 4;
    }
    if (length === 0) break; // end of stream
    const message = Message.decode(bytes.subarray(pos, pos + length));
    pos += length + Number(message.bodyLength);
    if (pos > bytes.length) throw encodeError('invalid-input', 'truncated Arrow IPC message');
    messages.push({ type: message.headerType, bytes: bytes.subarray(start, pos) });
  }
  return messages;
}

// ---- the session ------------------------------------------------------------------------------

const ENCODER = new TextEncoder();

class Session {
  constructor(schemaBytes, schema, options, out) {
    this.schemaBytes = schemaBytes;
    this.dictionaries = []; // every dictionary message so far, replayed before each batch
    this.renderers = schema.fields.map((field) => columnRenderer(field.type, field.name));
    this.options = options;
    this.out = out;
    this.rows = 0;
    this.written = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.state = 'open';
    const caption = options.caption === null ? '' : `<caption>${escapeHtml(options.caption)}</caption>\n`;
    const head = schema.fields.map((field) => `<th>${escapeHtml(field.name)}</th>`).join('');
    let text = `<table>\n${caption}<thead>\n<tr>${head}</tr>\n</thead>\n<tbody>\n`;
    if (!options.fragment) {
      const title = escapeHtml(options.caption ?? 'Table');
      text = `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n</head>\n<body>\n${text}`;
    }
    this.push(text);
  }

  static open(schemaBytes, options, out) {
    return guard(() => {
      const parsed = parseOptions(options);
      const schemaCopy = schemaBytes.slice();
      const reader = RecordBatchReader.from(schemaCopy);
      reader.open();
      if (!reader.schema) throw encodeError('invalid-input', 'no Arrow schema message');
      if (reader.schema.fields.length === 0) throw encodeError('unsupported', 'an HTML table needs at least one column');
      return new Session(schemaCopy, reader.schema, parsed, out);
    });
  }

  writeBatch(ipc) {
    return this.call(() => {
      const messages = splitMessages(ipc);
      const reader = RecordBatchReader.from([this.schemaBytes, ...this.dictionaries, ipc]);
      const nullCell = `<td>${this.options.null}</td>`;
      for (const batch of reader.readAll()) {
        const rows = batch.numRows;
        // Column at a time (tight loops, no per-cell dispatch), then rows are stitched together.
        const cells = this.renderers.map((render, c) => render(batch.getChildAt(c).data[0], rows, nullCell));
        const lines = new Array(rows);
        for (let row = 0; row < rows; row++) {
          let line = '<tr>';
          for (let c = 0; c < cells.length; c++) line += cells[c][row];
          lines[row] = line + '</tr>\n';
        }
        this.push(lines.join(''));
        this.rows += batch.numRows;
      }
      // Dictionaries stay valid for later batches, which may not repeat them.
      for (const message of messages) {
        if (message.type === MessageHeader.DictionaryBatch) this.dictionaries.push(message.bytes.slice());
      }
      if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    });
  }

  finish() {
    return this.call(() => {
      this.push(this.options.fragment ? '</tbody>\n</table>\n' : '</tbody>\n</table>\n</body>\n</html>\n');
      this.flush();
      this.state = 'finished';
      return { rows: BigInt(this.rows), metadata: [['bytes', String(this.written)]] };
    });
  }

  abort() {
    // The host discards the output: write nothing more.
    this.state = 'aborted';
    this.pending = [];
  }

  push(text) {
    const bytes = ENCODER.encode(text);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  flush() {
    if (this.pendingBytes === 0) return;
    const chunk = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const part of this.pending) {
      chunk.set(part, at);
      at += part.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    try {
      this.out.write(chunk);
    } catch (refusal) {
      // Pass the host's message on unchanged.
      throw encodeError('sink-rejected', String(refusal?.payload ?? refusal?.message ?? refusal));
    }
    this.written += chunk.length;
  }

  call(body) {
    if (this.state !== 'open') throw encodeError('internal', `session is ${this.state}`);
    try {
      return guard(body);
    } catch (error) {
      this.state = 'failed';
      this.pending = [];
      throw error;
    }
  }
}

/** Runs `body`; any thrown value that is not already an encode-error becomes `internal`. */
function guard(body) {
  try {
    return body();
  } catch (error) {
    if (error && typeof error.tag === 'string' && 'val' in error) throw error;
    if (error instanceof RangeError && /memory|allocation/i.test(error.message)) {
      throw encodeError('internal', 'out of memory (see --plugin-memory)');
    }
    if (error instanceof TypeError && /decode|utf-?8/i.test(error.message)) {
      throw encodeError('invalid-input', `invalid UTF-8 in a string column: ${error.message}`);
    }
    throw encodeError('internal', String(error?.stack ? `${error}\n${error.stack}` : error));
  }
}

export const encoder = {
  info() {
    return {
      name: NAME,
      version: VERSION,
      mediaType: 'text/html',
      extensions: ['html', 'htm'],
      options: OPTIONS,
    };
  },
  Session,
};
