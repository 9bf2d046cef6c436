//! Gmail Takeout / RFC 5322 mbox reader.
//!
//! [`MboxReader`] streams an mbox message by message: it frames messages on
//! `From ` separator lines (undoing mboxrd/mboxo `>From ` escaping), hands
//! each message's bytes to `mail-parser` (MIME, RFC 2047 encoded words,
//! charsets, quoted-printable, base64) and yields a [`MailMessage`] or a
//! [`Reject`]. Memory stays bounded by the largest message, not the file.
//! [`read_parallel`] reads the same way but parses the messages on several
//! threads while one frames them, and hands them over in the file's order.
//!
//! Privacy by default: only a short snippet of the body is kept unless
//! [`MboxOptions::keep_body`] is set, and attachments are counted, never
//! decoded into the record.

mod frame;
mod message;
mod snippet;

use std::io::BufRead;

use mail_parser::MessageParser;

use crate::Reject;
use frame::{Frame, Framer};

/// How much of each message to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxOptions {
    /// Maximum length of [`MailMessage::snippet`] in characters (default 200).
    pub snippet_chars: usize,
    /// Keep the full decoded text body in [`MailMessage::body`] (default
    /// `false`: mail bodies are private and usually not needed).
    pub keep_body: bool,
    /// Messages larger than this many bytes are skipped and rejected, so one
    /// corrupt or giant message cannot exhaust memory (default 256 MiB).
    pub max_message_bytes: usize,
}

impl Default for MboxOptions {
    fn default() -> Self {
        Self {
            snippet_chars: 200,
            keep_body: false,
            max_message_bytes: 256 * 1024 * 1024,
        }
    }
}

/// One mailbox as written in an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The address as written, trimmed (case kept), e.g. `Ana@Example.com`.
    pub email: String,
    /// The display name, decoded from RFC 2047 encoded words, if any.
    pub name: Option<String>,
}

/// The facts about one email that go on a person's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// 1-based line of the message's `From ` separator line (or its first
    /// line when the file has no separator before it).
    pub line: u64,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// Conversation id: Gmail's `X-GM-THRID`, else the first id in
    /// `References`, else `In-Reply-To`, else the message's own id, else
    /// `hash:` plus a stable hash of date, sender and subject.
    pub thread_id: String,
    /// `Date` header in microseconds since the epoch (UTC); `None` when
    /// missing or unparsable.
    pub date: Option<i64>,
    /// `From` addresses (never empty: a message without one is rejected).
    pub from: Vec<Address>,
    /// `To` addresses.
    pub to: Vec<Address>,
    /// `Cc` addresses.
    pub cc: Vec<Address>,
    /// `Bcc` addresses (present in sent mail exports).
    pub bcc: Vec<Address>,
    /// `Reply-To` addresses.
    pub reply_to: Vec<Address>,
    /// Decoded subject.
    pub subject: Option<String>,
    /// Start of the text body (or tag-stripped HTML body when there is no
    /// text part) without quoted reply lines, whitespace collapsed, at most
    /// [`MboxOptions::snippet_chars`] characters.
    pub snippet: Option<String>,
    /// Full decoded text body, only with [`MboxOptions::keep_body`].
    pub body: Option<String>,
    /// Gmail labels from `X-Gmail-Labels`.
    pub labels: Vec<String>,
    /// Number of attachments (counted, not decoded into the record).
    pub attachments: u32,
    /// Size of the raw message in bytes (From_ line excluded).
    pub bytes: u64,
}

/// Streams [`MailMessage`]s out of an mbox.
///
/// Reads one message at a time into a reused buffer; malformed messages come
/// out as [`Reject`]s and reading goes on with the next one. An I/O error is
/// reported once as a `Reject` and ends the iteration.
pub struct MboxReader<R: BufRead> {
    framer: Framer<R>,
    parser: MessageParser,
    options: MboxOptions,
}

