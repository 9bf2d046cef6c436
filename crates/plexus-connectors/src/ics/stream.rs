//! Reads an iCalendar file as a stream of runs of whole series, which any thread turns
//! into meetings, so that a calendar neither sits in memory whole nor parses on one core.
//!
//! A series (every `VEVENT` of one `UID`: the event and its changed instances) must be
//! expanded together, and its events may lie anywhere in the file; time zones may too.
//! So the file is read twice:
//! 1. [`plan_ics`] keeps the file's `VTIMEZONE`s and counts the events of each series;
//! 2. [`cut_ics`] cuts the file into [`IcsChunk`]s of whole series: an event whose series
//!    has one event goes out at once, the others wait until their series is complete.
//!
//! [`parse_chunk`] turns a chunk into meetings on any thread. Memory holds the zones, one
//! count per series of more than one event, and the series still waiting for an event,
//! not the file.

use std::collections::HashMap;
use std::io::{BufRead, ErrorKind};
use std::sync::Arc;

use super::frame::{Block, Framer, Kind};
use super::recur::Window;
use super::series::Series;
use super::tz::TzResolver;
use super::{IcsOptions, Meeting, event, read_zones};
use crate::Reject;
use crate::text::stable_hash;

/// What the first pass over a file found: its time zones and the series of more than one
/// event.
#[derive(Debug)]
pub struct IcsPlan {
    /// The file's `VTIMEZONE`s, shared by every chunk.
    zones: Arc<TzResolver>,
    /// How many events each series of more than one event has, by [`series_key`].
    shared: HashMap<u64, u32>,
}

/// Reads the file's time zones and counts the events of each series. A failed read ends
/// the plan where it stopped: the second pass meets the same failure and reports it.
pub fn plan_ics<R: BufRead>(reader: R) -> IcsPlan {
    let mut zone_blocks = Vec::new();
    let mut counts: HashMap<u64, u32> = HashMap::new();
    let framer = Framer::for_series_keys();
    for_each_block(
        reader,
        framer,
        &mut Vec::new(),
        &mut |block| match block.kind {
            Kind::Timezone => zone_blocks.push(block),
            Kind::Event => {
                if let Some(key) = series_key(&block.text) {
                    let n = counts.entry(key).or_default();
                    *n = n.saturating_add(1);
                }
            }
        },
    );
    counts.retain(|_, n| *n > 1);
    counts.shrink_to_fit();
    IcsPlan {
        zones: Arc::new(read_zones(&zone_blocks)),
        shared: counts,
    }
}

/// Whole series of a file, cut by [`cut_ics`], for [`parse_chunk`].
#[derive(Debug)]
pub struct IcsChunk {
    /// The events of each series, in file order.
    series: Vec<Vec<Block>>,
    /// How many events the chunk holds.
    events: usize,
    /// The file's time zones.
    zones: Arc<TzResolver>,
    /// Where occurrences are kept.
    window: Window,
}

impl IcsChunk {
    fn new(plan: &IcsPlan, window: Window) -> IcsChunk {
        IcsChunk {
            series: Vec::new(),
            events: 0,
            zones: Arc::clone(&plan.zones),
            window,
        }
    }

    fn push(&mut self, series: Vec<Block>) {
        self.events += series.len();
        self.series.push(series);
    }

    /// How many events (`VEVENT`s) the chunk holds.
    pub fn events(&self) -> usize {
        self.events
    }
}

