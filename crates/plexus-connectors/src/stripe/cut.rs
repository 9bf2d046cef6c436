//! Cuts a Stripe export into runs of whole objects, without parsing them, so that a file
//! of any size streams and its objects parse on every core.
//!
//! The cutter reads the file in blocks and follows only the JSON structure around the
//! objects: which top-level value it is in (a list object, an array or one object), the
//! keys of a top-level object (to find its `data` array), and inside an object only
//! strings and brackets. The objects' own syntax is left to the parser that reads them
//! later, where an error rejects that object only.
//!
//! What a file may hold, one top-level value after another (so NDJSON, one object per
//! line, is a file of many top-level values):
//! - an object with a `data` array (a Stripe list object): each element is an object;
//! - an array: each element is an object;
//! - any other object: one object.
//!
//! A structural error (a missing comma, a bracket that closes the wrong thing, a line
//! break inside a string, a file that ends inside a value) rejects the rest of that
//! top-level value at the error's line; reading goes on at the next line that starts with
//! `{` or `[`, so one broken NDJSON line loses only itself. Objects cut before the error
//! load.

use std::io::Read;

use crate::Reject;

/// Bytes read at a time.
const BLOCK_BYTES: usize = 1 << 20;

/// A chunk is handed on once it holds this many bytes, whatever its number of objects.
const CHUNK_BYTES: usize = 8 << 20;

/// A run of whole Stripe objects cut from a file, in file order, each with its line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StripeChunk {
    /// The objects' text, one after another.
    bytes: Vec<u8>,
    /// Where each object ends in `bytes` and the 1-based line it starts on. An object
    /// starts where the previous one ends.
    items: Vec<(usize, u64)>,
}

impl StripeChunk {
    /// The number of objects.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the chunk holds no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Each object's text and the line it starts on, in order.
    pub fn items(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        let mut start = 0;
        self.items.iter().map(move |&(end, line)| {
            let text = &self.bytes[start..end];
            start = end;
            (text, line)
        })
    }

    /// Ends the object whose bytes were appended since the last one.
    fn end_item(&mut self, line: u64) {
        self.items.push((self.bytes.len(), line));
    }

    /// Drops the bytes of an object that was not ended.
    fn drop_partial(&mut self) {
        let end = self.items.last().map_or(0, |&(end, _)| end);
        self.bytes.truncate(end);
    }
}

/// Cuts the Stripe export read from `reader` into chunks of at most `max_items` objects
/// (fewer when they are large), handed to `visit` in file order. Structural errors and a
/// failed read go to `rejects` with their line (see the module docs); an error from
/// `visit` stops the cutting and is returned.
pub fn cut_stripe<R: Read, E>(
    reader: R,
    max_items: usize,
    visit: &mut dyn FnMut(StripeChunk) -> Result<(), E>,
    rejects: &mut Vec<Reject>,
) -> Result<(), E> {
    cut_in_blocks(reader, max_items, BLOCK_BYTES, visit, rejects)
}

/// [`cut_stripe`] with the block size as a parameter, so that tests can cut values
/// across block boundaries anywhere.
fn cut_in_blocks<R: Read, E>(
    mut reader: R,
    max_items: usize,
    block_bytes: usize,
    visit: &mut dyn FnMut(StripeChunk) -> Result<(), E>,
    rejects: &mut Vec<Reject>,
) -> Result<(), E> {
    let mut cutter = Cutter::new(max_items.max(1));
    let mut block = vec![0u8; block_bytes.max(1)];
    loop {
        let n = match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                cutter.rejects.push(Reject::new(
                    cutter.line,
                    format!("reading the file failed: {e}"),
                ));
                cutter.abandon();
                break;
            }
        };
        cutter.feed(&block[..n]);
        rejects.append(&mut cutter.rejects);
        for chunk in cutter.ready.drain(..) {
            visit(chunk)?;
        }
    }
    cutter.finish();
    rejects.append(&mut cutter.rejects);
    for chunk in cutter.ready.drain(..) {
        visit(chunk)?;
    }
    Ok(())
}

