//! Splits an mbox stream into raw messages.
//!
//! An mbox is a sequence of messages, each introduced by a separator line
//! starting with `From ` (the "From_ line"). Writers escape body lines that
//! would look like a separator by prefixing `>`: mboxo escapes `From `, mboxrd
//! escapes `>*From `. This framer treats every line starting with `From ` as
//! a separator and removes one `>` from lines matching `>+From ` (mboxrd
//! unescaping, which is also right for mboxo output).
//!
//! The framer streams: it reads one line at a time straight into a reused
//! message buffer, so memory is bounded by the largest message, not the file.

use std::io::{BufRead, ErrorKind};

/// One framed item.
pub(crate) enum Frame<'a> {
    /// A message's raw bytes (From_ line excluded, `>From ` unescaped) and
    /// the line it starts on.
    Message { line: u64, raw: &'a [u8] },
    /// A message larger than the limit; its bytes were skipped.
    TooLarge { line: u64, bytes: u64 },
    /// Reading failed; framing stops.
    Io { line: u64, error: std::io::Error },
}

/// Streaming mbox splitter over a `BufRead`.
pub(crate) struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Lines consumed so far.
    line_no: u64,
    /// Line of a From_ separator already read that starts the next message.
    pending_start: Option<u64>,
    done: bool,
    max_bytes: usize,
}

/// True for a line that only holds whitespace (including its line ending).
fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// True for `>+From ` lines, which lose one `>` when unescaped.
fn is_escaped_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

/// Removes the blank line that separates a message from the next From_ line.
fn strip_separator_blank(buf: &mut Vec<u8>) {
    for ending in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if buf.ends_with(ending) {
            buf.truncate(buf.len() - ending.len() / 2);
            return;
        }
    }
}

/// Appends one line (with its `\n`, if any) from `reader` to `buf`;
/// returns the number of bytes appended, 0 at the end of the input. Like
/// `BufRead::read_until`, with the `memchr` crate's SIMD search.
fn read_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(total);
        }
        if let Some(i) = memchr::memchr(b'\n', available) {
            buf.extend_from_slice(&available[..=i]);
            reader.consume(i + 1);
            return Ok(total + i + 1);
        }
        let n = available.len();
        buf.extend_from_slice(available);
        reader.consume(n);
        total += n;
    }
}

impl<R: BufRead> Framer<R> {
    /// Wraps `reader`; messages larger than `max_bytes` are skipped.
    pub(crate) fn new(reader: R, max_bytes: usize) -> Self {
        Self {
            reader,
            buf: Vec::with_capacity(64 * 1024),
            line_no: 0,
            pending_start: None,
            done: false,
            max_bytes,
        }
    }

    /// Returns the next message, or `None` at the end of the stream.
    pub(crate) fn next_frame(&mut self) -> Option<Frame<'_>> {
        loop {
            if self.done && self.pending_start.is_none() {
                return None;
            }
            self.buf.clear();
            let mut start = self.pending_start.take();
            let mut skipped: u64 = 0;
            let mut too_large = false;
            while !self.done {
                let at = self.buf.len();
                match read_line(&mut self.reader, &mut self.buf) {
                    Ok(0) => self.done = true,
                    Ok(n) => {
                        self.line_no += 1;
                        let line = &self.buf[at..];
                        if line.starts_with(b"From ") {
                            self.buf.truncate(at);
                            if start.is_some() {
                                self.pending_start = Some(self.line_no);
                                break;
                            }
                            start = Some(self.line_no);
                        } else if start.is_none() {
                            // Text before the first From_ line: a bare
                            // message (e.g. one .eml) unless it is blank.
                            if is_blank(line) {
                                self.buf.truncate(at);
                            } else {
                                start = Some(self.line_no);
                            }
                        } else if is_escaped_from(line) {
                            self.buf.remove(at);
                        }
                        if too_large {
                            skipped += n as u64;
                            self.buf.clear();
                        } else if self.buf.len() > self.max_bytes {
                            too_large = true;
                            skipped = self.buf.len() as u64;
                            self.buf.clear();
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(error) => {
                        self.done = true;
                        self.pending_start = None;
                        return Some(Frame::Io {
                            line: self.line_no + 1,
                            error,
                        });
                    }
                }
            }
            let Some(line) = start else {
                continue;
            };
            if too_large {
                return Some(Frame::TooLarge {
                    line,
                    bytes: skipped,
                });
            }
            if is_blank(&self.buf) {
                continue;
            }
            strip_separator_blank(&mut self.buf);
            return Some(Frame::Message {
                line,
                raw: &self.buf,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<(u64, String)> {
        let mut f = Framer::new(input.as_bytes(), usize::MAX);
        let mut out = Vec::new();
        while let Some(frame) = f.next_frame() {
            match frame {
                Frame::Message { line, raw } => {
                    out.push((line, String::from_utf8_lossy(raw).into_owned()))
                }
                Frame::TooLarge { line, .. } => out.push((line, "<too large>".into())),
                Frame::Io { .. } => out.push((0, "<io>".into())),
            }
        }
        out
    }

    #[test]
    fn splits_on_from_lines_with_line_numbers() {
        let input = "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n\
                     From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody 2\n";
        assert_eq!(
            frames(input),
            vec![
                (1, "Subject: one\n\nbody 1\n".to_owned()),
                (6, "Subject: two\n\nbody 2\n".to_owned()),
            ]
        );
    }

    #[test]
    fn unescapes_mboxrd_from_lines() {
        let input = "From x\nSubject: s\n\n>From here\n>>From there\n> From not\n";
        assert_eq!(
            frames(input)[0].1,
            "Subject: s\n\nFrom here\n>From there\n> From not\n"
        );
    }

    #[test]
    fn handles_crlf_and_missing_final_newline() {
        let input = "From x\r\nSubject: s\r\n\r\nbody\r\n\r\nFrom y\r\nSubject: t\r\n\r\nend";
        assert_eq!(
            frames(input),
            vec![
                (1, "Subject: s\r\n\r\nbody\r\n".to_owned()),
                (6, "Subject: t\r\n\r\nend".to_owned())
            ]
        );
    }

    #[test]
    fn bare_message_without_from_line_and_empty_messages() {
        assert_eq!(
            frames("\n\nSubject: eml\n\nhi\n"),
            vec![(3, "Subject: eml\n\nhi\n".to_owned())]
        );
        assert_eq!(frames("From a\n\nFrom b\n"), vec![]);
        assert_eq!(frames(""), vec![]);
    }

    #[test]
    fn skips_oversized_messages_but_keeps_going() {
        let input = "From a\nSubject: big\n\n0123456789\n0123456789\nFrom b\nSubject: small\n";
        let mut f = Framer::new(input.as_bytes(), 20);
        match f.next_frame() {
            Some(Frame::TooLarge { line: 1, bytes }) => assert!(bytes > 0),
            _ => panic!("expected TooLarge"),
        }
        match f.next_frame() {
            Some(Frame::Message { line: 6, raw }) => assert_eq!(raw, b"Subject: small\n"),
            _ => panic!("expected message"),
        }
        assert!(f.next_frame().is_none());
    }
}
