//! A fast path for the Segment calls most files hold, in front of serde_json.
//!
//! serde_json's derived deserializer spent about 6,700 instructions on a 260-byte call
//! (its visitor plumbing, then a second parse of `traits` and `properties` to read a few
//! of their fields): a fifth of a Segment load. This scanner walks the line once, takes
//! the fields of [`Call`], [`Traits`] and [`Properties`] as borrowed slices, and checks the
//! JSON grammar of everything it skips. It answers only when it is sure to give what
//! serde_json gives; on anything else it declines (`None`) and the caller parses the line
//! with serde_json, which stays the parser of record and the author of every reject
//! reason. It declines on:
//! - a string it keeps that holds an escape (serde_json would unescape it into an owned
//!   string), and any `\u` escape of a surrogate;
//! - a number it keeps that is not a plain integer of at most 18 digits (serde_json's
//!   float and big-integer text is its own);
//! - a field given twice, a struct given as an array, a nested object given as another
//!   type, nesting deeper than [`MAX_DEPTH`];
//! - any JSON error and any byte after the object.
//!
//! The tests check, on generated lines, that wherever it answers it gives serde_json's
//! result.

use std::borrow::Cow;

use super::lenient::{CompanyName, Number, Scalar};
use super::wire::{Call, Context, Device, Page, Properties, Traits};

/// Nesting the scanner follows before it declines (serde_json's own limit is 128).
const MAX_DEPTH: usize = 64;

/// A line being scanned: `at` is the next byte.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

/// The first byte at or after `from` that ends a string's plain run: a quote, a
/// backslash or a control character. Eight bytes at a time: a bitwise test for the three
/// finds them without a branch per byte (the lowest flagged byte is always a true one;
/// the tests' borrows can only flag bytes above it).
fn special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let hits = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes
        .get(i..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|at| i + at)
}

/// What a kept field's value was.
enum Leaf<'a> {
    /// A string without escapes.
    Text(&'a str),
    /// A plain integer, as written.
    Integer(&'a str),
    /// `null`, `true`, `false`, an object or an array (checked and skipped).
    Other,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { text, at: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string at `at` (its opening quote), without escapes: its content.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let end = special(self.bytes(), start)?;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// Skips a string at `at` (its opening quote), escapes included.
    fn skip_string(&mut self) -> Option<()> {
        let bytes = self.bytes();
        let mut i = self.at + 1;
        loop {
            i = special(bytes, i)?;
            match bytes[i] {
                b'"' => {
                    self.at = i + 1;
                    return Some(());
                }
                b'\\' => match *bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = self.text.get(i + 2..i + 6)?;
                        let unit = u16::from_str_radix(hex, 16).ok()?;
                        if !hex.bytes().all(|b| b.is_ascii_hexdigit())
                            || (0xD800..0xE000).contains(&unit)
                        {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// A JSON number at `at`: its text.
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.bytes();
        let start = self.at;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return None,
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return None;
            }
        }
        self.at = i;
        self.text.get(start..i)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes()
            .get(self.at..)?
            .starts_with(word)
            .then(|| self.at += word.len())
    }

    /// Skips any value, checking its grammar.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        self.space();
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' if depth < MAX_DEPTH => self.members(b'}', |s| {
                s.space();
                if s.peek()? != b'"' {
                    return None;
                }
                s.skip_string()?;
                s.eat(b':')?;
                s.skip_value(depth + 1)
            }),
            b'[' if depth < MAX_DEPTH => self.members(b']', |s| s.skip_value(depth + 1)),
            b'{' | b'[' => None,
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    /// A value whose text a field keeps.
    fn leaf(&mut self, depth: usize) -> Option<Leaf<'a>> {
        self.space();
        match self.peek()? {
            b'"' => self.plain_string().map(Leaf::Text),
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                let digits = n.strip_prefix('-').unwrap_or(n);
                let plain =
                    digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) && n != "-0";
                plain.then_some(Leaf::Integer(n))
            }
            _ => self.skip_value(depth).map(|()| Leaf::Other),
        }
    }

    /// A value as raw JSON text (`None` for `null`), as serde_json's `RawValue` takes it.
    fn raw(&mut self, depth: usize) -> Option<Option<&'a str>> {
        self.space();
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        let start = self.at;
        self.skip_value(depth)?;
        self.text.get(start..self.at).map(Some)
    }

    /// Walks an object at `at`, calling `field` with each key, the value left to it.
    /// `field` returns false to decline.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.space();
        if self.peek()? != b'{' {
            return None;
        }
        self.members(b'}', |s| {
            s.space();
            if s.peek()? != b'"' {
                return None;
            }
            let key = s.plain_string()?;
            s.eat(b':')?;
            field(s, key)
        })
    }

    /// Walks the members of an object or array whose opening byte is at `at`, `member`
    /// reading each one, up to its closing byte `close`.
    fn members(
        &mut self,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.at += 1;
        self.space();
        if self.peek() == Some(close) {
            self.at += 1;
            return Some(());
        }
        loop {
            member(self)?;
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `Some(None)` for `null`, else the object walked by `f` (declining other types).
    fn nested<T: Default>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.space();
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'{' => f(self).map(Some),
            _ => None,
        }
    }

    /// Only whitespace is left.
    fn at_end(&mut self) -> bool {
        self.space();
        self.at == self.text.len()
    }
}

