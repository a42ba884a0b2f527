//! CSV and JSON-lines files parsed on several threads, with exactly the batches one thread
//! would make.
//!
//! A splitter thread reads the file in blocks and cuts it into chunks at record boundaries.
//! JSON lines: every `\n` (a JSON string cannot hold a raw newline). CSV: the `\n`s outside
//! quoted fields, found by following csv-core's quoting rules (a `"` opens a quoted field only
//! at the start of a field; `""` inside one is an escaped quote), so a newline inside a quoted
//! field never splits a record. Parser threads decode the chunks with arrow-rs's own decoders,
//! built as the sequential readers are ([`csv_builder`], [`json_builder`]; the CSV header only
//! in the first chunk), and the reader hands the batches on in file order, re-cut to exactly
//! `batch_rows` rows, so what follows (row groups, parts) is the same as from the sequential
//! reader.
//!
//! A chunk that fails to parse ends the stream with the error the sequential reader gives for
//! the same file (it is run up to that error), so messages and line numbers stay exact. Memory
//! is bounded: two chunks read ahead per parser, and when no record ends within eight chunks
//! of bytes (a huge record, or CSV lines ended by a lone `\r`, which csv-core accepts) the rest
//! of the file is read by one thread from the last record end instead of being buffered.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatchReader;

/// Bytes per chunk handed to a parser thread.
pub(super) const CHUNK_BYTES: usize = 8 << 20;

/// The text formats parsed in parallel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Text {
    Csv,
    JsonLines,
}

/// The CSV reader settings every CSV read uses (sequential or chunked).
pub(super) fn csv_builder(schema: SchemaRef, rows: usize) -> arrow::csv::ReaderBuilder {
    arrow::csv::ReaderBuilder::new(schema).with_batch_size(rows)
}

/// The JSON-lines reader settings every JSON-lines read uses (sequential or chunked).
pub(super) fn json_builder(schema: SchemaRef, rows: usize) -> arrow::json::ReaderBuilder {
    arrow::json::ReaderBuilder::new(schema)
        .with_batch_size(rows)
        .with_strict_mode(true)
        .with_coerce_primitive(true)
}

/// Batches read by one thread: the exact error of a failed chunk, or the rest of a file whose
/// records the splitter cannot find.
type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// Opens the one-thread reader of `path` from byte `from` (`header`: a CSV header is there).
fn sequential(
    text: Text,
    path: &Path,
    from: u64,
    header: bool,
    schema: &SchemaRef,
    rows: usize,
) -> Result<Batches, ArrowError> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let source = std::io::BufReader::with_capacity(1 << 20, file);
    Ok(match text {
        Text::Csv => Box::new(
            csv_builder(schema.clone(), rows)
                .with_header(header)
                .build_buffered(source)?,
        ),
        Text::JsonLines => Box::new(json_builder(schema.clone(), rows).build(source)?),
    })
}

/// Where a record may end, given csv-core's quoting: the state after the bytes scanned so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// Outside a quoted field; `at_field_start` when the last byte ended a field or a record
    /// (or nothing was read yet), so a `"` now opens a quoted field.
    Outside { at_field_start: bool },
    /// Inside a quoted field.
    Quoted,
    /// Inside a quoted field, just after a `"`: it closes the field unless another `"` follows.
    QuoteInQuoted,
}

/// Finds record ends in a file's bytes, block by block (for CSV, following the quoting state).
#[derive(Debug)]
struct Splitter {
    text: Text,
    state: Quoting,
}

impl Splitter {
    fn new(text: Text) -> Self {
        Self {
            text,
            state: Quoting::Outside {
                at_field_start: true,
            },
        }
    }

