//! Segment spec NDJSON reader (<https://segment.com/docs/connections/spec/>).
//!
//! Reads one call per line (`identify`, `track`, `page`, `screen`, `group`,
//! `alias`; `type` is case-insensitive), streaming: one reused line buffer,
//! borrowed deserialization, and `traits`/`properties` kept as raw JSON text
//! instead of being built into `serde_json::Value` trees. Blank lines are
//! skipped; every other line yields a [`SegmentRecord`] or a [`Reject`].
//!
//! Field rules:
//! - ids: `userId`, `anonymousId`, `previousId`, `groupId`, `messageId`
//!   (snake_case variants also read; numbers accepted as text), and the
//!   device's `context.device.id`; `groupId`, else `context.groupId` (the
//!   group a track, page or screen call is made in).
//! - time: `timestamp`, else `originalTimestamp`, else `sentAt`, else
//!   `receivedAt`; ISO 8601, a time without zone is read as UTC.
//! - person: `email`, `phone`, `name` (or `firstName` + `lastName`) from
//!   `traits` on identify, from `context.traits` on other calls. On group
//!   calls the traits describe the group: `traits.name` becomes `company`.
//!
//! Rejected: invalid JSON (with its column), a missing or unknown `type`,
//! neither `userId` nor `anonymousId` (alias instead needs `previousId` and
//! `userId`), a track without `event`, a missing or unparsable timestamp.

mod convert;
mod fast;
mod lenient;
mod wire;

use std::borrow::Cow;
use std::io::{BufRead, ErrorKind};

use crate::Reject;

/// One Segment call, flattened for the timeline.
///
/// Text borrows from the parsed line where it can (`SegmentRecord<'static>` owns it all:
/// what [`SegmentReader`] yields); [`parse_line`] gives borrowed records, so a caller that
/// copies them into columns at once allocates nothing per call.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord<'a> {
    /// 1-based line of the call in its file.
    pub line: u64,
    /// Call type, lower-case: identify, track, page, screen, group or alias.
    pub kind: &'static str,
    /// `messageId`, Segment's de-duplication key.
    pub message_id: Option<Cow<'a, str>>,
    /// Event time in microseconds since the epoch (UTC).
    pub timestamp: i64,
    /// `anonymousId` (device/cookie id before sign-up).
    pub anonymous_id: Option<Cow<'a, str>>,
    /// `context.device.id` (the device's own id, e.g. a mobile advertising
    /// or install id).
    pub device_id: Option<Cow<'a, str>>,
    /// `userId` (the app's own user id).
    pub user_id: Option<Cow<'a, str>>,
    /// `previousId` of an alias call (the id being merged into `userId`).
    pub previous_id: Option<Cow<'a, str>>,
    /// `groupId` of a group call (the account/company id), else the
    /// `context.groupId` a track, page or screen call is made in.
    pub group_id: Option<Cow<'a, str>>,
    /// What happened: the track event name, `page_viewed`, `screen_viewed`,
    /// `identify`, `group` or `alias`.
    pub event: Cow<'a, str>,
    /// Page or screen name (`name`, else `properties.name`).
    pub name: Option<Cow<'a, str>>,
    /// Email from the traits.
    pub email: Option<Cow<'a, str>>,
    /// Person's name from the traits (`name`, or `firstName lastName`).
    pub person_name: Option<Cow<'a, str>>,
    /// Phone from the traits.
    pub phone: Option<Cow<'a, str>>,
    /// Company: the group's `traits.name` on group calls, else the
    /// `company` trait (a name, or an object with `name`).
    pub company: Option<Cow<'a, str>>,
    /// Raw JSON text of the traits used (`traits` on identify/group,
    /// `context.traits` on other calls).
    pub traits: Option<Cow<'a, str>>,
    /// Raw JSON text of `properties`.
    pub properties: Option<Cow<'a, str>>,
    /// `properties.url`, else `context.page.url`.
    pub url: Option<Cow<'a, str>>,
    /// `properties.revenue` (a number or numeric string).
    pub revenue: Option<f64>,
    /// `properties.currency`.
    pub currency: Option<Cow<'a, str>>,
}

impl SegmentRecord<'_> {
    /// The record with all its text owned, free of the line it was parsed from.
    pub fn into_owned(self) -> SegmentRecord<'static> {
        let own = |v: Option<Cow<'_, str>>| v.map(|v| Cow::Owned(v.into_owned()));
        SegmentRecord {
            line: self.line,
            kind: self.kind,
            message_id: own(self.message_id),
            timestamp: self.timestamp,
            anonymous_id: own(self.anonymous_id),
            device_id: own(self.device_id),
            user_id: own(self.user_id),
            previous_id: own(self.previous_id),
            group_id: own(self.group_id),
            event: Cow::Owned(self.event.into_owned()),
            name: own(self.name),
            email: own(self.email),
            person_name: own(self.person_name),
            phone: own(self.phone),
            company: own(self.company),
            traits: own(self.traits),
            properties: own(self.properties),
            url: own(self.url),
            revenue: self.revenue,
            currency: own(self.currency),
        }
    }
}