/// Records each field's first sighting; a second one declines.
#[derive(Default)]
struct Seen(u64);

impl Seen {
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1u64 << field;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }
}

fn scalar(leaf: Leaf<'_>) -> Scalar<'_> {
    Scalar(match leaf {
        Leaf::Text(s) => Some(Cow::Borrowed(s)),
        Leaf::Integer(n) => Some(Cow::Owned(n.to_owned())),
        Leaf::Other => None,
    })
}

/// Sets a [`Scalar`] field once.
fn put<'a>(s: &mut Scanner<'a>, seen: &mut Seen, bit: u32, slot: &mut Scalar<'a>) -> Option<()> {
    seen.first(bit)?;
    *slot = scalar(s.leaf(2)?);
    Some(())
}

/// Parses a whole call, or declines (`None`).
pub(crate) fn call(text: &str) -> Option<Call<'_>> {
    let mut s = Scanner::new(text);
    let mut c = Call::default();
    let mut seen = Seen::default();
    s.object(|s, key| {
        let (bit, slot) = match key {
            "type" => (0, &mut c.kind),
            "messageId" => (1, &mut c.message_id),
            "message_id" => (2, &mut c.message_id_snake),
            "userId" => (3, &mut c.user_id),
            "user_id" => (4, &mut c.user_id_snake),
            "anonymousId" => (5, &mut c.anonymous_id),
            "anonymous_id" => (6, &mut c.anonymous_id_snake),
            "previousId" => (7, &mut c.previous_id),
            "previous_id" => (8, &mut c.previous_id_snake),
            "groupId" => (9, &mut c.group_id),
            "group_id" => (10, &mut c.group_id_snake),
            "timestamp" => (11, &mut c.timestamp),
            "originalTimestamp" => (12, &mut c.original_timestamp),
            "original_timestamp" => (13, &mut c.original_timestamp_snake),
            "sentAt" => (14, &mut c.sent_at),
            "sent_at" => (15, &mut c.sent_at_snake),
            "receivedAt" => (16, &mut c.received_at),
            "received_at" => (17, &mut c.received_at_snake),
            "event" => (18, &mut c.event),
            "name" => (19, &mut c.name),
            "traits" => {
                seen.first(20)?;
                c.traits = s.raw(1)?;
                return Some(());
            }
            "properties" => {
                seen.first(21)?;
                c.properties = s.raw(1)?;
                return Some(());
            }
            "context" => {
                seen.first(22)?;
                c.context = s.nested(context)?;
                return Some(());
            }
            _ => return s.skip_value(1),
        };
        put(s, &mut seen, bit, slot)
    })?;
    s.at_end().then_some(c)
}

/// `context`, at its opening brace.
fn context<'a>(s: &mut Scanner<'a>) -> Option<Context<'a>> {
    let mut c = Context::default();
    let mut seen = Seen::default();
    s.object(|s, key| match key {
        "traits" => {
            seen.first(0)?;
            c.traits = s.raw(2)?;
            Some(())
        }
        "page" => {
            seen.first(1)?;
            c.page = single(s, "url")?.map(|url| Page { url });
            Some(())
        }
        "device" => {
            seen.first(2)?;
            c.device = single(s, "id")?.map(|id| Device { id });
            Some(())
        }
        "groupId" => put(s, &mut seen, 3, &mut c.group_id),
        _ => s.skip_value(2),
    })?;
    Some(c)
}

/// `null`, or an object of which only the field `name` is kept: that field's value.
fn single<'a>(s: &mut Scanner<'a>, name: &str) -> Option<Option<Scalar<'a>>> {
    s.nested(|s| {
        let mut value = Scalar::default();
        let mut seen = Seen::default();
        s.object(|s, key| {
            if key == name {
                put(s, &mut seen, 0, &mut value)
            } else {
                s.skip_value(3)
            }
        })?;
        Some(value)
    })
}