impl<R: BufRead> MboxReader<R> {
    /// Starts reading `reader` (wrap files in a `BufReader` with a large
    /// buffer, e.g. 256 KiB, for speed).
    pub fn new(reader: R, options: MboxOptions) -> Self {
        Self {
            framer: Framer::new(reader, options.max_message_bytes),
            parser: message::parser(),
            options,
        }
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = Result<MailMessage, Reject>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self.framer.next_frame()? {
            Frame::Message { line, raw } => {
                message::to_record(&self.parser, &self.options, line, raw)
            }
            Frame::TooLarge { line, bytes } => Err(too_large(line, bytes, &self.options)),
            Frame::Io { line, error } => Err(read_failed(line, &error)),
        })
    }
}

/// Messages framed into one run for a parsing thread.
const RUN_MESSAGES: usize = 256;
/// Bytes after which a run is handed over even with fewer messages.
const RUN_BYTES: usize = 4 << 20;

/// A run of framed messages: their bytes, one after the other, and where each is.
struct Run {
    bytes: Vec<u8>,
    items: Vec<RunItem>,
}

enum RunItem {
    /// A message: its line and its bytes' range in [`Run::bytes`].
    Message { line: u64, start: usize, end: usize },
    /// A message the framer already rejected (too large, a read error).
    Rejected(Reject),
}

/// Reads an mbox as [`MboxReader`] does, handing `visit` every message or reject in the
/// file's order, but parses the messages (MIME, encoded words, bodies: nearly all the
/// work) on `threads` threads while this one frames them. Memory holds a few runs of
/// messages per thread. The first error `visit` returns stops the reading and is
/// returned.
pub fn read_parallel<R: BufRead + Send, E>(
    reader: R,
    options: &MboxOptions,
    threads: usize,
    visit: &mut dyn FnMut(Result<MailMessage, Reject>) -> Result<(), E>,
) -> Result<(), E> {
    use std::sync::mpsc::sync_channel;
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let mut to_workers = Vec::with_capacity(threads);
        let mut from_workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (send_run, take_run) = sync_channel::<Run>(2);
            let (send_parsed, take_parsed) = sync_channel::<Vec<Result<MailMessage, Reject>>>(2);
            scope.spawn(move || {
                let parser = message::parser();
                for Run { bytes, items } in take_run {
                    let parsed = items
                        .into_iter()
                        .map(|item| match item {
                            RunItem::Message { line, start, end } => {
                                message::to_record(&parser, options, line, &bytes[start..end])
                            }
                            RunItem::Rejected(reject) => Err(reject),
                        })
                        .collect();
                    if send_parsed.send(parsed).is_err() {
                        break;
                    }
                }
            });
            to_workers.push(send_run);
            from_workers.push(take_parsed);
        }
        // Runs go to the workers in turn; the loop below takes them back in the same
        // turn, so messages come out in the file's order.
        scope.spawn(move || {
            let mut framer = Framer::new(reader, options.max_message_bytes);
            let new_run = || Run {
                bytes: Vec::with_capacity(RUN_BYTES),
                items: Vec::with_capacity(RUN_MESSAGES),
            };
            let mut run = new_run();
            let mut sent = 0usize;
            loop {
                let frame = framer.next_frame();
                let end = frame.is_none();
                match frame {
                    Some(Frame::Message { line, raw }) => {
                        let start = run.bytes.len();
                        run.bytes.extend_from_slice(raw);
                        let end = run.bytes.len();
                        run.items.push(RunItem::Message { line, start, end });
                    }
                    Some(Frame::TooLarge { line, bytes }) => {
                        run.items
                            .push(RunItem::Rejected(too_large(line, bytes, options)));
                    }
                    Some(Frame::Io { line, error }) => {
                        run.items.push(RunItem::Rejected(read_failed(line, &error)));
                    }
                    None => {}
                }
                let full = run.items.len() >= RUN_MESSAGES || run.bytes.len() >= RUN_BYTES;
                if (full || end) && !run.items.is_empty() {
                    let next = std::mem::replace(&mut run, new_run());
                    if to_workers[sent % threads].send(next).is_err() {
                        break;
                    }
                    sent += 1;
                }
                if end {
                    break;
                }
            }
        });
        let mut result = Ok(());
        // A worker's channel closes once it has sent its last run: the turn that finds
        // it closed is past the last run.
        'runs: for k in 0.. {
            let Ok(parsed) = from_workers[k % threads].recv() else {
                break;
            };
            for item in parsed {
                if let Err(e) = visit(item) {
                    result = Err(e);
                    break 'runs;
                }
            }
        }
        // Stops the workers and the framer early when `visit` failed.
        drop(from_workers);
        result
    })
}

