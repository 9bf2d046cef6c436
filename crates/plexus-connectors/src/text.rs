//! Small text helpers shared by the parsers.

/// Trims `s` and returns it owned, or `None` when nothing is left.
pub(crate) fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Cuts `s` to at most `max_chars` characters, always on a char boundary.
pub(crate) fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

/// Stable 64-bit FNV-1a hash over byte strings, each followed by a 0xff
/// separator so `("ab","c")` and `("a","bc")` differ. Used for identifiers
/// that must stay the same across runs and Rust versions (unlike
/// `std::hash`).
pub(crate) fn stable_hash(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for &b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// Cuts a diagnostic message from another library to its first line and at
/// most 200 characters, so reject reasons stay readable.
pub(crate) fn short_error(msg: &str) -> String {
    let first = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    truncate_chars(first.trim(), 200).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_and_drops_empty() {
        assert_eq!(clean("  a b "), Some("a b".to_owned()));
        assert_eq!(clean(" \t\n"), None);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("日本語", 5), "日本語");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn stable_hash_is_stable_and_separates_parts() {
        assert_eq!(stable_hash(&[b"a"]), stable_hash(&[b"a"]));
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
        // Pinned value: changing it would change every derived identifier.
        assert_eq!(stable_hash(&[]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn short_error_keeps_first_line() {
        assert_eq!(short_error("\nfirst\nsecond"), "first");
    }
}