/// The reserved traits of a raw `traits` object, or `None` to decline.
pub(crate) fn traits(raw: &str) -> Option<Traits<'_>> {
    let mut s = Scanner::new(raw);
    let mut t = Traits::default();
    let mut seen = Seen::default();
    s.object(|s, key| {
        let (bit, slot) = match key {
            "email" => (0, &mut t.email),
            "name" => (1, &mut t.name),
            "firstName" => (2, &mut t.first_name),
            "first_name" => (3, &mut t.first_name_snake),
            "lastName" => (4, &mut t.last_name),
            "last_name" => (5, &mut t.last_name_snake),
            "phone" => (6, &mut t.phone),
            "company" => {
                seen.first(7)?;
                t.company = company(s)?;
                return Some(());
            }
            _ => return s.skip_value(1),
        };
        put(s, &mut seen, bit, slot)
    })?;
    s.at_end().then_some(t)
}

/// The `company` trait: a name, or an object's `name` (the last one given).
fn company<'a>(s: &mut Scanner<'a>) -> Option<CompanyName<'a>> {
    s.space();
    match s.peek()? {
        b'"' => s.plain_string().map(|n| CompanyName(scalar(Leaf::Text(n)))),
        b'{' => {
            let mut name = Scalar::default();
            s.object(|s, key| match key {
                "name" => {
                    name = scalar(s.leaf(3)?);
                    Some(())
                }
                _ => s.skip_value(3),
            })?;
            Some(CompanyName(name))
        }
        _ => s.skip_value(2).map(|()| CompanyName::default()),
    }
}