/// The reject of a message over [`MboxOptions::max_message_bytes`].
fn too_large(line: u64, bytes: u64, options: &MboxOptions) -> Reject {
    Reject::new(
        line,
        format!(
            "message is larger than {} bytes ({bytes} bytes skipped); raise MboxOptions::max_message_bytes to load it",
            options.max_message_bytes
        ),
    )
}

/// The reject that ends a file whose reading failed.
fn read_failed(line: u64, error: &std::io::Error) -> Reject {
    Reject::new(line, format!("reading the mbox failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_and_rejects_in_order() {
        let mbox = "From a Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nSubject: one\n\nbody\n\n\
                    From b Mon Jan  1 00:00:00 2024\nSubject: no sender\n\nbody\n\n\
                    From c Mon Jan  1 00:00:00 2024\nFrom: c@example.com\n\n>From the start\n";
        let out: Vec<_> = MboxReader::new(mbox.as_bytes(), MboxOptions::default()).collect();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().map(|m| m.line), Ok(1));
        assert_eq!(out[1].as_ref().map_err(|r| r.line), Err(7));
        let last = out[2].as_ref().expect("third loads");
        assert_eq!(last.line, 12);
        assert_eq!(last.snippet.as_deref(), Some("From the start"));
    }

    #[test]
    fn crlf_mbox_with_folded_headers() {
        let mbox = "From a Mon Jan  1 00:00:00 2024\r\n\
                    From: =?UTF-8?Q?Ana_L=C3=B3pez?=\r\n <ana@example.com>\r\n\
                    Subject: long\r\n subject\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                    caf=C3=A9 =\r\nau lait\r\n>From me\r\n";
        let out: Vec<_> = MboxReader::new(mbox.as_bytes(), MboxOptions::default()).collect();
        let m = out[0].as_ref().expect("loads");
        assert_eq!(m.from[0].email, "ana@example.com");
        assert_eq!(m.from[0].name.as_deref(), Some("Ana López"));
        assert_eq!(m.subject.as_deref(), Some("long subject"));
        assert_eq!(m.snippet.as_deref(), Some("café au lait From me"));
    }

    #[test]
    fn io_error_becomes_reject() {
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let mut r = MboxReader::new(std::io::BufReader::new(Broken), MboxOptions::default());
        let first = r.next().expect("one item");
        assert!(first.unwrap_err().reason.contains("disk gone"));
        assert!(r.next().is_none());
    }

    #[test]
    fn parallel_reading_gives_what_the_reader_gives_in_order() {
        let mut mbox = String::new();
        for i in 0..2_000 {
            mbox.push_str(&format!("From x{i} Mon Jan  1 00:00:00 2024\n"));
            if i % 97 != 5 {
                mbox.push_str(&format!("From: p{i}@example.com\n"));
            }
            mbox.push_str(&format!(
                "Subject: message {i}\n\n{}\n\n",
                "body ".repeat(i % 50)
            ));
        }
        let options = MboxOptions {
            max_message_bytes: 180,
            ..MboxOptions::default()
        };
        let serial: Vec<_> = MboxReader::new(mbox.as_bytes(), options.clone()).collect();
        assert!(
            serial.iter().any(|m| m.is_err()),
            "some messages are rejects"
        );
        for threads in [1, 2, 3] {
            let mut out = Vec::new();
            let done: Result<(), ()> =
                read_parallel(mbox.as_bytes(), &options, threads, &mut |m| {
                    out.push(m);
                    Ok(())
                });
            assert_eq!(done, Ok(()));
            assert_eq!(out, serial, "{threads} threads");
        }
        // The first error of `visit` stops the reading.
        let mut seen = 0;
        let done = read_parallel(mbox.as_bytes(), &options, 2, &mut |_| {
            seen += 1;
            if seen == 300 { Err("stop") } else { Ok(()) }
        });
        assert_eq!((done, seen), (Err("stop"), 300));
    }
}