    /// Scans `bytes` (continuing from the previous block) and returns the position just after
    /// the last record-ending `\n` in them, if there is one.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.text == Text::JsonLines {
            return memchr::memrchr(b'\n', bytes).map(|at| at + 1);
        }
        if matches!(self.state, Quoting::Outside { .. }) && memchr::memchr(b'"', bytes).is_none() {
            // No quote at all: every newline ends a record.
            let last = memchr::memrchr(b'\n', bytes);
            if let Some(at) = last {
                self.state = Quoting::Outside {
                    at_field_start: true,
                };
                let tail = &bytes[at + 1..];
                if !tail.is_empty() {
                    self.state = Quoting::Outside {
                        at_field_start: ends_field(tail[tail.len() - 1]),
                    };
                }
            } else if let Some(&byte) = bytes.last() {
                self.state = Quoting::Outside {
                    at_field_start: ends_field(byte),
                };
            }
            return last.map(|at| at + 1);
        }
        let mut boundary = None;
        let mut at = 0;
        while at < bytes.len() {
            match self.state {
                Quoting::Outside { at_field_start } => {
                    let Some(found) = memchr::memchr2(b'"', b'\n', &bytes[at..]) else {
                        // The rest has no quote and no newline: it ends where its last byte does.
                        self.state = Quoting::Outside {
                            at_field_start: ends_field(bytes[bytes.len() - 1]),
                        };
                        break;
                    };
                    let position = at + found;
                    if bytes[position] == b'\n' {
                        boundary = Some(position + 1);
                        self.state = Quoting::Outside {
                            at_field_start: true,
                        };
                    } else {
                        let field_start = if position == at {
                            at_field_start
                        } else {
                            ends_field(bytes[position - 1])
                        };
                        self.state = if field_start {
                            Quoting::Quoted
                        } else {
                            Quoting::Outside {
                                at_field_start: false,
                            }
                        };
                    }
                    at = position + 1;
                }
                Quoting::Quoted => match memchr::memchr(b'"', &bytes[at..]) {
                    Some(found) => {
                        self.state = Quoting::QuoteInQuoted;
                        at += found + 1;
                    }
                    None => break,
                },
                Quoting::QuoteInQuoted => {
                    if bytes[at] == b'"' {
                        // `""`: an escaped quote, still inside the field.
                        self.state = Quoting::Quoted;
                        at += 1;
                    } else {
                        // The field closed; this byte is read as outside it (not consumed).
                        self.state = Quoting::Outside {
                            at_field_start: false,
                        };
                    }
                }
            }
        }
        boundary
    }
}

/// Whether a field or record ends with `byte` (so a `"` after it opens a quoted field).
fn ends_field(byte: u8) -> bool {
    matches!(byte, b',' | b'\n' | b'\r')
}

/// A chunk of whole records, numbered in file order.
type Chunk = (usize, Vec<u8>);
/// What the threads report: a parsed chunk, or (from the splitter) how many chunks there are,
/// or from which chunk on one thread must read the rest.
enum Parsed {
    Chunk(usize, Result<Vec<RecordBatch>, ArrowError>),
    End(usize),
    /// No record ends within [`MAX_CHUNK_FACTOR`] chunks of bytes (a huge record, or CSV lines
    /// ended by a lone `\r`): chunk `.0` and the rest, from byte `.1`, are read sequentially,
    /// so memory stays bounded.
    Sequential(usize, u64),
}

/// How many chunks of bytes the splitter holds while looking for a record end.
const MAX_CHUNK_FACTOR: usize = 8;

/// A chunk's turn: its batches, or the point where one thread takes over.
enum Turn {
    Parsed(Result<Vec<RecordBatch>, ArrowError>),
    SequentialFrom(u64),
}

/// The batches of a CSV or JSON-lines file parsed on several threads, in file order.
pub(super) struct ParallelText {
    schema: SchemaRef,
    batch_rows: usize,
    results: Receiver<Parsed>,
    /// One credit per chunk that may be read ahead; returned when a chunk is consumed.
    credits: Option<SyncSender<()>>,
    /// Chunks parsed out of order, waiting for their turn.
    waiting: BTreeMap<usize, Turn>,
    /// The one-thread reader of the rest of the file, once the splitter gave up.
    rest: Option<Batches>,
    next_chunk: usize,
    /// Parsed batches of the chunks taken so far, not yet handed on.
    queue: std::collections::VecDeque<RecordBatch>,
    queued_rows: usize,
    /// How many chunks the file has, once the splitter has reached its end.
    chunks: Option<usize>,
    /// The chunks are all consumed.
    drained: bool,
    /// The first parse error seen: the stream ends with the sequential reader's error.
    failed: bool,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    text: Text,
    path: PathBuf,
    start: u64,
}

