//! `data/gmail.mbox`: the vendor's sales, success and support mail as a
//! Gmail (Google Takeout) export: messages separated by `From ` lines
//! (`From 1792...@xxx Tue Mar 05 14:30:00 +0000 2024`), RFC 5322 headers
//! with Gmail's `X-GM-THRID` and `X-Gmail-Labels` (`Sent`, `Inbox`,
//! `Important`, ...), `Message-ID`, and `In-Reply-To`/`References` on
//! replies. Display names with accents are RFC 2047 encoded words; bodies
//! are plain 7/8-bit text, `multipart/alternative` (text and HTML, quoted-
//! printable) as Gmail sends them, or base64; now and then a PDF is
//! attached. Body lines starting with `From ` are written `>From ` (mboxrd).
//!
//! The writer is hand-made (a generator needs no MIME library): it appends
//! one message at a time to the file.

use std::path::Path;

use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::out::LinesOut;
use crate::rng::{chance, pick, weighted};
use crate::segment::{mix, push_hex};
use crate::sources::Written;
use crate::time::mail_date;

/// The file, relative to the project.
pub(crate) const PATH: &str = "data/gmail.mbox";

/// One message to write.
pub(crate) struct Mail<'a> {
    /// Sent at (Unix seconds).
    pub t: i64,
    /// Conversation number (the first message and its answer share it).
    pub thread: u32,
    /// The answer to the thread's first message (`In-Reply-To` it).
    pub follow_up: bool,
    /// A reply (`Re: ` subject, a quote of the message before).
    pub reply: bool,
    /// Written by the customer (else by the employee).
    pub inbound: bool,
    /// The customer: display name and address as typed.
    pub customer: (&'a str, &'a str),
    /// The employee: display name and address.
    pub employee: (&'a str, &'a str),
    /// Another employee copied (outbound messages only).
    pub cc: Option<(&'a str, &'a str)>,
    /// Subject (without `Re: `).
    pub subject: &'a str,
}

/// The mbox being written.
pub(crate) struct MboxOut {
    out: LinesOut,
    salt: u64,
    buf: Vec<u8>,
    body: String,
}

/// How a message's body is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `text/plain`, 7bit or 8bit.
    Plain,
    /// `multipart/alternative`: text and HTML, quoted-printable.
    Alternative,
    /// `text/plain`, base64.
    Base64,
}

impl MboxOut {
    /// Creates [`PATH`]; `seed` salts the message and thread ids.
    pub(crate) fn create(root: &Path, seed: u64) -> Result<MboxOut, DemoError> {
        Ok(MboxOut {
            out: LinesOut::create(root, PATH)?,
            salt: mix(seed ^ 0x4d42_4f58),
            buf: Vec::with_capacity(4096),
            body: String::with_capacity(1024),
        })
    }