/// What comes next in a container the cutter follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Just after `{`: a key or `}`.
    KeyOrEnd,
    /// After a comma in an object.
    Key,
    /// After a key.
    Colon,
    /// Just after `[`: a value or `]`.
    ValueOrEnd,
    /// After a colon, or a comma in an array.
    Value,
    /// After a value.
    CommaOrEnd,
}

/// A container the cutter follows: the top-level value, and a top-level object's `data`
/// array.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// `}` or `]`.
    close: u8,
    expect: Expect,
    /// Whether its elements are the objects to cut.
    items: bool,
}

/// A value the cutter only skips through (an object to cut, or a member of a top-level
/// object other than its `data` array).
#[derive(Debug)]
struct Skipped {
    /// The brackets to close, innermost last; empty for a string or a bare literal.
    closers: Vec<u8>,
    /// A bare literal (`true`, `null`, a number): it ends before the next delimiter.
    literal: bool,
    /// Whether it is an object to cut (else part of a top-level object's text).
    item: bool,
}

/// Where the bytes read go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Nowhere: whitespace, commas and brackets around the objects.
    Nowhere,
    /// The top-level object's text: it is one object unless it has a `data` array.
    Envelope,
    /// The chunk: an object being cut.
    Item,
}

/// How the cutter resumes after a structural error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Reading normally.
    No,
    /// Skipping to the end of the line.
    ToLineEnd,
    /// At the start of a line: resumes if it starts with `{` or `[`.
    LineStart,
}

/// The cutter's state between blocks.
struct Cutter {
    max_items: usize,
    /// 1-based line of the next byte.
    line: u64,
    /// Offset in the file of the next byte, and of the current line's first byte.
    offset: u64,
    line_start: u64,
    /// The column of the previous line's line break.
    prev_line_end: u64,
    /// Whether any top-level value has started (for the first error's wording).
    started: bool,
    frames: Vec<Frame>,
    skipped: Option<Skipped>,
    in_string: bool,
    escaped: bool,
    /// Whether the string being read is a top-level object's key (kept in `key`).
    in_key: bool,
    key: Vec<u8>,
    /// The top-level object's text, its first line and whether it had a `data` array.
    envelope: Vec<u8>,
    top_line: u64,
    has_data: bool,
    /// The line the object being cut starts on.
    item_line: u64,
    sink: Sink,
    /// Where in the current block the sink's bytes start.
    copy_from: usize,
    skip: Skip,
    chunk: StripeChunk,
    ready: Vec<StripeChunk>,
    rejects: Vec<Reject>,
}

/// Whether `b` may continue a bare literal (`true`, `false`, `null`, a number).
fn literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

/// A byte shown in an error: printable ASCII as itself, the rest as a code.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

impl Cutter {
    fn new(max_items: usize) -> Cutter {
        Cutter {
            max_items,
            line: 1,
            offset: 0,
            line_start: 0,
            prev_line_end: 0,
            started: false,
            frames: Vec::new(),
            skipped: None,
            in_string: false,
            escaped: false,
            in_key: false,
            key: Vec::new(),
            envelope: Vec::new(),
            top_line: 1,
            has_data: false,
            item_line: 1,
            sink: Sink::Nowhere,
            copy_from: 0,
            skip: Skip::No,
            chunk: StripeChunk::default(),
            ready: Vec::new(),
            rejects: Vec::new(),
        }
    }

    /// Appends `block[copy_from..end]` to the current sink.
    fn flush(&mut self, block: &[u8], end: usize) {
        let bytes = &block[self.copy_from.min(end)..end];
        match self.sink {
            Sink::Nowhere => {}
            Sink::Envelope => self.envelope.extend_from_slice(bytes),
            Sink::Item => self.chunk.bytes.extend_from_slice(bytes),
        }
        self.copy_from = end;
    }

    /// Sends the bytes from `at` on to `sink`.
    fn switch(&mut self, block: &[u8], at: usize, sink: Sink) {
        self.flush(block, at);
        self.sink = sink;
    }

