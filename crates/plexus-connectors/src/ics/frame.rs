//! Splits an iCalendar file into its `VEVENT` and `VTIMEZONE` blocks, each
//! with the line it starts on, so one malformed event is rejected with its
//! line while the rest of the calendar loads. Each block is later parsed on
//! its own by the `icalendar` crate.

use crate::Reject;

/// The component kinds the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `VEVENT`.
    Event,
    /// `VTIMEZONE`.
    Timezone,
}

impl Kind {
    /// The component name.
    fn name(self) -> &'static str {
        match self {
            Kind::Event => "VEVENT",
            Kind::Timezone => "VTIMEZONE",
        }
    }
}

/// One component's text, unfolded and normalised to `\n` line endings with
/// blank lines dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// Which component it is.
    pub kind: Kind,
    /// 1-based line of its `BEGIN:` line.
    pub line: u64,
    /// `BEGIN:...` to `END:...` inclusive.
    pub text: String,
}

/// `BEGIN:NAME` / `END:NAME` of a kind, if `line` is one.
fn marker(line: &str) -> Option<(bool, Kind)> {
    let (key, name) = line.split_once(':')?;
    let begin = if key.eq_ignore_ascii_case("BEGIN") {
        true
    } else if key.eq_ignore_ascii_case("END") {
        false
    } else {
        return None;
    };
    let name = name.trim();
    [Kind::Event, Kind::Timezone]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .map(|k| (begin, k))
}

/// Appends a content line with its property name upper-cased (names are
/// case-insensitive, RFC 5545 3.1; the parser matches them upper-case).
fn push_upper_name(text: &mut String, line: &str) {
    let end = line.find([';', ':']).unwrap_or(line.len());
    text.push_str(&line[..end].to_ascii_uppercase());
    text.push_str(&line[end..]);
}

/// Whether a content line is one of [`KEY_LINES`] (names are case-insensitive).
fn is_key_line(line: &str) -> bool {
    let name = &line[..line.find([';', ':']).unwrap_or(line.len())];
    KEY_LINES.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// Deepest sub-component nesting accepted inside a block (a VEVENT with a
/// VALARM is depth 1). The `icalendar` parser recurses per level, so a
/// crafted file nesting thousands of levels would overflow the stack.
const MAX_DEPTH: u32 = 8;

/// An open block being collected.
struct Open {
    kind: Kind,
    line: u64,
    text: String,
    /// Current sub-component nesting depth.
    depth: u32,
    /// True once `depth` went past [`MAX_DEPTH`].
    too_deep: bool,
    /// Whether the last content line was kept (its folded continuations follow it).
    kept: bool,
}

/// +1 for a `BEGIN:` line, -1 for an `END:` line, 0 otherwise.
fn nesting_step(line: &str) -> i32 {
    let key = line.split_once(':').map_or("", |(k, _)| k.trim());
    if key.eq_ignore_ascii_case("BEGIN") {
        1
    } else if key.eq_ignore_ascii_case("END") {
        -1
    } else {
        0
    }
}

/// Splits `text` into blocks; unterminated blocks become rejects (what [`Framer`] does
/// line by line, for tests).
#[cfg(test)]
pub(crate) fn blocks(text: &str) -> (Vec<Block>, Vec<Reject>) {
    let mut out = Vec::new();
    let mut rejects = Vec::new();
    let mut framer = Framer::default();
    for raw in text.split('\n') {
        if let Some(block) = framer.push_line(raw, &mut rejects) {
            out.push(block);
        }
    }
    framer.finish(&mut rejects);
    (out, rejects)
}

/// Cuts a file into blocks one line at a time, so that a file streams: the same blocks
/// and rejects as [`blocks`] of the whole text.
#[derive(Default)]
pub(crate) struct Framer {
    /// The block being collected.
    open: Option<Open>,
    /// Lines pushed so far.
    lines: u64,
    /// Keep only the lines that tell an event's series (see [`Framer::for_series_keys`]).
    keys_only: bool,
}

/// The lines a [`Framer::for_series_keys`] keeps of a `VEVENT`: what its series key and its
/// sub-components' nesting are read from.
const KEY_LINES: [&str; 4] = ["UID", "DTSTART", "BEGIN", "END"];

impl Framer {
    /// A framer whose `VEVENT` blocks hold only their `UID`, `DTSTART`, `BEGIN` and `END`
    /// lines (time zones stay whole): enough to count each series' events without
    /// copying the file's text.
    pub(crate) fn for_series_keys() -> Framer {
        Framer {
            keys_only: true,
            ..Framer::default()
        }
    }

    /// Lines pushed so far: the 1-based number of the last one.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// Takes the file's next line (without its `\n`; a `\r` before it is dropped) and
    /// returns the block it ends, if any. A block cut short by the next `BEGIN:` or too
    /// deep goes to `rejects`.
    pub(crate) fn push_line(&mut self, raw: &str, rejects: &mut Vec<Reject>) -> Option<Block> {
        self.lines += 1;
        let line_no = self.lines;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        // Folded continuation: one leading space or tab is removed.
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(o) = self.open.as_mut().filter(|o| !o.too_deep && o.kept) {
                o.text.push_str(rest);
            }
            return None;
        }
        match (marker(line.trim_end()), self.open.take()) {
            (Some((true, kind)), previous) => {
                if let Some(p) = previous {
                    rejects.push(unterminated(&p, Some(line_no)));
                }
                let mut text = String::with_capacity(1024);
                text.push_str("BEGIN:");
                text.push_str(kind.name());
                self.open = Some(Open {
                    kind,
                    line: line_no,
                    text,
                    depth: 0,
                    too_deep: false,
                    kept: true,
                });
                None
            }
            (Some((false, kind)), Some(mut o)) if o.kind == kind => {
                if o.too_deep {
                    rejects.push(Reject::new(
                        o.line,
                        format!(
                            "{} nests sub-components more than {MAX_DEPTH} levels deep",
                            kind.name()
                        ),
                    ));
                    return None;
                }
                o.text.push_str("\nEND:");
                o.text.push_str(kind.name());
                o.text.push('\n');
                Some(Block {
                    kind,
                    line: o.line,
                    text: o.text,
                })
            }
            (_, Some(mut o)) => {
                match nesting_step(line) {
                    1 => o.depth += 1,
                    -1 => o.depth = o.depth.saturating_sub(1),
                    _ => {}
                }
                if o.depth > MAX_DEPTH {
                    o.too_deep = true;
                }
                // A block too deep stops collecting text: it will be rejected.
                o.kept = !o.too_deep
                    && !line.trim().is_empty()
                    && (!self.keys_only || o.kind == Kind::Timezone || is_key_line(line));
                if o.kept {
                    o.text.push('\n');
                    push_upper_name(&mut o.text, line);
                }
                self.open = Some(o);
                None
            }
            (_, None) => None,
        }
    }

    /// Ends the file: a block still open goes to `rejects`.
    pub(crate) fn finish(self, rejects: &mut Vec<Reject>) {
        if let Some(o) = self.open {
            rejects.push(unterminated(&o, None));
        }
    }
}

