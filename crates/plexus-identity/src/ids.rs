//! Stable ids: derived from an identifier, so unrelated data never renames an entity.

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// The id of an entity anchored at identifier (`type_name`, `value`):
/// `prefix_` + 16 hex digits of XXH3-64 over `type_name`, a unit separator and `value`.
///
/// XXH3 is specified and stable across versions and platforms, so an id computed today is
/// the id computed by any later build. At a million entities a collision has a chance of
/// about 3 in 100 million.
pub fn stable_id(prefix: &str, type_name: &str, value: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 17);
    push_stable_id(prefix, type_name, value, &mut id);
    id
}

/// Appends [`stable_id`]`(prefix, type_name, value)` to `out`: for callers that make an id
/// per row and copy it into a column at once, without a `String` per id.
pub fn push_stable_id(prefix: &str, type_name: &str, value: &str, out: &mut String) {
    let hash = id_hash(type_name, value);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 16];
    for (i, digit) in hex.iter_mut().enumerate() {
        *digit = HEX[((hash >> ((15 - i) * 4)) & 0xf) as usize];
    }
    out.push_str(prefix);
    out.push('_');
    out.push_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"));
}

/// The number behind `id` when it is a [`stable_id`] with `prefix` (`prefix_` + 16
/// lower-case hex digits), else `None`. Ids of one prefix all have one length, so they
/// sort as their numbers do: a caller that orders many ids can compare numbers instead.
pub fn stable_id_number(prefix: &str, id: &str) -> Option<u64> {
    let hex = id.strip_prefix(prefix)?.strip_prefix('_')?;
    if hex.len() != 16 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// XXH3-64 over `type_name`, a unit separator and `value`: in one call over a copy on the
/// stack when they are short (ids are made for every event and entity, and the streaming
/// hasher's set-up costs more than hashing a short key), else streamed. Both give the
/// same hash: XXH3's streaming and one-shot forms agree by specification.
fn id_hash(type_name: &str, value: &str) -> u64 {
    const SHORT: usize = 240;
    let len = type_name.len() + 1 + value.len();
    if len <= SHORT {
        let mut buf = [0u8; SHORT];
        buf[..type_name.len()].copy_from_slice(type_name.as_bytes());
        buf[type_name.len()] = 0x1f;
        buf[type_name.len() + 1..len].copy_from_slice(value.as_bytes());
        return xxh3_64(&buf[..len]);
    }
    let mut hasher = Xxh3::new();
    hasher.update(type_name.as_bytes());
    hasher.update(&[0x1f]);
    hasher.update(value.as_bytes());
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_ids_are_the_ids_appended() {
        let mut out = String::from("x");
        push_stable_id("evt", "orders", "42", &mut out);
        assert_eq!(out, format!("x{}", stable_id("evt", "orders", "42")));
        let long = "k".repeat(300); // past the short-key path of the hash
        out.clear();
        push_stable_id("evt", "orders", &long, &mut out);
        assert_eq!(out, stable_id("evt", "orders", &long));
        assert_eq!(stable_id_number("evt", &out).map(|_| out.len()), Some(20));
    }

    #[test]
    fn ids_are_hex_of_xxh3_over_type_separator_value() {
        let expected = format!(
            "per_{:016x}",
            xxhash_rust::xxh3::xxh3_64(b"email\x1fada@analytical.io")
        );
        assert_eq!(stable_id("per", "email", "ada@analytical.io"), expected);
    }

    #[test]
    fn ids_sort_by_their_numbers_as_by_their_text() {
        // Ids from hashes spread over the whole range, and the extremes.
        let mut ids: Vec<String> = (0u64..2_000)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 7))
            .chain([0, 1, u64::MAX, u64::MAX - 1, 0x8000_0000_0000_0000])
            .map(|h| format!("evt_{h:016x}"))
            .collect();
        ids.push(stable_id("evt", "orders", "42"));
        let mut by_text: Vec<&str> = ids.iter().map(String::as_str).collect();
        by_text.sort_unstable();
        let mut by_number = by_text.clone();
        by_number.sort_by_key(|id| stable_id_number("evt", id).expect("a stable id"));
        assert_eq!(by_number, by_text);
        assert_eq!(
            stable_id_number("per", &stable_id("per", "email", "ada@analytical.io")),
            Some(0xa097_6a21_6a9f_f389)
        );
        for other in [
            "e1",
            "evt_",
            "evt_0123456789ABCDEF",
            "evt_0123456789abcde",
            "evt_0123456789abcdef0",
            "evt_0123456789abcdeg",
            "xvt_0123456789abcdef",
            "evt-0123456789abcdef",
            "evt_+123456789abcdef",
        ] {
            assert_eq!(stable_id_number("evt", other), None, "{other}");
        }
        assert_eq!(stable_id_number("per", "evt_0123456789abcdef"), None);
    }

    #[test]
    fn ids_are_fixed_forever() {
        // These literals pin the id scheme: changing them renames every entity of every
        // user. They were computed with Python's `xxhash` package (an independent XXH3),
        // `xxh3_64(b"<type>\x1f<value>")`, the long one past the stack copy's size.
        let long = "x".repeat(300);
        for (type_name, value, hex) in [
            ("email", "ada@analytical.io", "a0976a216a9ff389"),
            ("user_id", "u_1", "31955613828ddeff"),
            ("orders", "42", "ff51f90326f19574"),
            ("email", long.as_str(), "00c88af7bc9c12ba"),
        ] {
            assert_eq!(stable_id("per", type_name, value), format!("per_{hex}"));
        }
        assert_ne!(
            stable_id("per", "email", "a"),
            stable_id("per", "user_id", "a")
        );
        assert_ne!(stable_id("per", "ab", "c"), stable_id("per", "a", "bc"));
    }
}
