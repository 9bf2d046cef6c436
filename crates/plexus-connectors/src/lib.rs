//! File-format parsers that turn exports from customer-facing tools into
//! flat, typed records for the Plexus customer-360 engine.
//!
//! Each module reads one format and never panics on any input bytes:
//!
//! - [`mbox`]: Gmail Takeout / RFC 5322 mailboxes, streamed message by message.
//! - [`ics`]: RFC 5545 iCalendar files (Google Calendar exports), one record
//!   per meeting occurrence, recurrences expanded, streamed series by series.
//! - [`stripe`]: Stripe API objects (list objects, JSON arrays or NDJSON), streamed.
//! - [`segment`]: Segment spec calls as NDJSON, streamed line by line.
//!
//! Conventions shared by every module:
//!
//! - Times are `i64` microseconds since the Unix epoch, UTC.
//! - Every record carries the 1-based `line` of its file where it starts, so a
//!   problem can be traced back to the source.
//! - A malformed item becomes a [`Reject`] naming its line and what is wrong;
//!   parsing goes on with the next item, so one bad item never loses a file.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ics;
pub mod mbox;
pub mod segment;
pub mod stripe;

mod reject;
mod text;
mod time;

pub use reject::Reject;