    /// Ends the object being cut, whose last byte is `block[end - 1]`.
    fn end_item(&mut self, block: &[u8], end: usize) {
        self.switch(block, end, Sink::Nowhere);
        self.chunk.end_item(self.item_line);
        self.hand_on_if_full();
    }

    fn hand_on_if_full(&mut self) {
        if self.chunk.len() >= self.max_items || self.chunk.bytes.len() >= CHUNK_BYTES {
            self.ready.push(std::mem::take(&mut self.chunk));
        }
    }

    /// Rejects the rest of the top-level value at byte `at` of `block` and skips to the
    /// next line that starts one.
    fn fail(&mut self, at: usize, what: impl std::fmt::Display) {
        let column = self.offset + at as u64 - self.line_start + 1;
        let reason = if self.started {
            format!("invalid JSON at column {column}: {what}")
        } else {
            format!(
                "not a Stripe JSON export: {what} at column {column} (expected a list \
                 object, a JSON array or NDJSON objects)"
            )
        };
        self.rejects.push(Reject::new(self.line, reason));
        self.copy_from = at;
        self.abandon();
        self.skip = Skip::ToLineEnd;
    }

    /// Drops the top-level value being read (after an error).
    fn abandon(&mut self) {
        self.frames.clear();
        self.skipped = None;
        self.in_string = false;
        self.escaped = false;
        self.in_key = false;
        self.envelope.clear();
        self.chunk.drop_partial();
        self.sink = Sink::Nowhere;
    }

    /// At the end of the file: an unfinished value is rejected, the last chunk handed on.
    fn finish(&mut self) {
        if self.skip == Skip::No && !self.frames.is_empty() {
            self.rejects.push(Reject::new(
                self.line,
                format!(
                    "the file ends inside the JSON value that starts on line {}: is it cut \
                     short?",
                    self.top_line
                ),
            ));
        }
        self.abandon();
        if !self.chunk.is_empty() {
            self.ready.push(std::mem::take(&mut self.chunk));
        }
    }

    fn newline(&mut self, block: &[u8], at: usize) {
        debug_assert_eq!(block[at], b'\n');
        self.line += 1;
        self.prev_line_end = self.offset + at as u64 - self.line_start + 1;
        self.line_start = self.offset + at as u64 + 1;
    }

    /// Reads one block.
    fn feed(&mut self, block: &[u8]) {
        self.copy_from = 0;
        let mut i = 0;
        while i < block.len() {
            i = if self.skip != Skip::No {
                self.skip_line(block, i)
            } else if self.in_string {
                self.string(block, i)
            } else if self.skipped.is_some() {
                self.skipped_value(block, i)
            } else {
                self.structure(block, i)
            };
        }
        self.flush(block, block.len());
        self.offset += block.len() as u64;
    }

    /// After an error: skips to a line that starts with `{` or `[`.
    fn skip_line(&mut self, block: &[u8], i: usize) -> usize {
        match self.skip {
            Skip::LineStart if matches!(block[i], b'{' | b'[') => {
                self.skip = Skip::No;
                self.copy_from = i;
                i
            }
            Skip::LineStart if block[i] == b'\n' => {
                self.newline(block, i);
                i + 1
            }
            _ => match memchr::memchr(b'\n', &block[i..]) {
                Some(n) => {
                    self.newline(block, i + n);
                    self.skip = Skip::LineStart;
                    i + n + 1
                }
                None => {
                    self.skip = Skip::ToLineEnd;
                    block.len()
                }
            },
        }
    }

