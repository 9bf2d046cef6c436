//! Turns one raw RFC 5322 message into a [`MailMessage`] using `mail-parser`
//! (MIME structure, RFC 2047 encoded words, charsets, transfer encodings).

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser};

use super::snippet::snippet;
use super::{Address, MailMessage, MboxOptions};
use crate::Reject;
use crate::text::{clean, stable_hash};

/// Gmail's thread id header.
const GM_THREAD: &str = "X-GM-THRID";
/// Gmail's label list header.
const GM_LABELS: &str = "X-Gmail-Labels";

/// Most `message/rfc822`, `message/global` or `multipart/digest` markers a
/// message may contain. `mail-parser` nests each embedded message inside the
/// previous one and frees them recursively, so thousands of nested levels
/// would overflow the stack; real mail has a handful.
const MAX_EMBEDDED: usize = 100;

/// Counts `/rfc822`, `/global` and `/digest` (any case) in `raw`: an upper
/// bound on how deep embedded messages can nest.
fn embedded_markers(raw: &[u8]) -> usize {
    memchr::memchr_iter(b'/', raw)
        .filter(|&i| {
            raw.get(i + 1..i + 7).is_some_and(|w| {
                [&b"rfc822"[..], b"global", b"digest"]
                    .iter()
                    .any(|m| w.eq_ignore_ascii_case(m))
            })
        })
        .count()
}

/// A `mail-parser` configured to decode only the headers a [`MailMessage`]
/// needs; every other header is skipped, which keeps parsing fast.
pub(crate) fn parser() -> MessageParser {
    MessageParser::new()
        .with_mime_headers()
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::Bcc)
        .header_address(HeaderName::ReplyTo)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::References)
        .header_text(HeaderName::Other(GM_LABELS.into()))
        .header_raw(HeaderName::Other(GM_THREAD.into()))
        .default_header_ignore()
}

/// Collects every address of an address header (lists and groups).
fn addresses(value: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .iter()
        .filter_map(|addr| {
            let email = clean(addr.address()?)?;
            let name = addr.name().and_then(clean);
            Some(Address { email, name })
        })
        .collect()
}

/// The first message id of an id header (`References` lists oldest first).
fn first_id<'a>(value: &'a HeaderValue<'_>) -> Option<&'a str> {
    let id = match value {
        HeaderValue::Text(t) => t.as_ref(),
        HeaderValue::TextList(list) => list
            .iter()
            .map(|t| t.as_ref())
            .find(|t| !t.trim().is_empty())?,
        _ => return None,
    };
    let id = id.trim();
    (!id.is_empty()).then_some(id)
}

/// Splits Gmail's label header on commas outside double quotes.
fn labels(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in value.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.extend(clean(&current));
                current.clear();
            }
            _ => current.push(ch),
        }
    }
    out.extend(clean(&current));
    out
}

/// The Date header as microseconds since the epoch, `None` when missing or
/// not a valid date.
fn date_micros(msg: &Message<'_>) -> Option<i64> {
    let date = msg.date().filter(|d| d.is_valid())?;
    date.to_timestamp().checked_mul(1_000_000)
}

/// Picks the thread id: Gmail's `X-GM-THRID`, else the thread root from
/// `References`, else `In-Reply-To`, else the message's own id, else a hash
/// of date, sender and subject.
fn thread_id(
    msg: &Message<'_>,
    date: Option<i64>,
    from: &[Address],
    subject: Option<&str>,
) -> String {
    if let Some(thrid) = msg.header_raw(GM_THREAD).and_then(clean) {
        return thrid;
    }
    let candidate = first_id(msg.references())
        .or_else(|| first_id(msg.in_reply_to()))
        .or_else(|| msg.message_id().map(str::trim).filter(|s| !s.is_empty()));
    if let Some(id) = candidate {
        return id.to_owned();
    }
    let date = date.map(|d| d.to_le_bytes()).unwrap_or_default();
    let sender = from.first().map(|a| a.email.as_bytes()).unwrap_or_default();
    let subject = subject.unwrap_or_default().as_bytes();
    format!("hash:{:016x}", stable_hash(&[&date, sender, subject]))
}

