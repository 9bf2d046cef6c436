//! Writing Stripe's JSON by hand: ids shaped like Stripe's, objects field by
//! field in the API's order, and list objects one object per line.

use std::path::Path;

use crate::DemoError;
use crate::out::LinesOut;
use crate::segment::mix;
use crate::sources::Written;
use crate::text::{push_json_str, push_u64};

/// Stripe-style ids: `prefix` + base-62 characters whose first 11 are a
/// bijection of a sequence number (distinct per kind).
pub(super) struct Ids {
    /// Salt of every id (from the seed).
    pub(super) salt: u64,
}

impl Ids {
    /// Id number `k` of the kind `kind` (a small constant), `len` characters
    /// after the prefix (at least 11).
    pub(super) fn make(&self, prefix: &str, kind: u64, k: u64, len: usize) -> String {
        const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let salt = mix(self.salt ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let hi = mix(salt.wrapping_add(k));
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        let mut v = hi;
        for n in 0..len {
            // The first 11 digits are all of `hi`; then 10 at a time (60
            // bits) from fresh mixes of it.
            if n >= 11 && (n - 11).is_multiple_of(10) {
                v = mix(hi ^ salt.wrapping_add(n as u64));
            }
            s.push(B62[(v % 62) as usize] as char);
            v /= 62;
        }
        s
    }
}

/// A JSON object written field by field into a reused buffer.
pub(super) struct Obj<'a> {
    /// The buffer written to.
    buf: &'a mut Vec<u8>,
    /// No field written yet.
    first: bool,
}

impl<'a> Obj<'a> {
    /// Starts `{` in `buf` (cleared unless `nested`).
    pub(super) fn new(buf: &'a mut Vec<u8>, nested: bool) -> Obj<'a> {
        if !nested {
            buf.clear();
        }
        buf.push(b'{');
        Obj { buf, first: true }
    }

    /// Writes `"name":` (with the comma before it when needed).
    pub(super) fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b"\":");
        self.buf
    }

    /// A string field.
    pub(super) fn str(&mut self, name: &str, v: &str) -> &mut Self {
        push_json_str(self.key(name), v);
        self
    }

    /// A string field, or `null`.
    pub(super) fn opt(&mut self, name: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(name, v),
            None => self.raw(name, "null"),
        }
    }

    /// A non-negative integer field.
    pub(super) fn num(&mut self, name: &str, v: u64) -> &mut Self {
        push_u64(self.key(name), v);
        self
    }

    /// A Unix time field.
    pub(super) fn time(&mut self, name: &str, t: i64) -> &mut Self {
        self.num(name, t.max(0) as u64)
    }

    /// A Unix time field, or `null`.
    pub(super) fn opt_time(&mut self, name: &str, t: Option<i64>) -> &mut Self {
        match t {
            Some(t) => self.time(name, t),
            None => self.raw(name, "null"),
        }
    }

    /// A field with raw JSON text.
    pub(super) fn raw(&mut self, name: &str, json: &str) -> &mut Self {
        self.key(name).extend_from_slice(json.as_bytes());
        self
    }

    /// Ends the object.
    pub(super) fn end(&mut self) {
        self.buf.push(b'}');
    }
}

/// A list object file, one object per line.
pub(super) struct ListOut {
    /// The file.
    out: LinesOut,
    /// The list's `url` (`/v1/invoices`).
    url: &'static str,
    /// Objects still to write.
    left: usize,
}

impl ListOut {
    /// Creates `data/stripe/<name>.json` for `total` objects.
    pub(super) fn create(
        root: &Path,
        name: &str,
        url: &'static str,
        total: usize,
    ) -> Result<Self, DemoError> {
        let mut out = LinesOut::create(root, &format!("data/stripe/{name}.json"))?;
        out.header(b"{\"object\":\"list\",\"data\":[\n")?;
        Ok(ListOut {
            out,
            url,
            left: total,
        })
    }

    /// Writes the next object (`obj` without newline).
    pub(super) fn push(&mut self, obj: &mut Vec<u8>) -> Result<(), DemoError> {
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            obj.push(b',');
        }
        obj.push(b'\n');
        self.out.line(obj)
    }

    /// Closes the list.
    pub(super) fn finish(mut self) -> Result<Written, DemoError> {
        let tail = format!("],\"has_more\":false,\"url\":\"{}\"}}\n", self.url);
        self.out.header(tail.as_bytes())?;
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_stripe_shaped() {
        let ids = Ids { salt: 5 };
        let mut seen = std::collections::HashSet::new();
        for k in 0..5000 {
            let id = ids.make("cus_", 1, k, 14);
            assert_eq!(id.len(), 18);
            assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(seen.insert(id));
        }
    }
}