/// What [`ParallelText::start`] reads, and how.
pub(super) struct Plan {
    pub(super) text: Text,
    /// Where the records start (after a byte-order mark).
    pub(super) start: u64,
    pub(super) schema: SchemaRef,
    pub(super) batch_rows: usize,
    pub(super) parsers: usize,
    pub(super) chunk_bytes: usize,
}

impl ParallelText {
    /// Starts reading `path` as `plan` says.
    pub(super) fn start(path: &Path, plan: Plan) -> std::io::Result<Self> {
        let Plan {
            text,
            start,
            schema,
            batch_rows,
            parsers,
            chunk_bytes,
        } = plan;
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(start))?;
        let stop = Arc::new(AtomicBool::new(false));
        let read_ahead = parsers * 2;
        let (credits, credit_wait) = sync_channel::<()>(read_ahead);
        for _ in 0..read_ahead {
            credits
                .send(())
                .expect("the channel has room for every credit");
        }
        let (work, chunks) = sync_channel::<Chunk>(parsers);
        let chunks = Arc::new(Mutex::new(chunks));
        // Parsed chunks' buffers go back to the splitter: no fresh pages for every chunk.
        let (spare, spares) = sync_channel::<Vec<u8>>(read_ahead);
        let (done, results) = channel::<Parsed>();
        let mut threads = Vec::with_capacity(parsers + 1);
        {
            let (done, stop) = (done.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let splitter = Splitter::new(text);
                let channels = SplitterChannels {
                    credits: credit_wait,
                    spares,
                    work,
                    done,
                };
                split(file, start, splitter, chunk_bytes, &channels, &stop);
            }));
        }
        for _ in 0..parsers {
            let (chunks, done, schema) = (chunks.clone(), done.clone(), schema.clone());
            let spare = spare.clone();
            threads.push(std::thread::spawn(move || {
                parse(text, &chunks, &done, &spare, &schema, batch_rows);
            }));
        }
        Ok(Self {
            schema,
            batch_rows,
            results,
            credits: Some(credits),
            waiting: BTreeMap::new(),
            rest: None,
            next_chunk: 0,
            queue: std::collections::VecDeque::new(),
            queued_rows: 0,
            chunks: None,
            drained: false,
            failed: false,
            stop,
            threads,
            text,
            path: path.to_path_buf(),
            start,
        })
    }

    /// Takes the next chunk in file order into the queue; `false` at the end of the file.
    fn take_chunk(&mut self) -> Result<bool, ArrowError> {
        if let Some(rest) = &mut self.rest {
            return match rest.next() {
                Some(batch) => {
                    let batch = batch?;
                    self.queued_rows += batch.num_rows();
                    self.queue.push_back(batch);
                    Ok(true)
                }
                None => Ok(false),
            };
        }
        let turn = loop {
            if let Some(parsed) = self.waiting.remove(&self.next_chunk) {
                break parsed;
            }
            if self.chunks == Some(self.next_chunk) {
                return Ok(false);
            }
            match self.results.recv() {
                Ok(Parsed::Chunk(index, parsed)) => {
                    self.waiting.insert(index, Turn::Parsed(parsed));
                }
                Ok(Parsed::Sequential(index, from)) => {
                    self.waiting.insert(index, Turn::SequentialFrom(from));
                }
                Ok(Parsed::End(chunks)) => self.chunks = Some(chunks),
                // Never a silent end: a chunk that does not come is an error.
                Err(_) => {
                    return Err(ArrowError::CsvError(format!(
                        "the CSV parser threads stopped before chunk {} was parsed",
                        self.next_chunk
                    )));
                }
            }
        };
        let parsed = match turn {
            Turn::Parsed(parsed) => parsed,
            Turn::SequentialFrom(from) => {
                let header = self.next_chunk == 0;
                let (text, schema) = (self.text, &self.schema);
                self.rest = Some(sequential(
                    text,
                    &self.path,
                    from,
                    header,
                    schema,
                    self.batch_rows,
                )?);
                return self.take_chunk();
            }
        };
        self.next_chunk += 1;
        if let Some(credits) = &self.credits {
            let _ = credits.send(());
        }
        for batch in parsed? {
            self.queued_rows += batch.num_rows();
            self.queue.push_back(batch);
        }
        Ok(true)
    }

    /// The next batch of exactly `batch_rows` rows (fewer only at the end).
    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        while !self.drained && self.queued_rows < self.batch_rows {
            if !self.take_chunk()? {
                self.drained = true;
            }
        }
        if self.queued_rows == 0 {
            return Ok(None);
        }
        let wanted = self.batch_rows.min(self.queued_rows);
        let mut parts = Vec::new();
        let mut rows = 0;
        while rows < wanted {
            let batch = self
                .queue
                .pop_front()
                .expect("the queue holds `queued_rows` rows");
            let take = (wanted - rows).min(batch.num_rows());
            if take < batch.num_rows() {
                self.queue
                    .push_front(batch.slice(take, batch.num_rows() - take));
            }
            parts.push(batch.slice(0, take));
            rows += take;
        }
        self.queued_rows -= wanted;
        if parts.len() == 1 {
            return Ok(parts.pop());
        }
        concat_batches(&self.schema, &parts).map(Some)
    }

    /// The error the sequential reader gives for this file (the same message and line).
    fn sequential_error(&self, parallel: ArrowError) -> ArrowError {
        let sequential = sequential(
            self.text,
            &self.path,
            self.start,
            true,
            &self.schema,
            self.batch_rows,
        )
        .map(|mut batches| batches.find_map(Result::err));
        match sequential {
            Ok(Some(error)) | Err(error) => error,
            Ok(None) => parallel,
        }
    }
}