/// Converts the raw message starting at `line` into a record.
pub(crate) fn to_record(
    parser: &MessageParser,
    options: &MboxOptions,
    line: u64,
    raw: &[u8],
) -> Result<MailMessage, Reject> {
    if embedded_markers(raw) > MAX_EMBEDDED {
        return Err(Reject::new(
            line,
            format!(
                "message embeds more than {MAX_EMBEDDED} message/rfc822 or digest parts; \
                 refusing to parse it (nesting this deep is not real mail)"
            ),
        ));
    }
    let msg = parser
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| {
            Reject::new(
                line,
                "message has no header block; each message must start with RFC 5322 headers",
            )
        })?;
    let from = addresses(msg.from());
    if from.is_empty() {
        return Err(Reject::new(
            line,
            "message has no parsable From address; add a From: header such as `From: Name <user@example.com>`",
        ));
    }
    let date = date_micros(&msg);
    let subject = msg.subject().and_then(clean);
    let thread_id = thread_id(&msg, date, &from, subject.as_deref());
    let text = msg.body_text(0);
    let snippet = text
        .as_deref()
        .and_then(|t| snippet(t, options.snippet_chars));
    let body = if options.keep_body {
        text.map(|t| t.into_owned())
    } else {
        None
    };
    let labels = msg
        .header(GM_LABELS)
        .and_then(HeaderValue::as_text)
        .map(labels)
        .unwrap_or_default();
    Ok(MailMessage {
        line,
        message_id: msg.message_id().and_then(clean),
        thread_id,
        date,
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        reply_to: addresses(msg.reply_to()),
        from,
        subject,
        snippet,
        body,
        labels,
        attachments: u32::try_from(msg.attachment_count()).unwrap_or(u32::MAX),
        bytes: raw.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<MailMessage, Reject> {
        to_record(&parser(), &MboxOptions::default(), 3, raw.as_bytes())
    }

    #[test]
    fn decodes_encoded_words_in_names_and_subject() {
        let m = parse(
            "From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <jose@example.com>\n\
             To: \"Ana\" <ana@example.com>, bob@example.com\n\
             Subject: =?UTF-8?B?SGVsbG8g8J+RiyB3b3JsZA==?=\n\n\
             hi\n",
        )
        .expect("parses");
        assert_eq!(m.from[0].email, "jose@example.com");
        assert_eq!(m.from[0].name.as_deref(), Some("José Pérez"));
        assert_eq!(m.to.len(), 2);
        assert_eq!(m.to[1].name, None);
        assert_eq!(m.subject.as_deref(), Some("Hello 👋 world"));
        assert_eq!(m.line, 3);
    }

    #[test]
    fn windows_1252_encoded_word() {
        let m = parse("From: =?windows-1252?Q?Ren=E9e_=93Q=94?= <r@example.com>\n\nx\n")
            .expect("parses");
        assert_eq!(m.from[0].name.as_deref(), Some("Renée “Q”"));
    }

    #[test]
    fn missing_from_is_rejected() {
        let r = parse("To: a@example.com\nSubject: s\n\nbody\n").unwrap_err();
        assert_eq!(r.line, 3);
        assert!(r.reason.contains("From"), "{}", r.reason);
    }

    #[test]
    fn garbled_date_is_none_not_reject() {
        let m = parse("From: a@example.com\nDate: the day after tomorrow\n\nx\n").expect("ok");
        assert_eq!(m.date, None);
        let m =
            parse("From: a@example.com\nDate: Mon, 4 Mar 2024 10:00:00 -0500\n\nx\n").expect("ok");
        assert_eq!(m.date, Some(1_709_564_400_000_000));
    }

    #[test]
    fn thread_id_precedence() {
        let base = "From: a@example.com\nMessage-ID: <own@x>\n";
        let m = parse(&format!(
            "{base}X-GM-THRID: 1790000000000000001\nReferences: <root@x> <mid@x>\nIn-Reply-To: <mid@x>\n\nb\n"
        ))
        .expect("ok");
        assert_eq!(m.thread_id, "1790000000000000001");
        let m = parse(&format!(
            "{base}References: <root@x>\n <mid@x>\nIn-Reply-To: <mid@x>\n\nb\n"
        ))
        .expect("ok");
        assert_eq!(m.thread_id, "root@x");
        let m = parse(&format!("{base}In-Reply-To: <mid@x>\n\nb\n")).expect("ok");
        assert_eq!(m.thread_id, "mid@x");
        let m = parse(&format!("{base}\nb\n")).expect("ok");
        assert_eq!(m.thread_id, "own@x");
        assert_eq!(m.message_id.as_deref(), Some("own@x"));
        let a = parse("From: a@example.com\nSubject: s\n\nb\n").expect("ok");
        let b = parse("From: a@example.com\nSubject: s\n\nother body\n").expect("ok");
        assert!(a.thread_id.starts_with("hash:"));
        assert_eq!(a.thread_id, b.thread_id);
    }

    #[test]
    fn labels_split_and_decode() {
        assert_eq!(
            labels("Inbox,Important,\"Work, Q1\", Category Personal"),
            vec!["Inbox", "Important", "Work, Q1", "Category Personal"]
        );
        let m = parse("From: a@example.com\nX-Gmail-Labels: Inbox,=?UTF-8?Q?Caf=C3=A9?=\n\nb\n")
            .expect("ok");
        assert_eq!(m.labels, vec!["Inbox", "Café"]);
    }

    #[test]
    fn body_kept_only_on_request() {
        let raw = "From: a@example.com\n\nHello there\n";
        let m = parse(raw).expect("ok");
        assert_eq!(m.body, None);
        assert_eq!(m.snippet.as_deref(), Some("Hello there"));
        let opts = MboxOptions {
            keep_body: true,
            ..MboxOptions::default()
        };
        let m = to_record(&parser(), &opts, 1, raw.as_bytes()).expect("ok");
        assert_eq!(m.body.as_deref(), Some("Hello there\n"));
    }

    #[test]
    fn html_only_snippet_strips_tags() {
        let m = parse(
            "From: a@example.com\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>Hi <b>there</b></p></body></html>\n",
        )
        .expect("ok");
        assert_eq!(m.snippet.as_deref(), Some("Hi there"));
    }

    #[test]
    fn counts_attachments_without_decoding() {
        let m = parse(
            "From: a@example.com\nContent-Type: multipart/mixed; boundary=XX\n\n\
             --XX\nContent-Type: text/plain\n\nsee attached\n\
             --XX\nContent-Type: application/pdf; name=a.pdf\nContent-Disposition: attachment; filename=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n\
             --XX--\n",
        )
        .expect("ok");
        assert_eq!(m.attachments, 1);
        assert_eq!(m.snippet.as_deref(), Some("see attached"));
    }

    #[test]
    fn deeply_embedded_messages_are_rejected() {
        let nested = "Content-Type: Message/RFC822\n\n".repeat(MAX_EMBEDDED + 1);
        let r = parse(&format!(
            "From: a@example.com\n{nested}From: b@example.com\n\nx\n"
        ))
        .unwrap_err();
        assert!(r.reason.contains("embeds more than"), "{}", r.reason);
        let ok = "Content-Type: message/rfc822\n\n".repeat(3);
        assert!(
            parse(&format!(
                "From: a@example.com\n{ok}From: b@example.com\n\nx\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn no_headers_is_rejected() {
        assert!(parse("").is_err());
    }
}