    /// Inside a string: to its closing quote.
    fn string(&mut self, block: &[u8], i: usize) -> usize {
        if self.escaped {
            self.escaped = false;
            if block[i] == b'\n' {
                self.fail(i, "a line break inside a string (is a quote missing?)");
                return i;
            }
            if self.in_key {
                self.key.push(block[i]);
            }
            return i + 1;
        }
        let Some(n) = memchr::memchr3(b'"', b'\\', b'\n', &block[i..]) else {
            if self.in_key {
                self.key.extend_from_slice(&block[i..]);
            }
            return block.len();
        };
        let at = i + n;
        if self.in_key {
            self.key.extend_from_slice(&block[i..at]);
        }
        match block[at] {
            b'\\' => {
                self.escaped = true;
                if self.in_key {
                    self.key.push(b'\\');
                }
                at + 1
            }
            b'\n' => {
                self.fail(at, "a line break inside a string (is a quote missing?)");
                at
            }
            _ => {
                self.in_string = false;
                if self.in_key {
                    self.in_key = false;
                    if let Some(frame) = self.frames.last_mut() {
                        frame.expect = Expect::Colon;
                    }
                } else if self
                    .skipped
                    .as_ref()
                    .is_some_and(|s| s.closers.is_empty() && !s.literal)
                {
                    self.end_skipped(block, at + 1);
                }
                at + 1
            }
        }
    }

