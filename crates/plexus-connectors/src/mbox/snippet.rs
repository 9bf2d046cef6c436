//! Builds the short preview of a message body shown on a timeline.
//!
//! A reply usually repeats the whole thread below an attribution line
//! ("On Mon, 4 Mar 2024, Ana wrote:") and `>`-quoted lines. The snippet keeps
//! only what this message adds: quoted lines and the attribution are dropped
//! and whitespace is collapsed to single spaces.

/// True for an attribution line such as `On Mon, 4 Mar 2024 Ana <a@x> wrote:`.
fn is_attribution(line: &str) -> bool {
    line.starts_with("On ") && line.ends_with("wrote:")
}

/// Returns the first `max_chars` characters of `body` without quoted reply
/// lines and attribution lines, whitespace collapsed; `None` when nothing
/// is left.
pub(crate) fn snippet(body: &str, max_chars: usize) -> Option<String> {
    if max_chars == 0 {
        return None;
    }
    let mut out = String::with_capacity(max_chars.min(1024));
    let mut count = 0usize;
    let mut lines = body.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() || line.starts_with('>') || is_attribution(line) {
            continue;
        }
        // Attribution wrapped over two lines: "On ... Ana <" / "a@x> wrote:".
        if line.starts_with("On ")
            && lines
                .peek()
                .is_some_and(|next| next.ends_with("wrote:") && !next.starts_with('>'))
        {
            lines.next();
            continue;
        }
        for word in line.split_whitespace() {
            if count > 0 {
                out.push(' ');
                count += 1;
            }
            for ch in word.chars() {
                if count >= max_chars {
                    break;
                }
                out.push(ch);
                count += 1;
            }
            if count >= max_chars {
                let trimmed = out.trim_end().len();
                out.truncate(trimmed);
                return Some(out);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace() {
        assert_eq!(
            snippet("  Hello\n\n  world\tagain  ", 200).as_deref(),
            Some("Hello world again")
        );
    }

    #[test]
    fn drops_quotes_and_attribution() {
        let body = "Sounds good, see you then.\n\nOn Mon, 4 Mar 2024 at 10:00, Ana <ana@example.com> wrote:\n> Shall we meet?\n>> older\n";
        assert_eq!(
            snippet(body, 200).as_deref(),
            Some("Sounds good, see you then.")
        );
    }

    #[test]
    fn drops_wrapped_attribution() {
        let body = "Yes.\nOn Mon, 4 Mar 2024 at 10:00, Ana Lopez <\nana@example.com> wrote:\n> q\n";
        assert_eq!(snippet(body, 200).as_deref(), Some("Yes."));
    }

    #[test]
    fn cuts_on_char_boundary() {
        assert_eq!(snippet("héllo wörld", 4).as_deref(), Some("héll"));
        assert_eq!(snippet("ab cd", 3).as_deref(), Some("ab"));
        assert_eq!(snippet("日本語のテキスト", 3).as_deref(), Some("日本語"));
    }

    #[test]
    fn empty_or_only_quotes_is_none() {
        assert_eq!(snippet("", 10), None);
        assert_eq!(snippet("> all quoted\n", 10), None);
        assert_eq!(snippet("text", 0), None);
    }
}