    /// The `Message-ID` (without angle brackets) of the first message of
    /// thread `thread` or of its answer: distinct for distinct pairs.
    pub(crate) fn message_id(&self, thread: u32, follow_up: bool) -> String {
        let k = u64::from(thread) << 1 | u64::from(follow_up);
        let hi = mix(self.salt.wrapping_add(k));
        let lo = mix(hi ^ self.salt);
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(b"CA");
        push_hex(&mut v, hi, 16);
        push_hex(&mut v, lo, 12);
        v.extend_from_slice(b"@mail.gmail.com");
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Writes one message; returns its `Message-ID` (without brackets).
    pub(crate) fn write(
        &mut self,
        rng: &mut ChaCha8Rng,
        m: &Mail<'_>,
    ) -> Result<String, DemoError> {
        let id = self.message_id(m.thread, m.follow_up);
        let (from, to) = if m.inbound {
            (m.customer, m.employee)
        } else {
            (m.employee, m.customer)
        };
        let thrid = 1_700_000_000_000_000_000
            + mix(self.salt ^ u64::from(m.thread)) % 99_999_999_999_999_999;
        // Acme's people write from the US west coast; customers from anywhere.
        let offset = if m.inbound {
            pick(rng, &[0, 60, 120, -300, -360, -480, 330])
        } else {
            -420
        };
        let labels = if m.inbound {
            weighted(
                rng,
                &[
                    ("Inbox,Opened", 40),
                    ("Important,Inbox,Opened", 25),
                    ("Archived,Opened", 20),
                    ("Inbox,Unread", 15),
                ],
            )
        } else {
            "Sent"
        };
        let style = if m.inbound {
            weighted(
                rng,
                &[
                    (Style::Plain, 55),
                    (Style::Alternative, 25),
                    (Style::Base64, 20),
                ],
            )
        } else {
            Style::Alternative
        };
        let attach = chance(rng, 0.03);
        let boundary = format!("000000000000{:016x}", mix(self.salt ^ 0xB0 ^ thrid));
        self.text(rng, m, from.0, to.0);
        let first = m.follow_up.then(|| self.message_id(m.thread, false));

        let b = &mut self.buf;
        b.clear();
        line(b, &format!("From {thrid}@xxx {}", mail_date(m.t, 0, true)));
        line(b, &format!("X-GM-THRID: {thrid}"));
        line(b, &format!("X-Gmail-Labels: {labels}"));
        line(b, "MIME-Version: 1.0");
        line(b, &format!("Date: {}", mail_date(m.t, offset, false)));
        line(b, &format!("Message-ID: <{id}>"));
        if let Some(first) = &first {
            line(b, &format!("In-Reply-To: <{first}>"));
            line(b, &format!("References: <{first}>"));
        }
        let subject = if m.reply {
            format!("Re: {}", m.subject)
        } else {
            m.subject.to_string()
        };
        line(b, &format!("Subject: {subject}"));
        line(b, &format!("From: {}", mailbox(from)));
        line(b, &format!("To: {}", mailbox(to)));
        if let Some(cc) = m.cc.filter(|_| !m.inbound) {
            line(b, &format!("Cc: {}", mailbox(cc)));
        }
        let outer = if attach {
            let mixed = format!("{boundary}mx");
            line(
                b,
                &format!("Content-Type: multipart/mixed; boundary=\"{mixed}\""),
            );
            line(b, "");
            line(b, &format!("--{mixed}"));
            Some(mixed)
        } else {
            None
        };
        body_part(b, &self.body, style, &boundary);
        if let Some(mixed) = outer {
            line(b, &format!("--{mixed}"));
            line(
                b,
                "Content-Type: application/pdf; name=\"Acme-Analytics-Pricing.pdf\"",
            );
            line(
                b,
                "Content-Disposition: attachment; filename=\"Acme-Analytics-Pricing.pdf\"",
            );
            line(b, "Content-Transfer-Encoding: base64");
            line(b, "");
            let pdf =
                format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {subject}\n%%EOF\n");
            base64_lines(b, pdf.as_bytes());
            line(b, &format!("--{mixed}--"));
        }
        // The blank line that ends a message before the next From_ line.
        line(b, "");
        self.out.line(b)?;
        Ok(id)
    }

    /// Composes the message's text into `self.body`.
    fn text(&mut self, rng: &mut ChaCha8Rng, m: &Mail<'_>, from: &str, to: &str) {
        let first_name = |n: &str| n.split(' ').next().unwrap_or(n).to_string();
        let body = &mut self.body;
        body.clear();
        let greeting = pick(rng, &["Hi", "Hello", "Hey", "Dear"]);
        body.push_str(&format!("{greeting} {},\n\n", first_name(to)));
        let lines: &[&str] = if m.inbound {
            &[
                "Thanks for getting back to me. We are still evaluating a few options.",
                "Could you send me more details? Our finance team will want to see them.",
                "From our side, the main question is how this works for a team of our size.",
                "We tried the export again this morning and it still stops halfway.",
            ]
        } else {
            &[
                "Thanks for your message, happy to help.",
                "From what I can see, everything is set up correctly on our end.",
                "I have attached our pricing overview; let me know what you think.",
                "Would Thursday at 10:00 work for a quick call?",
            ]
        };
        body.push_str(pick(rng, lines));
        body.push('\n');
        if chance(rng, 0.5) {
            body.push_str(pick(rng, lines));
            body.push('\n');
        }
        let sign = if m.inbound { "Thanks" } else { "Best" };
        body.push_str(&format!("\n{sign},\n{}\n", first_name(from)));
        if !m.inbound {
            body.push_str(&format!(
                "--\n{from}\nAcme Analytics | https://acme-analytics.com\n"
            ));
        }
        if m.reply {
            body.push_str(&format!(
                "\nOn {}, {to} wrote:\n> {}\n",
                mail_date(m.t - 3 * 3600, 0, false),
                pick(rng, lines)
            ));
        }
    }
}

impl MboxOut {
    /// Closes the file; its row count is the number of messages.
    pub(crate) fn finish(self) -> Result<Written, DemoError> {
        self.out.finish()
    }
}

/// Appends `s` and a newline.
fn line(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(s.as_bytes());
    b.push(b'\n');
}

/// Appends a body line, escaping a `From ` line as mboxrd does (`>From `).
fn body_line(b: &mut Vec<u8>, s: &str) {
    let quotes = s.bytes().take_while(|&c| c == b'>').count();
    if s[quotes..].starts_with("From ") {
        b.push(b'>');
    }
    line(b, s);
}

/// `Name <address>`, the name as an RFC 2047 encoded word when it is not
/// ASCII and quoted when it holds specials.
fn mailbox((name, addr): (&str, &str)) -> String {
    if name.is_empty() {
        return addr.to_string();
    }
    if !name.is_ascii() {
        return format!("{} <{addr}>", encoded_word(name));
    }
    if name.contains(|c: char| ",.;:<>@()[]\\\"".contains(c)) {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        return format!("\"{escaped}\" <{addr}>");
    }
    format!("{name} <{addr}>")
}

/// An RFC 2047 `Q` encoded word: `=?UTF-8?Q?Jos=C3=A9_P=C3=A9rez?=`.
fn encoded_word(s: &str) -> String {
    let mut out = String::from("=?UTF-8?Q?");
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'!' | b'*' | b'+' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

/// Appends the body's headers and content in `style`.
fn body_part(b: &mut Vec<u8>, text: &str, style: Style, boundary: &str) {
    match style {
        Style::Plain => {
            line(b, "Content-Type: text/plain; charset=\"UTF-8\"");
            let cte = if text.is_ascii() { "7bit" } else { "8bit" };
            line(b, &format!("Content-Transfer-Encoding: {cte}"));
            line(b, "");
            for l in text.lines() {
                body_line(b, l);
            }
        }
        Style::Base64 => {
            line(b, "Content-Type: text/plain; charset=\"UTF-8\"");
            line(b, "Content-Transfer-Encoding: base64");
            line(b, "");
            base64_lines(b, text.as_bytes());
        }
        Style::Alternative => {
            line(
                b,
                &format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""),
            );
            line(b, "");
            line(b, &format!("--{boundary}"));
            line(b, "Content-Type: text/plain; charset=\"UTF-8\"");
            line(b, "Content-Transfer-Encoding: quoted-printable");
            line(b, "");
            quoted_printable(b, text);
            line(b, &format!("--{boundary}"));
            line(b, "Content-Type: text/html; charset=\"UTF-8\"");
            line(b, "Content-Transfer-Encoding: quoted-printable");
            line(b, "");
            let mut html = String::from("<div dir=\"ltr\">");
            for l in text.lines() {
                let l = l
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                html.push_str(&format!("<div>{l}</div>"));
            }
            html.push_str("</div>\n");
            quoted_printable(b, &html);
            line(b, &format!("--{boundary}--"));
        }
    }
}

/// Appends `text` quoted-printable (RFC 2045): lines of at most 76
/// characters with soft breaks, `=XX` for `=` and non-ASCII bytes.
fn quoted_printable(b: &mut Vec<u8>, text: &str) {
    for l in text.lines() {
        let mut out = String::with_capacity(l.len() + 8);
        let mut width = 0;
        let bytes = l.as_bytes();
        for (i, &c) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let enc = match c {
                b'=' => format!("={c:02X}"),
                b' ' | b'\t' if last => format!("={c:02X}"),
                33..=126 | b' ' | b'\t' => (c as char).to_string(),
                _ => format!("={c:02X}"),
            };
            if width + enc.len() > 75 {
                out.push_str("=\n");
                width = 0;
            }
            width += enc.len();
            out.push_str(&enc);
        }
        for part in out.split('\n') {
            body_line(b, part);
        }
    }
}