    /// Inside a value being skipped through, outside its strings.
    fn skipped_value(&mut self, block: &[u8], mut i: usize) -> usize {
        while i < block.len() {
            let b = block[i];
            let skipped = self
                .skipped
                .as_mut()
                .expect("called inside a skipped value");
            if skipped.literal {
                if literal_byte(b) {
                    i += 1;
                    continue;
                }
                // The delimiter belongs to the container: read it there.
                self.end_skipped(block, i);
                return i;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    return i + 1;
                }
                b'{' => skipped.closers.push(b'}'),
                b'[' => skipped.closers.push(b']'),
                b'}' | b']' => {
                    if skipped.closers.last() != Some(&b) {
                        let expected = skipped.closers.last().copied().unwrap_or(b'}');
                        self.fail(
                            i,
                            format!("{} where {} was expected", shown(b), shown(expected)),
                        );
                        return i;
                    }
                    skipped.closers.pop();
                    if skipped.closers.is_empty() {
                        self.end_skipped(block, i + 1);
                        return i + 1;
                    }
                }
                b'\n' => self.newline(block, i),
                _ => {}
            }
            i += 1;
        }
        i
    }

    /// The value being skipped through ends before `block[end]`.
    fn end_skipped(&mut self, block: &[u8], end: usize) {
        if let Some(skipped) = self.skipped.take()
            && skipped.item
        {
            self.end_item(block, end);
        }
    }

    /// Starts a value at `block[i]` inside the current frame.
    fn value(&mut self, block: &[u8], i: usize) -> usize {
        let b = block[i];
        let frame = *self.frames.last().expect("values start inside a frame");
        let is_data =
            self.frames.len() == 1 && frame.close == b'}' && self.key == b"data" && b == b'[';
        if let Some(f) = self.frames.last_mut() {
            f.expect = Expect::CommaOrEnd;
        }
        if is_data {
            // The `data` array of a list: its elements are the objects; the envelope keeps
            // `[]` in its place.
            self.has_data = true;
            self.switch(block, i + 1, Sink::Nowhere);
            self.frames.push(Frame {
                close: b']',
                expect: Expect::ValueOrEnd,
                items: true,
            });
            return i + 1;
        }
        let (closers, literal) = match b {
            b'{' => (vec![b'}'], false),
            b'[' => (vec![b']'], false),
            b'"' => (Vec::new(), false),
            b if literal_byte(b) => (Vec::new(), true),
            _ => {
                self.fail(i, format!("{} where a value was expected", shown(b)));
                return i;
            }
        };
        if frame.items {
            self.item_line = self.line;
            self.switch(block, i, Sink::Item);
        }
        self.skipped = Some(Skipped {
            closers,
            literal,
            item: frame.items,
        });
        if b == b'"' {
            self.in_string = true;
        }
        if literal { i } else { i + 1 }
    }

    /// Closes the innermost frame at `block[i]`.
    fn close(&mut self, block: &[u8], i: usize) -> usize {
        let frame = self.frames.pop().expect("closing an open frame");
        match self.frames.last() {
            // The end of a `data` array: the envelope goes on from its `]`.
            Some(_) => self.switch(block, i, Sink::Envelope),
            None if frame.close == b'}' => {
                self.flush(block, i + 1);
                self.sink = Sink::Nowhere;
                if !self.has_data {
                    // An object that is not a list: it is the object to cut.
                    self.chunk.bytes.extend_from_slice(&self.envelope);
                    self.chunk.end_item(self.top_line);
                    self.hand_on_if_full();
                }
                self.envelope.clear();
            }
            None => {}
        }
        i + 1
    }

    /// Outside any value: whitespace and the structure of the frames.
    fn structure(&mut self, block: &[u8], i: usize) -> usize {
        let b = block[i];
        match b {
            b'\n' => {
                self.newline(block, i);
                return i + 1;
            }
            b' ' | b'\t' | b'\r' => return i + 1,
            _ => {}
        }
        let Some(frame) = self.frames.last().copied() else {
            return self.top_level(block, i);
        };
        match (frame.expect, b) {
            (Expect::KeyOrEnd | Expect::Key, b'"') => {
                self.in_string = true;
                self.in_key = self.frames.len() == 1;
                self.key.clear();
                i + 1
            }
            (Expect::KeyOrEnd | Expect::ValueOrEnd | Expect::CommaOrEnd, _) if b == frame.close => {
                self.close(block, i)
            }
            (Expect::Colon, b':') => {
                if let Some(f) = self.frames.last_mut() {
                    f.expect = Expect::Value;
                }
                i + 1
            }
            (Expect::Value | Expect::ValueOrEnd, _) => self.value(block, i),
            (Expect::CommaOrEnd, b',') => {
                if let Some(f) = self.frames.last_mut() {
                    f.expect = if f.close == b'}' {
                        Expect::Key
                    } else {
                        Expect::Value
                    };
                }
                i + 1
            }
            (_, b'{' | b'[')
                if self.frames.len() == 1
                    && frame.close == b'}'
                    && self.top_line < self.line
                    && self.offset + i as u64 == self.line_start =>
            {
                // NDJSON: a line's object is not closed, and the next line starts another.
                let column = if self.top_line + 1 == self.line {
                    self.prev_line_end
                } else {
                    1
                };
                self.rejects.push(Reject::new(
                    self.top_line,
                    format!(
                        "invalid JSON at column {column}: the object is not closed before \
                         line {}, which starts another",
                        self.line
                    ),
                ));
                self.abandon();
                i
            }
            (expect, _) => {
                let wanted = match expect {
                    Expect::KeyOrEnd => "a key or `}`".to_string(),
                    Expect::Key => "a key in quotes".to_string(),
                    Expect::Colon => "`:`".to_string(),
                    _ => format!("`,` or {}", shown(frame.close)),
                };
                self.fail(i, format!("{} where {wanted} was expected", shown(b)));
                i
            }
        }
    }

    /// At the top level: the start of the next value.
    fn top_level(&mut self, block: &[u8], i: usize) -> usize {
        let b = block[i];
        let first = !self.started;
        if first && self.offset + (i as u64) < 3 && matches!(b, 0xEF | 0xBB | 0xBF) {
            // A UTF-8 byte order mark.
            return i + 1;
        }
        match b {
            b'{' => {
                self.has_data = false;
                self.envelope.clear();
                self.switch(block, i, Sink::Envelope);
                self.frames.push(Frame {
                    close: b'}',
                    expect: Expect::KeyOrEnd,
                    items: false,
                });
            }
            b'[' => self.frames.push(Frame {
                close: b']',
                expect: Expect::ValueOrEnd,
                items: true,
            }),
            _ => {
                self.fail(i, format!("{} where `{{` or `[` was expected", shown(b)));
                return i;
            }
        }
        self.started = true;
        self.top_line = self.line;
        i + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object's text and line, and the rejects, cutting with `block` bytes at a time.
    fn cut(text: &str, block: usize, max_items: usize) -> (Vec<(String, u64)>, Vec<Reject>) {
        let mut items = Vec::new();
        let mut rejects = Vec::new();
        cut_in_blocks(
            text.as_bytes(),
            max_items,
            block,
            &mut |chunk: StripeChunk| {
                assert!(chunk.len() <= max_items);
                items.extend(
                    chunk
                        .items()
                        .map(|(t, l)| (String::from_utf8_lossy(t).into_owned(), l)),
                );
                Ok::<(), ()>(())
            },
            &mut rejects,
        )
        .expect("visit never fails");
        (items, rejects)
    }

    /// [`cut`] in every block size from 1 to 9 and 1 MiB, and chunk sizes 1 and 3: all
    /// must agree.
    fn cut_all_ways(text: &str) -> (Vec<(String, u64)>, Vec<Reject>) {
        let whole = cut(text, BLOCK_BYTES, 1000);
        for block in 1..10 {
            for max in [1, 3] {
                assert_eq!(cut(text, block, max), whole, "block {block}, chunk {max}");
            }
        }
        whole
    }

    fn texts(items: &[(String, u64)]) -> Vec<&str> {
        items.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn a_list_object_gives_its_data_elements_with_their_lines() {
        let text = "{\n  \"object\": \"list\",\n  \"url\": \"/v1/x\",\n  \"data\": [\n    {\"id\":\"a\",\"n\":{\"m\":[1,2]}},\n    {\"id\":\"b\\\"}\"}\n  ],\n  \"has_more\": false\n}\n";
        let (items, rejects) = cut_all_ways(text);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(
            texts(&items),
            ["{\"id\":\"a\",\"n\":{\"m\":[1,2]}}", "{\"id\":\"b\\\"}\"}"]
        );
        assert_eq!(items[0].1, 5);
        assert_eq!(items[1].1, 6);
    }

    #[test]
    fn arrays_single_objects_ndjson_and_concatenated_lists() {
        let (items, rejects) = cut_all_ways("[{\"a\":1},\n {\"b\":[]} , 7]");
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(texts(&items), ["{\"a\":1}", "{\"b\":[]}", "7"]);
        assert_eq!(items.iter().map(|i| i.1).collect::<Vec<_>>(), [1, 2, 2]);

        let event = "{\"id\":\"evt_1\",\"data\":{\"object\":{\"id\":\"x\"}},\"list\":[1]}";
        let (items, rejects) = cut_all_ways(&format!("{event}\n\n{event}\r\n"));
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(texts(&items), [event, event]);
        assert_eq!(items[1].1, 3);

        let (items, _) =
            cut_all_ways("{\"data\":[{\"a\":1}],\"has_more\":true}\n{\"data\":[{\"b\":2}]}\n");
        assert_eq!(texts(&items), ["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(items[1].1, 2);
    }

    #[test]
    fn a_broken_line_loses_only_itself() {
        let (items, rejects) =
            cut_all_ways("{\"a\":1}\n\n{broken\n{\"b\":2}\n{\"c\":\"x}\n[{\"d\":4}]\n");
        assert_eq!(texts(&items), ["{\"a\":1}", "{\"b\":2}", "{\"d\":4}"]);
        assert_eq!(items[2].1, 6);
        assert_eq!(rejects.len(), 2, "{rejects:?}");
        assert_eq!(rejects[0].line, 3);
        assert_eq!(
            rejects[0].reason,
            "invalid JSON at column 2: `b` where a key or `}` was expected"
        );
        assert_eq!(rejects[1].line, 5);
        assert!(rejects[1].reason.contains("line break inside a string"));
    }

    #[test]
    fn an_unclosed_ndjson_line_is_rejected_and_the_next_line_read() {
        let (items, rejects) = cut_all_ways("{\"a\":1}\n{\"b\": 12\n{\"c\":3}\n");
        assert_eq!(texts(&items), ["{\"a\":1}", "{\"c\":3}"]);
        assert_eq!(items[1].1, 3);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 2);
        assert_eq!(
            rejects[0].reason,
            "invalid JSON at column 9: the object is not closed before line 3, which starts \
             another"
        );
    }

    #[test]
    fn structural_errors_are_rejected_at_their_line() {
        let (items, rejects) = cut_all_ways("{\n \"object\": \"list\"\n \"data\": []\n}\n");
        assert!(items.is_empty());
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
        assert!(
            rejects[0]
                .reason
                .contains("`\"` where `,` or `}` was expected")
        );

        // Objects before the error load; the element that the error is in does not.
        let (items, rejects) = cut_all_ways("{\"data\":[\n{\"a\":1},\n{\"b\":[2}\n,{\"c\":3}]}");
        assert_eq!(texts(&items), ["{\"a\":1}"]);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 3);
        assert_eq!(
            rejects[0].reason,
            "invalid JSON at column 8: `}` where `]` was expected"
        );

        let (items, rejects) = cut_all_ways("[\n{\"id\":1,\n");
        assert!(items.is_empty());
        assert_eq!(rejects.len(), 1);
        assert!(
            rejects[0]
                .reason
                .contains("ends inside the JSON value that starts on line 1")
        );

        let (_, rejects) = cut_all_ways("id,object\n");
        assert_eq!(rejects.len(), 1);
        assert!(
            rejects[0].reason.starts_with("not a Stripe JSON export"),
            "{}",
            rejects[0].reason
        );
        let (items, rejects) = cut_all_ways("  \n");
        assert!(items.is_empty() && rejects.is_empty());
    }

    #[test]
    fn a_byte_order_mark_and_invalid_utf8_pass() {
        let (items, rejects) = cut_all_ways("\u{feff}[{\"a\":\"\u{e9}\"}]");
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(texts(&items), ["{\"a\":\"\u{e9}\"}"]);
        let mut bytes = b"[{\"a\":\"".to_vec();
        bytes.extend([0xff, 0xfe]);
        bytes.extend(b"\"}]");
        let mut items = Vec::new();
        let mut rejects = Vec::new();
        cut_stripe(
            &bytes[..],
            10,
            &mut |c: StripeChunk| {
                items.extend(c.items().map(|(t, _)| t.to_vec()));
                Ok::<(), ()>(())
            },
            &mut rejects,
        )
        .expect("visit never fails");
        assert_eq!(items, [bytes[1..bytes.len() - 1].to_vec()]);
    }

    /// Any JSON value: nested objects and arrays, strings with quotes, escapes and
    /// non-ASCII text, numbers and literals.
    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\{}\\[\\],:é\u{1F600}\n\t ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-z\"{}]{0,5}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The objects of any valid list, array or NDJSON, compact or pretty-printed, are
        /// cut exactly: each parses back to the element it was.
        #[test]
        fn valid_json_is_cut_into_its_objects(
            objects in proptest::collection::vec(
                proptest::collection::vec(("[a-z_]{1,6}", json()), 0..5),
                0..6,
            ),
            pretty in proptest::prelude::any::<bool>(),
            block in 1usize..64,
        ) {
            use serde_json::Value;
            let objects: Vec<Value> = objects
                .into_iter()
                .map(|kv| Value::Object(kv.into_iter().collect()))
                .collect();
            let show = |v: &Value| if pretty {
                serde_json::to_string_pretty(v).expect("a value prints")
            } else {
                serde_json::to_string(v).expect("a value prints")
            };
            let list = serde_json::json!({"object": "list", "url": "/v1/x", "data": objects, "has_more": false});
            let ndjson: String = objects
                .iter()
                .map(|o| serde_json::to_string(o).expect("a value prints") + "\n")
                .collect();
            for text in [show(&list), show(&Value::Array(objects.clone())), ndjson] {
                let (items, rejects) = cut(&text, block, 3);
                proptest::prop_assert!(rejects.is_empty(), "{rejects:?} in {text}");
                let back: Vec<Value> = items
                    .iter()
                    .map(|(t, _)| serde_json::from_str(t).expect("an object cut whole"))
                    .collect();
                proptest::prop_assert_eq!(&back, &objects);
            }
        }
    }

    #[test]
    fn a_visit_error_stops_the_cutting() {
        let text = "{\"a\":1}\n".repeat(10);
        let mut seen = 0;
        let result = cut_in_blocks(
            text.as_bytes(),
            2,
            4,
            &mut |c: StripeChunk| {
                seen += c.len();
                if seen >= 4 { Err("stop") } else { Ok(()) }
            },
            &mut Vec::new(),
        );
        assert_eq!(result, Err("stop"));
        assert_eq!(seen, 4);
    }
}