/// Streams [`SegmentRecord`]s out of NDJSON, one line at a time.
///
/// Lines are parsed straight out of the reader's buffer when they fit in it
/// (no copy); only a line split across two buffer fills is assembled in a
/// reused side buffer. An I/O error is reported once as a [`Reject`] and ends
/// the iteration.
pub struct SegmentReader<R: BufRead> {
    reader: R,
    /// Start of a line whose end is not in the reader's buffer yet.
    partial: Vec<u8>,
    line: u64,
    done: bool,
}

/// Reads Segment NDJSON from `reader` (wrap files in a `BufReader`, ideally
/// with a large buffer such as 256 KiB).
pub fn read_segment<R: BufRead>(reader: R) -> SegmentReader<R> {
    SegmentReader::new(reader)
}

/// Parses one raw line (without its `\n`; a trailing `\r` is fine) numbered `line`
/// (1-based; a byte-order mark is skipped on line 1), `None` for a blank line.
///
/// This is [`read_segment`]'s parser for callers that cut a file into runs of whole
/// lines themselves, to parse the runs on several threads.
pub fn parse_line(bytes: &[u8], line: u64) -> Option<Result<SegmentRecord<'_>, Reject>> {
    let bytes = if line == 1 {
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    } else {
        bytes
    };
    let bytes = bytes.trim_ascii();
    (!bytes.is_empty()).then(|| convert::convert(bytes, line))
}

/// A parsed line with its text owned.
fn owned(
    item: Option<Result<SegmentRecord<'_>, Reject>>,
) -> Option<Result<SegmentRecord<'static>, Reject>> {
    item.map(|r| r.map(SegmentRecord::into_owned))
}

impl<R: BufRead> SegmentReader<R> {
    /// Starts reading `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            partial: Vec::new(),
            line: 0,
            done: false,
        }
    }

    /// Reports an I/O error once and stops.
    fn io_error(&mut self, e: &std::io::Error) -> Option<Result<SegmentRecord<'static>, Reject>> {
        self.done = true;
        Some(Err(Reject::new(
            self.line + 1,
            format!("reading the file failed: {e}"),
        )))
    }
}

impl<R: BufRead> Iterator for SegmentReader<R> {
    type Item = Result<SegmentRecord<'static>, Reject>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return self.io_error(&e),
            };
            if buf.is_empty() {
                // End of input: a last line without a newline.
                self.done = true;
                if self.partial.is_empty() {
                    return None;
                }
                self.line += 1;
                let item = owned(parse_line(&self.partial, self.line));
                self.partial.clear();
                return item;
            }
            let Some(pos) = memchr::memchr(b'\n', buf) else {
                self.partial.extend_from_slice(buf);
                let n = buf.len();
                self.reader.consume(n);
                continue;
            };
            self.line += 1;
            let item = if self.partial.is_empty() {
                owned(parse_line(&buf[..pos], self.line))
            } else {
                self.partial.extend_from_slice(&buf[..pos]);
                let item = owned(parse_line(&self.partial, self.line));
                self.partial.clear();
                item
            };
            self.reader.consume(pos + 1);
            if item.is_some() {
                return item;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_lines_skipping_blanks_with_line_numbers() {
        let input = "\u{feff}{\"type\":\"track\",\"event\":\"a\",\"userId\":\"u\",\"timestamp\":\"2024-01-01T00:00:00Z\"}\r\n\
                     \n   \n\
                     {\"type\":\"nope\"}\n\
                     {\"type\":\"page\",\"anonymousId\":\"x\",\"timestamp\":\"2024-01-01T00:00:00Z\"}";
        let out: Vec<_> = read_segment(input.as_bytes()).collect();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().map(|r| r.line), Ok(1));
        assert_eq!(out[1].as_ref().map_err(|r| r.line), Err(4));
        assert_eq!(out[2].as_ref().map(|r| r.line), Ok(5));
    }

    #[test]
    fn lines_split_across_buffer_fills() {
        let line = "{\"type\":\"track\",\"event\":\"a\",\"userId\":\"u\",\"timestamp\":\"2024-01-01T00:00:00Z\"}";
        let input = format!("{line}\n\n{line}\n{line}");
        // A 7-byte buffer splits every line over many fills.
        let reader = std::io::BufReader::with_capacity(7, input.as_bytes());
        let lines: Vec<u64> = read_segment(reader)
            .map(|r| r.map(|r| r.line).unwrap_or(0))
            .collect();
        assert_eq!(lines, vec![1, 3, 4]);
    }

    #[test]
    fn invalid_utf8_is_rejected_not_panicking() {
        let input = b"{\"type\":\"track\",\"event\":\"\xff\"}\n";
        let out: Vec<_> = read_segment(&input[..]).collect();
        assert!(out[0].is_err());
    }
}