/// Reject for a block without its `END:` line.
fn unterminated(o: &Open, next: Option<u64>) -> Reject {
    let name = o.kind.name();
    let where_ = match next {
        Some(n) => format!("before the next BEGIN:{name} on line {n}"),
        None => "before the end of the file".to_owned(),
    };
    Reject::new(o.line, format!("{name} has no END:{name} {where_}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_unfolds_and_numbers_lines() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n\
                    BEGIN:VEVENT\r\nsummary:Long\r\n  title\r\n\r\nBEGIN:VALARM\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let (blocks, rejects) = blocks(text);
        assert!(rejects.is_empty());
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].kind, Kind::Timezone);
        assert_eq!(blocks[0].line, 2);
        assert_eq!(blocks[1].kind, Kind::Event);
        assert_eq!(blocks[1].line, 5);
        assert_eq!(
            blocks[1].text,
            "BEGIN:VEVENT\nSUMMARY:Long title\nBEGIN:VALARM\nEND:VALARM\nEND:VEVENT\n"
        );
    }

    #[test]
    fn deep_nesting_is_rejected_not_recursed() {
        let n = 10_000;
        let text = format!(
            "BEGIN:VEVENT\nUID:x\n{}{}END:VEVENT\nBEGIN:VEVENT\nUID:y\nEND:VEVENT\n",
            "BEGIN:VALARM\n".repeat(n),
            "END:VALARM\n".repeat(n)
        );
        let (blocks, rejects) = blocks(&text);
        assert_eq!(blocks.len(), 1);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 1);
        assert!(rejects[0].reason.contains("levels deep"));
    }

    #[test]
    fn unterminated_blocks_are_rejected() {
        let text = "BEGIN:VEVENT\nUID:a\nBEGIN:VEVENT\nUID:b\nEND:VEVENT\nBEGIN:VEVENT\nUID:c\n";
        let (blocks, rejects) = blocks(text);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].line, 3);
        assert_eq!(
            rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 6]
        );
        assert!(rejects[0].reason.contains("line 3"));
    }
}