/// Cuts the file read from `reader` (the same file [`plan_ics`] read) into chunks of
/// whole series of about `max_events` events, handed to `visit` in file order: a series
/// goes out once its last event is read. Unterminated or too deeply nested blocks and a
/// failed read go to `rejects` with their line; an error from `visit` stops the cutting
/// and is returned.
pub fn cut_ics<R: BufRead, E>(
    reader: R,
    plan: &IcsPlan,
    options: &IcsOptions,
    max_events: usize,
    visit: &mut dyn FnMut(IcsChunk) -> Result<(), E>,
    rejects: &mut Vec<Reject>,
) -> Result<(), E> {
    let window = Window {
        start: options.window_start,
        end: options.window_end,
        max: options.max_occurrences,
    };
    let max_events = max_events.max(1);
    let mut chunk = IcsChunk::new(plan, window);
    // Series still waiting for events, by key, with the events read so far.
    let mut waiting: HashMap<u64, Vec<Block>> = HashMap::new();
    let mut failed: Result<(), E> = Ok(());
    for_each_block(reader, Framer::default(), rejects, &mut |block| {
        if failed.is_err() || block.kind != Kind::Event {
            return;
        }
        let expected = series_key(&block.text).and_then(|k| plan.shared.get(&k).map(|n| (k, *n)));
        let complete = match expected {
            None => vec![block],
            Some((key, n)) => {
                let events = waiting.entry(key).or_default();
                events.push(block);
                if events.len() < n as usize {
                    return;
                }
                waiting.remove(&key).unwrap_or_default()
            }
        };
        chunk.push(complete);
        if chunk.events >= max_events {
            failed = visit(std::mem::replace(&mut chunk, IcsChunk::new(plan, window)));
        }
    });
    failed?;
    // Series the plan counted more events for than this pass found (the file changed
    // between the passes): what was found goes out, in file order.
    let mut rest: Vec<Vec<Block>> = waiting.into_values().collect();
    rest.sort_by_key(|events| events.first().map(|b| b.line));
    for series in rest {
        chunk.push(series);
        if chunk.events >= max_events {
            visit(std::mem::replace(&mut chunk, IcsChunk::new(plan, window)))?;
        }
    }
    if chunk.events > 0 {
        visit(chunk)?;
    }
    Ok(())
}

/// Turns a chunk's series into their meetings (each series' sorted by start) and the
/// events rejected.
pub fn parse_chunk(chunk: &IcsChunk) -> (Vec<Meeting>, Vec<Reject>) {
    let mut meetings = Vec::new();
    let mut rejects = Vec::new();
    for blocks in &chunk.series {
        // Blocks of one key are one series, except where two UIDs share a key.
        let mut series: Vec<(String, Series)> = Vec::with_capacity(1);
        for b in blocks {
            match event::parse_event(&b.text, b.line, &chunk.zones) {
                Ok(e) => {
                    let at = match series.iter().position(|(uid, _)| *uid == e.uid) {
                        Some(at) => at,
                        None => {
                            series.push((e.uid.clone(), Series::default()));
                            series.len() - 1
                        }
                    };
                    let s = &mut series[at].1;
                    if e.recurrence_id.is_some() {
                        s.overrides.push(e);
                    } else {
                        s.masters.push(e);
                    }
                }
                Err(r) => rejects.push(r),
            }
        }
        for (_, s) in &series {
            let first = meetings.len();
            s.meetings(chunk.window, &mut meetings, &mut rejects);
            meetings[first..].sort_by_key(|m| m.start);
        }
    }
    (meetings, rejects)
}

/// Reads `reader` line by line (invalid UTF-8 replaced) and hands each block `framer`
/// cuts to `visit`; framing rejects and a failed read go to `rejects`.
fn for_each_block<R: BufRead>(
    mut reader: R,
    mut framer: Framer,
    rejects: &mut Vec<Reject>,
    visit: &mut dyn FnMut(Block),
) {
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
                if let Some(block) = framer.push_line(&String::from_utf8_lossy(bytes), rejects) {
                    visit(block);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                rejects.push(Reject::new(
                    framer.lines() + 1,
                    format!("reading the file failed: {e}"),
                ));
                break;
            }
        }
    }
    framer.finish(rejects);
}

/// The key of the series an event belongs to, from its block: the hash of its `UID`, or
/// for an event without one, of its `DTSTART` (the synthetic UID such an event gets
/// derives from its start and summary, so events of one synthetic UID share the key).
/// Two events that parse to the same UID always share a key; two UIDs sharing a key
/// (never, or a hash collision) are told apart by [`parse_chunk`]. `None` for an event
/// with neither, which is rejected.
fn series_key(block: &str) -> Option<u64> {
    let mut depth = 0u32;
    let mut start = None;
    // The block's first line is its own BEGIN: skip it.
    for line in block.lines().skip(1) {
        let (name, value) = split_property(line);
        match name {
            "BEGIN" => depth += 1,
            "END" => depth = depth.saturating_sub(1),
            "UID" if depth == 0 => {
                let uid = value.trim();
                if !uid.is_empty() {
                    return Some(stable_hash(&[b"uid", uid.as_bytes()]));
                }
            }
            "DTSTART" if depth == 0 && start.is_none() => start = Some(value.trim()),
            _ => {}
        }
    }
    start.map(|s| stable_hash(&[b"start", s.as_bytes()]))
}