/// Appends `data` base64-encoded in lines of 76 characters.
fn base64_lines(b: &mut Vec<u8>, data: &[u8]) {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut col = 0;
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = u32::from(chunk[0]) << 16
            | u32::from(*chunk.get(1).unwrap_or(&0)) << 8
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= n {
                b.push(B64[(v >> (18 - 6 * k) & 63) as usize]);
            } else {
                b.push(b'=');
            }
        }
        col += 4;
        if col == 76 {
            b.push(b'\n');
            col = 0;
        }
    }
    if col > 0 {
        b.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            encoded_word("José Pérez"),
            "=?UTF-8?Q?Jos=C3=A9_P=C3=A9rez?="
        );
        assert_eq!(mailbox(("Ana Li", "ana@x.io")), "Ana Li <ana@x.io>");
        assert_eq!(mailbox(("A. Li", "a@x.io")), "\"A. Li\" <a@x.io>");
        let mut b = Vec::new();
        base64_lines(&mut b, b"Hi team,\n");
        assert_eq!(b, b"SGkgdGVhbSwK\n");
        b.clear();
        quoted_printable(&mut b, "Caf\u{e9} = 1 \nFrom here");
        assert_eq!(
            String::from_utf8_lossy(&b),
            "Caf=C3=A9 =3D 1=20\n>From here\n"
        );
        b.clear();
        quoted_printable(&mut b, &"x".repeat(100));
        let text = String::from_utf8_lossy(&b).into_owned();
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        assert_eq!(text.replace("=\n", "").trim_end(), "x".repeat(100));
    }
}
