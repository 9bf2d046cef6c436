//! Segment-spec calls (<https://segment.com/docs/connections/spec/>) as
//! NDJSON lines, the way a Segment export holds them: one JSON object per
//! call with `type`, `messageId`, an ISO 8601 `timestamp` with milliseconds,
//! `anonymousId` and/or `userId` (strings), then the call's own fields
//! (`event`, `name`, `properties`, `traits`, `groupId`, `previousId`) and
//! `context` (`page`, `device.id`, `groupId`).
//!
//! The helpers append to a reused line buffer: the website's and the
//! product's writers ([`crate::web`], [`crate::product`]) write millions of
//! calls without allocating per call.

use crate::text::push_json_str;
use crate::time::{TsStyle, push_ts};

/// The website's domain, for page URLs.
pub(crate) const SITE: &str = "https://acme-analytics.com";

/// SplitMix64's finaliser: a bijection of `u64`, so distinct inputs give
/// distinct ids.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Appends the first `n` of the 16 lower-case hex digits of `v`.
pub(crate) fn push_hex(out: &mut Vec<u8>, v: u64, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in 0..n {
        out.push(HEX[((v >> (60 - 4 * i)) & 0xf) as usize]);
    }
}

/// Appends a version-4-shaped UUID (`8-4-4-4-12` hex digits) whose first 16
/// digits are `hi` and whose last 16 are `lo`, unquoted.
pub(crate) fn push_uuid(out: &mut Vec<u8>, hi: u64, lo: u64) {
    push_hex(out, hi, 8);
    out.push(b'-');
    push_hex(out, hi << 32, 4);
    out.push(b'-');
    out.push(b'4');
    push_hex(out, hi << 52, 3);
    out.push(b'-');
    push_hex(out, lo, 4);
    out.push(b'-');
    push_hex(out, lo << 16, 12);
}

/// Message ids: `prefix` + a UUID whose first 16 hex digits are a bijection
/// of a sequence number, so they never repeat within one writer.
pub(crate) struct MessageIds {
    prefix: &'static [u8],
    salt: u64,
    seq: u64,
    /// The id last made by [`MessageIds::next`].
    pub key: Vec<u8>,
}

impl MessageIds {
    /// Ids `prefix...` of the writer salted with `salt`.
    pub(crate) fn new(prefix: &'static [u8], salt: u64) -> MessageIds {
        MessageIds {
            prefix,
            salt,
            seq: 0,
            key: Vec::with_capacity(48),
        }
    }

    /// Makes the next id (in [`MessageIds::key`]) and returns the
    /// milliseconds its call's timestamp carries (0-999, from the id).
    pub(crate) fn next(&mut self) -> u16 {
        self.seq += 1;
        // A bijection of the sequence number (distinct ids), its mix for the rest.
        let hi = mix(self.salt.wrapping_add(self.seq));
        let lo = mix(hi ^ 0x5DEE_CE66_D1CE_4E5B);
        self.key.clear();
        self.key.extend_from_slice(self.prefix);
        push_uuid(&mut self.key, hi, lo);
        (lo % 1000) as u16
    }
}

/// Starts a call: `{"type":"<kind>","messageId":"<id>","timestamp":"<t>.<ms>Z"`.
pub(crate) fn begin(line: &mut Vec<u8>, kind: &str, id: &MessageIds, t: i64, ms: u16) {
    line.clear();
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"messageId\":\"");
    line.extend_from_slice(&id.key);
    line.extend_from_slice(b"\",\"timestamp\":\"");
    push_ts(line, t, TsStyle::Iso);
    // `...:SSZ` becomes `...:SS.mmmZ`.
    line.pop();
    line.push(b'.');
    line.extend_from_slice(&[
        b'0' + (ms / 100 % 10) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
        b'Z',
        b'"',
    ]);
}

/// Appends `,"<name>":` and the JSON string `value`.
pub(crate) fn field(line: &mut Vec<u8>, name: &str, value: &str) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b"\":");
    push_json_str(line, value);
}

/// Appends `,"userId":"<user>"` (Segment user ids are strings).
pub(crate) fn user_id(line: &mut Vec<u8>, user: u64) {
    line.extend_from_slice(b",\"userId\":\"");
    crate::text::push_u64(line, user);
    line.push(b'"');
}

/// Ends a call (`}` and the newline).
pub(crate) fn end(line: &mut Vec<u8>) {
    line.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_unique_uuids_with_milliseconds() {
        let mut ids = MessageIds::new(b"ajs-", 7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let ms = ids.next();
            assert!(ms < 1000);
            assert_eq!(ids.key.len(), 4 + 36);
            assert_eq!(ids.key[4 + 14], b'4', "version nibble");
            assert!(seen.insert(ids.key.clone()));
        }
    }

    #[test]
    fn a_call_is_one_json_object() {
        let mut ids = MessageIds::new(b"", 1);
        let ms = ids.next();
        let mut line = Vec::new();
        begin(&mut line, "track", &ids, 1_772_359_200, 7);
        user_id(&mut line, 1001);
        field(&mut line, "event", "report \"x\"");
        end(&mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).expect("json");
        assert_eq!(v["timestamp"], "2026-03-01T10:00:00.007Z");
        assert_eq!(v["userId"], "1001");
        assert_eq!(v["event"], "report \"x\"");
        assert_eq!(v["messageId"].as_str().map(str::len), Some(36));
        assert!(ms < 1000);
    }
}