/// The fields of a raw `properties` object the record uses, or `None` to decline.
pub(crate) fn properties(raw: &str) -> Option<Properties<'_>> {
    let mut s = Scanner::new(raw);
    let mut p = Properties::default();
    let mut seen = Seen::default();
    s.object(|s, key| match key {
        "url" => put(s, &mut seen, 0, &mut p.url),
        "name" => put(s, &mut seen, 1, &mut p.name),
        "currency" => put(s, &mut seen, 2, &mut p.currency),
        "revenue" => {
            seen.first(3)?;
            p.revenue = Number(match s.leaf(2)? {
                Leaf::Text(t) => t.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                Leaf::Integer(n) => Some(n.parse::<i64>().ok()? as f64),
                Leaf::Other => None,
            });
            Some(())
        }
        _ => s.skip_value(1),
    })?;
    s.at_end().then_some(p)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// serde_json's reading of a call, in the same form as the fast path's.
    fn by_serde(line: &str) -> Option<String> {
        serde_json::from_str::<Call<'_>>(line)
            .ok()
            .map(|c| format!("{c:?}"))
    }

    /// Wherever the fast path answers, it answers as serde_json does.
    fn agrees(line: &str) -> bool {
        match call(line) {
            None => true,
            Some(c) => by_serde(line) == Some(format!("{c:?}")),
        }
    }

    fn nested_agrees(raw: &str) -> bool {
        let t = traits(raw).map(|t| format!("{t:?}"));
        let p = properties(raw).map(|p| format!("{p:?}"));
        let t_serde = serde_json::from_str::<Traits<'_>>(raw)
            .ok()
            .map(|t| format!("{t:?}"));
        let p_serde = serde_json::from_str::<Properties<'_>>(raw)
            .ok()
            .map(|p| format!("{p:?}"));
        (t.is_none() || t == t_serde) && (p.is_none() || p == p_serde)
    }

    #[test]
    fn common_calls_take_the_fast_path_and_agree() {
        let lines = [
            r#"{"type":"identify","messageId":"m1","anonymousId":"a1","userId":"u1","timestamp":"2024-03-01T00:00:00.000Z","traits":{"email":"u@x.example","name":"U 1","plan":"pro"}}"#,
            r#"{"type":"page","anonymousId":"a1","timestamp":"2024-03-01T00:00:00Z","name":"Pricing","properties":{"url":"https://x.example/p","path":"/p"},"context":{"ip":"203.0.113.9","library":{"name":"analytics.js","version":"2.11.1"},"page":{"url":"https://x"},"device":{"id":7},"groupId":"g"}}"#,
            r#" { "type" : "track" , "event":"Order Completed","userId":42,"timestamp":"2024-03-04T15:00:00Z","properties":{"revenue":"19.99","currency":"EUR","tags":[1,2.5e3,-0.5,true,null,{"a":[]}]},"context":{"traits":{"email":"ana@example.com"}}} "#,
            r#"{"type":"group","userId":"u","groupId":"g1","timestamp":"2024-03-04T15:00:00Z","traits":{"name":"Initech","company":{"id":1,"name":"A","name":"B"}},"context":null}"#,
        ];
        for line in lines {
            let fast = call(line).unwrap_or_else(|| panic!("declined: {line}"));
            assert_eq!(by_serde(line), Some(format!("{fast:?}")), "{line}");
            for raw in [fast.traits, fast.properties].into_iter().flatten() {
                assert!(nested_agrees(raw), "{raw}");
            }
        }
        let t =
            traits(r#"{"company":{"id":1,"name":"A","name":"B"},"phone":5551234}"#).expect("fast");
        assert_eq!(t.company.0.text(), Some("B"));
        assert_eq!(t.phone.text(), Some("5551234"));
        let p = properties(r#"{"revenue":12,"url":"u"}"#).expect("fast");
        assert_eq!((p.revenue.0, p.url.text()), (Some(12.0), Some("u")));
    }

    #[test]
    fn what_serde_json_reads_its_own_way_is_declined() {
        for line in [
            r#"{"type":"track","userId":"a\"b"}"#,
            r#"{"type":"track","typ\u0065":"x"}"#,
            r#"{"type":"track","type":"page"}"#,
            r#"{"type":"track","userId":1.5}"#,
            r#"{"type":"track","userId":12345678901234567890}"#,
            r#"{"type":"track","userId":-0}"#,
            r#"{"type":"track","context":["x"]}"#,
            r#"{"type":"track","context":{"page":["u"]}}"#,
            r#"{"type":"track","properties":{"x":"\ud800"}}"#,
            r#"{"type":"track"} x"#,
            r#"{"type":"track",}"#,
            r#"{"type":"track","a":01}"#,
            r#"{"type":"track","a":tru}"#,
            "{\"type\":\"tr\tack\"}",
        ] {
            assert!(call(line).is_none(), "{line}");
        }
        assert!(properties(r#"{"revenue":1.5}"#).is_none());
        assert!(traits(r#"{"email":"a","email":"b"}"#).is_none());
    }

    /// A JSON value of a few levels, with the shapes that make readers differ.
    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "[a-z0-9 @.:/-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            prop_oneof![
                Just(r#""a\"b""#),
                Just(r#""\u00e9t\u00E9""#),
                Just(r#""\ud83d\ude00""#),
                Just(r#""tab\tnl\n""#),
                Just("\"raw\ttab\""),
                Just(r#""\x""#),
            ]
            .prop_map(str::to_string),
            prop_oneof![
                Just("0"),
                Just("-0"),
                Just("42"),
                Just("-7"),
                Just("1.5"),
                Just("2e3"),
                Just("1E+2"),
                Just("123456789012345678"),
                Just("1234567890123456789012"),
                Just("01"),
                Just("1."),
                Just("-"),
            ]
            .prop_map(str::to_string),
            prop_oneof![Just("null"), Just("true"), Just("false"), Just("nul")]
                .prop_map(str::to_string),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key(), inner), 0..4).prop_map(|v| {
                    let fields: Vec<String> = v.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    /// Keys the readers care about, a few they don't, and escaped ones.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "type",
                "userId",
                "user_id",
                "anonymousId",
                "messageId",
                "timestamp",
                "sentAt",
                "event",
                "name",
                "traits",
                "properties",
                "context",
                "page",
                "device",
                "id",
                "url",
                "groupId",
                "email",
                "firstName",
                "company",
                "revenue",
                "currency",
                "phone",
                "library",
            ])
            .prop_map(|k| format!("\"{k}\"")),
            Just(r#""typ\u0065""#.to_string()),
            "[a-z]{1,4}".prop_map(|k| format!("\"{k}\"")),
        ]
    }

    fn object() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((key(), value(), " ?", " ?"), 0..8),
            " ?",
        )
            .prop_map(|(fields, tail)| {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(k, v, a, b)| format!("{k}{a}:{b}{v}"))
                    .collect();
                format!("{{{}}}{tail}", fields.join(","))
            })
    }

    /// The agreement test means something only if the fast path answers often enough on
    /// the generated lines.
    #[test]
    fn the_generated_lines_often_take_the_fast_path() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = object();
        let (mut answered, mut nested) = (0, 0);
        for _ in 0..2000 {
            let line = strategy.new_tree(&mut runner).expect("tree").current();
            answered += usize::from(call(&line).is_some());
            nested += usize::from(properties(line.trim_end()).is_some());
        }
        assert!(
            answered > 200 && nested > 200,
            "{answered} {nested} of 2000"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_fast_path_agrees_with_serde_json(line in object()) {
            prop_assert!(agrees(&line), "{}", line);
            prop_assert!(nested_agrees(line.trim_end()), "{}", line);
        }

        #[test]
        fn special_finds_the_first_quote_backslash_or_control(
            bytes in prop::collection::vec(prop_oneof![
                4 => 0x20u8..0x7f, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 1 => 0x80u8..=0xff,
            ], 0..40),
            from in 0usize..42,
        ) {
            let naive = bytes
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20))
                .map(|at| from + at);
            prop_assert_eq!(special(&bytes, from), naive);
        }

        #[test]
        fn any_text_never_panics(text in ".{0,80}") {
            let _ = call(&text);
            let _ = traits(&text);
            let _ = properties(&text);
        }
    }
}