/// A content line's name (upper-case: [`Framer`] made it so) and value: the value starts
/// after the first `:` outside a quoted parameter value (RFC 5545 3.1).
fn split_property(line: &str) -> (&str, &str) {
    let name_end = line.find([';', ':']).unwrap_or(line.len());
    let mut quoted = false;
    for (i, c) in line.char_indices().skip_while(|(i, _)| *i < name_end) {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return (&line[..name_end], &line[i + 1..]),
            _ => {}
        }
    }
    (&line[..name_end], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, max_events: usize) -> (Vec<Vec<u64>>, Vec<Reject>) {
        let plan = plan_ics(text.as_bytes());
        let mut chunks = Vec::new();
        let mut rejects = Vec::new();
        cut_ics::<_, ()>(
            text.as_bytes(),
            &plan,
            &IcsOptions::default(),
            max_events,
            &mut |c| {
                chunks.push(c.series.iter().map(|s| s[0].line).collect());
                Ok(())
            },
            &mut rejects,
        )
        .expect("visit never fails");
        (chunks, rejects)
    }

    #[test]
    fn a_series_waits_for_its_last_event() {
        // Series `a` has its changed instance at the end of the file.
        let text = "BEGIN:VCALENDAR\n\
            BEGIN:VEVENT\nUID:a\nDTSTART:20240301T100000Z\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:b\nDTSTART:20240301T100000Z\nEND:VEVENT\n\
            BEGIN:VEVENT\nuid:a\nRECURRENCE-ID:20240302T100000Z\nDTSTART:20240302T120000Z\nEND:VEVENT\n\
            END:VCALENDAR\n";
        let (chunks, rejects) = cut(text, 1);
        assert!(rejects.is_empty(), "{rejects:?}");
        // `b` goes out first; `a` once its second event is read.
        assert_eq!(chunks, vec![vec![7], vec![2]]);
    }

    #[test]
    fn keys_follow_the_parsed_uid() {
        let key = |b: &str| series_key(&format!("BEGIN:VEVENT\n{b}\nEND:VEVENT\n"));
        assert_eq!(key("UID: x@y "), key("UID;X-P=\"a:b\":x@y"));
        assert_ne!(key("UID:x@y"), key("UID:X@Y"));
        // A UID of an alarm is not the event's.
        assert_eq!(
            key("BEGIN:VALARM\nUID:alarm\nEND:VALARM\nUID:x@y"),
            key("UID:x@y")
        );
        assert_eq!(
            key("DTSTART:20240301T100000Z"),
            key("DTSTART: 20240301T100000Z")
        );
        assert_eq!(key("SUMMARY:no start"), None);
    }

    #[test]
    fn chunks_hold_about_max_events() {
        let mut text = String::from("BEGIN:VCALENDAR\n");
        for i in 0..10 {
            text.push_str(&format!(
                "BEGIN:VEVENT\nUID:{i}\nDTSTART:20240301T100000Z\nEND:VEVENT\n"
            ));
        }
        let (chunks, _) = cut(&text, 4);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
    }

    #[test]
    fn a_read_error_is_rejected_at_its_line() {
        struct Failing(&'static [u8], bool);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.1 {
                    return Err(std::io::Error::other("disk gone"));
                }
                self.1 = true;
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                Ok(n)
            }
        }
        let text = b"BEGIN:VEVENT\nUID:a\nDTSTART:20240301T100000Z\nEND:VEVENT\nBEGIN:VEVENT\n";
        let mut rejects = Vec::new();
        let mut events = 0;
        cut_ics::<_, ()>(
            std::io::BufReader::new(Failing(text, false)),
            &plan_ics(&text[..]),
            &IcsOptions::default(),
            8,
            &mut |c| {
                events += c.events();
                Ok(())
            },
            &mut rejects,
        )
        .expect("visit never fails");
        assert_eq!(events, 1);
        let reasons: Vec<(u64, &str)> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(reasons[0], (6, "reading the file failed: disk gone"));
        assert!(reasons[1].1.contains("no END:VEVENT"), "{reasons:?}");
    }

    /// The whole-file reading the stream replaces: every block framed, events grouped by
    /// their parsed UID, each series expanded.
    fn whole_file(text: &str, options: &IcsOptions) -> Vec<Meeting> {
        let (blocks, _) = super::super::frame::blocks(text);
        let zones = read_zones(&blocks);
        let window = Window {
            start: options.window_start,
            end: options.window_end,
            max: options.max_occurrences,
        };
        let mut order: Vec<String> = Vec::new();
        let mut by_uid: HashMap<String, Series> = HashMap::new();
        for b in blocks.iter().filter(|b| b.kind == Kind::Event) {
            if let Ok(e) = event::parse_event(&b.text, b.line, &zones) {
                let s = by_uid.entry(e.uid.clone()).or_insert_with(|| {
                    order.push(e.uid.clone());
                    Series::default()
                });
                if e.recurrence_id.is_some() {
                    s.overrides.push(e);
                } else {
                    s.masters.push(e);
                }
            }
        }
        let mut meetings = Vec::new();
        for uid in &order {
            by_uid[uid].meetings(window, &mut meetings, &mut Vec::new());
        }
        meetings.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
        meetings
    }

    proptest::proptest! {
        /// Cut in chunks of any size, with changed instances anywhere in the file and the
        /// time zone before or after the events, a calendar gives the meetings of the
        /// whole-file reading.
        #[test]
        fn streamed_is_whole_file(
            series in proptest::collection::vec((0u8..4, proptest::bool::ANY), 1..8),
            order in proptest::collection::vec(proptest::num::usize::ANY, 0..24),
            zone_last in proptest::bool::ANY,
            max_events in 1usize..5,
        ) {
            let zone = "BEGIN:VTIMEZONE\nTZID:Team\nX-LIC-LOCATION:America/New_York\nEND:VTIMEZONE\n";
            let mut events: Vec<String> = Vec::new();
            for (i, (moved, no_uid)) in series.iter().enumerate() {
                let uid = if *no_uid { String::new() } else { format!("UID:s{i}\n") };
                events.push(format!(
                    "BEGIN:VEVENT\n{uid}DTSTART;TZID=Team:2024030{}T100000\nRRULE:FREQ=WEEKLY;COUNT=4\nSUMMARY:S{i}\nEND:VEVENT\n",
                    1 + i % 9
                ));
                if !*no_uid {
                    for week in 0..*moved {
                        events.push(format!(
                            "BEGIN:VEVENT\n{uid}RECURRENCE-ID;TZID=Team:202403{:02}T100000\nDTSTART;TZID=Team:202403{:02}T150000\nEND:VEVENT\n",
                            1 + i % 9 + 7 * usize::from(week),
                            1 + i % 9 + 7 * usize::from(week),
                        ));
                    }
                }
            }
            // Shuffle the events by swapping pairs.
            for (k, o) in order.iter().enumerate() {
                let n = events.len();
                events.swap(k % n, o % n);
            }
            let mut text = String::from("BEGIN:VCALENDAR\n");
            if !zone_last {
                text.push_str(zone);
            }
            text.push_str(&events.concat());
            if zone_last {
                text.push_str(zone);
            }
            text.push_str("END:VCALENDAR\n");
            let options = IcsOptions::default();
            let plan = plan_ics(text.as_bytes());
            let mut streamed = Vec::new();
            cut_ics::<_, ()>(text.as_bytes(), &plan, &options, max_events, &mut |c| {
                streamed.extend(parse_chunk(&c).0);
                Ok(())
            }, &mut Vec::new()).expect("visit never fails");
            streamed.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
            let whole = whole_file(&text, &options);
            proptest::prop_assert!(!whole.is_empty());
            proptest::prop_assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn keys_only_blocks_give_the_same_keys() {
        let text = "BEGIN:VEVENT\nSUMMARY:x\nuid:abc\n  def\nDESCRIPTION:long\n  text\n\
                    BEGIN:VALARM\nUID:alarm\nEND:VALARM\nDTSTART:20240301T100000Z\nEND:VEVENT\n\
                    BEGIN:VEVENT\nSUMMARY:no uid\nDTSTART\n :20240302T100000Z\nEND:VEVENT\n";
        let frame = |mut framer: Framer| -> Vec<Block> {
            let mut rejects = Vec::new();
            let blocks: Vec<Block> = text
                .split('\n')
                .filter_map(|l| framer.push_line(l, &mut rejects))
                .collect();
            assert!(rejects.is_empty());
            blocks
        };
        let (full, keys) = (frame(Framer::default()), frame(Framer::for_series_keys()));
        assert_eq!(
            keys[0].text,
            "BEGIN:VEVENT\nUID:abc def\nBEGIN:VALARM\nUID:alarm\nEND:VALARM\nDTSTART:20240301T100000Z\nEND:VEVENT\n"
        );
        let key_of = |b: &[Block]| b.iter().map(|b| series_key(&b.text)).collect::<Vec<_>>();
        assert_eq!(key_of(&full), key_of(&keys));
        assert_eq!(key_of(&full)[0], Some(stable_hash(&[b"uid", b"abc def"])));
        assert!(key_of(&full)[1].is_some());
    }
}