impl Iterator for ParallelText {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(error) => {
                self.failed = true;
                self.stop.store(true, Ordering::Relaxed);
                Some(Err(self.sequential_error(error)))
            }
        }
    }
}

impl RecordBatchReader for ParallelText {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Drop for ParallelText {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Without credits the splitter stops; without it the parsers run out of chunks.
        self.credits = None;
        while self.results.try_recv().is_ok() {}
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// What the splitter thread waits on and sends to.
struct SplitterChannels {
    /// One credit per chunk it may read ahead.
    credits: Receiver<()>,
    /// Buffers of parsed chunks, to read the next chunks into.
    spares: Receiver<Vec<u8>>,
    /// Chunks for the parsers.
    work: SyncSender<Chunk>,
    done: Sender<Parsed>,
}

/// The splitter thread: reads blocks, cuts them at the last record boundary, sends the chunks.
fn split(
    mut file: File,
    start: u64,
    mut splitter: Splitter,
    chunk_bytes: usize,
    channels: &SplitterChannels,
    stop: &AtomicBool,
) {
    let SplitterChannels {
        credits,
        spares,
        work,
        done,
    } = channels;
    let mut carried: Vec<u8> = Vec::new();
    let mut index = 0;
    // Where the next chunk starts in the file.
    let mut offset = start;
    let mut at_end = false;
    while !at_end {
        if stop.load(Ordering::Relaxed) || credits.recv().is_err() {
            return;
        }
        let mut chunk = spares.try_recv().unwrap_or_default();
        chunk.clear();
        chunk.extend_from_slice(&carried);
        carried.clear();
        // Blocks until one holds a record boundary (more than one for a record longer than a
        // block), or the end of the file.
        loop {
            let scanned = chunk.len();
            match (&mut file).take(chunk_bytes as u64).read_to_end(&mut chunk) {
                Err(error) => {
                    let error = ArrowError::IoError(error.to_string(), error);
                    let _ = done.send(Parsed::Chunk(index, Err(error)));
                    return;
                }
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(_) => {}
            }
            if let Some(boundary) = splitter.scan(&chunk[scanned..]) {
                carried.extend_from_slice(&chunk[scanned + boundary..]);
                chunk.truncate(scanned + boundary);
                break;
            }
            if chunk.len() >= MAX_CHUNK_FACTOR * chunk_bytes {
                let _ = done.send(Parsed::Sequential(index, offset));
                return;
            }
        }
        if !chunk.is_empty() {
            offset += chunk.len() as u64;
            if work.send((index, chunk)).is_err() {
                return;
            }
            index += 1;
        }
    }
    let _ = done.send(Parsed::End(index));
}

/// A parser thread: decodes chunks until there are none.
fn parse(
    text: Text,
    chunks: &Mutex<Receiver<Chunk>>,
    done: &Sender<Parsed>,
    spare: &SyncSender<Vec<u8>>,
    schema: &SchemaRef,
    rows: usize,
) {
    loop {
        let next = chunks.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((index, bytes)) = next else {
            return;
        };
        // A decoder that panics on some input must not end the stream silently.
        let parsed = std::panic::catch_unwind(|| match text {
            Text::Csv => decode_csv(schema, index == 0, rows, &bytes),
            Text::JsonLines => decode_json(schema, rows, &bytes),
        })
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(ArrowError::CsvError(format!(
                "the CSV decoder panicked: {message}"
            )))
        });
        // Full (or the splitter gone): the buffer is simply freed.
        let _ = spare.try_send(bytes);
        if done.send(Parsed::Chunk(index, parsed)).is_err() {
            return;
        }
    }
}

/// Decodes whole CSV records as arrow-csv's reader does (the header only in the first chunk).
fn decode_csv(
    schema: &SchemaRef,
    header: bool,
    rows: usize,
    mut bytes: &[u8],
) -> Result<Vec<RecordBatch>, ArrowError> {
    let mut decoder = csv_builder(schema.clone(), rows)
        .with_header(header)
        .build_decoder();
    let mut batches = Vec::new();
    loop {
        let decoded = decoder.decode(bytes)?;
        bytes = &bytes[decoded..];
        if decoded == 0 || decoder.capacity() == 0 {
            match decoder.flush()? {
                Some(batch) => batches.push(batch),
                None if bytes.is_empty() => return Ok(batches),
                None => {
                    return Err(ArrowError::CsvError(
                        "the CSV decoder stopped before the end of a chunk".into(),
                    ));
                }
            }
        }
    }
}

/// Decodes whole JSON lines as arrow-json's reader does.
fn decode_json(
    schema: &SchemaRef,
    rows: usize,
    mut bytes: &[u8],
) -> Result<Vec<RecordBatch>, ArrowError> {
    let mut decoder = json_builder(schema.clone(), rows).build_decoder()?;
    let mut batches = Vec::new();
    loop {
        if bytes.is_empty() {
            batches.extend(decoder.flush()?);
            return Ok(batches);
        }
        let decoded = decoder.decode(bytes)?;
        bytes = &bytes[decoded..];
        if !bytes.is_empty() {
            // The batch is full.
            match decoder.flush()? {
                Some(batch) => batches.push(batch),
                None => {
                    return Err(ArrowError::JsonError(
                        "the JSON decoder stopped before the end of a chunk".into(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record boundary the splitter reports, scanning `text` in blocks of `block`.
    fn boundaries(text: &str, block: usize) -> Vec<usize> {
        let mut splitter = Splitter::new(Text::Csv);
        let mut found = Vec::new();
        for (number, piece) in text.as_bytes().chunks(block).enumerate() {
            if let Some(at) = splitter.scan(piece) {
                found.push(number * block + at);
            }
        }
        found
    }

    #[test]
    fn newlines_in_quoted_fields_are_not_boundaries() {
        let text = "a,b\n\"x\ny\",1\n\"\"\"q\n\",2\n";
        assert_eq!(boundaries(text, 1000), [text.len()]);
        // Split at every byte, the last boundary of each piece is still a real one.
        let real = [4, 12, text.len()];
        for block in 1..text.len() {
            for at in boundaries(text, block) {
                assert!(real.contains(&at), "block {block}: {at}");
            }
        }
    }

    /// A CSV of `id,a,b` rows with every awkward shape csv-core accepts: quoted fields holding
    /// commas, newlines and `""`, quotes inside unquoted fields, CRLF, empty fields, no final
    /// newline, and now and then a row with a wrong field count or a non-integer id.
    fn awkward_csv(rng: &mut fastrand::Rng, rows: usize) -> String {
        let field = |rng: &mut fastrand::Rng| -> String {
            match rng.usize(..8) {
                0 => String::new(),
                1 => "\"a,b\"".into(),
                2 => "\"line\nbreak\"".into(),
                3 => "\"say \"\"hi\"\"\"".into(),
                4 => "5\" screen".into(),
                5 => "\"\r\n\"".into(),
                6 => "é✓".into(),
                _ => format!("w{}", rng.u32(..1000)),
            }
        };
        let mut text = String::from("id,a,b\n");
        for row in 0..rows {
            let id = if rng.usize(..300) == 0 {
                "x".to_owned()
            } else {
                row.to_string()
            };
            text.push_str(&format!("{id},{},{}", field(rng), field(rng)));
            if rng.usize(..400) == 0 {
                text.push_str(",extra");
            }
            if row + 1 < rows || rng.bool() {
                text.push_str(if rng.usize(..4) == 0 { "\r\n" } else { "\n" });
            }
        }
        text
    }

    /// Over 150 random inputs from `make`, the chunked reader gives what the one-thread reader
    /// gives — the same batches, or the same error — at every chunk size and parser count; some
    /// of the inputs must fail.
    fn assert_same_as_sequential(
        text: Text,
        schema: &SchemaRef,
        seed: u64,
        make: impl Fn(&mut fastrand::Rng, usize) -> String,
        chunk_sizes: [usize; 3],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut errors = 0;
        for case in 0..150 {
            let length = rng.usize(..150);
            let input = make(&mut rng, length);
            std::fs::write(&path, &input).unwrap();
            let rows = 1 + rng.usize(..9);
            let header = text == Text::Csv;
            let sequential: Result<Vec<RecordBatch>, String> =
                sequential(text, &path, 0, header, schema, rows)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .map_err(|error| error.to_string());
            errors += usize::from(sequential.is_err());
            let runs = [
                (1, 1),
                (chunk_sizes[0], 2),
                (chunk_sizes[1], 3),
                (chunk_sizes[2], 2),
            ];
            for (chunk_bytes, parsers) in runs {
                let plan = Plan {
                    text,
                    start: 0,
                    schema: schema.clone(),
                    batch_rows: rows,
                    parsers,
                    chunk_bytes,
                };
                let parallel: Result<Vec<RecordBatch>, String> = ParallelText::start(&path, plan)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .map_err(|error| error.to_string());
                assert_eq!(
                    parallel, sequential,
                    "case {case}, chunks of {chunk_bytes} bytes, {parsers} parsers:\n{input}"
                );
            }
        }
        assert!(
            errors > 10 && errors < 140,
            "{errors} of 150 inputs fail to parse"
        );
    }

    #[test]
    fn parallel_batches_are_the_sequential_batches() {
        use arrow::datatypes::{DataType, Field, Schema};
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        assert_same_as_sequential(Text::Csv, &schema, 20261207, awkward_csv, [7, 64, 1 << 20]);
    }

    /// JSON lines with escaped newlines and quotes in strings, missing keys, blank lines, CRLF,
    /// numbers as strings, and now and then an unknown key or a broken line.
    fn awkward_json_lines(rng: &mut fastrand::Rng, rows: usize) -> String {
        let mut text = String::new();
        for row in 0..rows {
            let a = match rng.usize(..5) {
                0 => "\"two\\nlines\"".to_owned(),
                1 => "\"say \\\"hi\\\"\"".to_owned(),
                2 => "null".to_owned(),
                3 => "\"é✓\"".to_owned(),
                _ => format!("\"w{}\"", rng.u32(..1000)),
            };
            let line = match rng.usize(..200) {
                0 => format!("{{\"id\":{row},\"a\":{a},\"surprise\":1}}"),
                1 => format!("{{\"id\":{row},\"a\":"),
                2..=20 => format!("{{\"a\":{a}}}"),
                21..=30 => String::new(),
                31..=40 => format!("{{\"id\":\"{row}\",\"b\":{}.5}}", row % 7),
                _ => format!("{{\"id\":{row},\"a\":{a},\"b\":{}}}", rng.f64()),
            };
            text.push_str(&line);
            if row + 1 < rows || rng.bool() {
                text.push_str(if rng.usize(..4) == 0 { "\r\n" } else { "\n" });
            }
        }
        text
    }

    #[test]
    fn parallel_json_lines_are_the_sequential_batches() {
        use arrow::datatypes::{DataType, Field, Schema};
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Float64, true),
        ]));
        let make = awkward_json_lines;
        assert_same_as_sequential(Text::JsonLines, &schema, 7, make, [9, 100, 1 << 20]);
    }

    #[test]
    fn lines_ended_by_a_lone_cr_fall_back_to_one_thread_with_the_same_batches() {
        use arrow::datatypes::{DataType, Field, Schema};
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        // csv-core ends a record at a lone `\r`; the splitter only cuts at `\n`, so it never
        // finds a boundary here and hands the file to one thread instead of buffering it all.
        let mut text = String::from("id,name\r");
        for row in 0..5000 {
            text.push_str(&format!("{row},name {row}\r"));
        }
        text.push_str("5000,last\n5001,after\n");
        std::fs::write(&path, &text).unwrap();
        let sequential: Vec<RecordBatch> = sequential(Text::Csv, &path, 0, true, &schema, 7)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            sequential.iter().map(RecordBatch::num_rows).sum::<usize>(),
            5002
        );
        for chunk_bytes in [16, 1000, 100_000] {
            let plan = Plan {
                text: Text::Csv,
                start: 0,
                schema: schema.clone(),
                batch_rows: 7,
                parsers: 2,
                chunk_bytes,
            };
            let parallel: Vec<RecordBatch> = ParallelText::start(&path, plan)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(parallel, sequential, "chunks of {chunk_bytes} bytes");
        }
    }

    #[test]
    fn dropping_the_reader_early_stops_its_threads() {
        use arrow::datatypes::{DataType, Field, Schema};
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        let text = awkward_csv(&mut fastrand::Rng::with_seed(1), 100_000);
        std::fs::write(&path, &text).unwrap();
        let plan = Plan {
            text: Text::Csv,
            start: 0,
            schema,
            batch_rows: 100,
            parsers: 3,
            chunk_bytes: 4096,
        };
        let mut reader = ParallelText::start(&path, plan).unwrap();
        assert!(reader.next().is_some());
        let started = std::time::Instant::now();
        // Drop joins the splitter and the parsers: they must all stop, not wait for the file.
        drop(reader);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_literal() {
        // csv-core reads `5" screen` as text: the newline after it ends the record.
        let text = "size,n\n5\" screen,1\nx,2\n";
        for block in 1..=text.len() {
            let found = boundaries(text, block);
            assert!(found.contains(&text.len()), "block {block}: {found:?}");
            assert!(found.iter().all(|at| [7, 19, 23].contains(at)), "{found:?}");
        }
    }
}
