//! Reads `tests/fixtures/mail.mbox` (written by Python's `mailbox`/`email`).

mod common;

use std::io::BufReader;

use common::{fixture, utc};
use plexus_connectors::Reject;
use plexus_connectors::mbox::{Address, MailMessage, MboxOptions, MboxReader};

fn read_all(options: MboxOptions) -> Vec<Result<MailMessage, Reject>> {
    let file = std::fs::File::open(fixture("mail.mbox")).expect("fixture exists");
    MboxReader::new(BufReader::new(file), options).collect()
}

fn messages() -> (Vec<MailMessage>, Vec<Reject>) {
    let mut ok = Vec::new();
    let mut rejects = Vec::new();
    for item in read_all(MboxOptions::default()) {
        match item {
            Ok(m) => ok.push(m),
            Err(r) => rejects.push(r),
        }
    }
    (ok, rejects)
}

fn addr(email: &str, name: Option<&str>) -> Address {
    Address {
        email: email.to_owned(),
        name: name.map(str::to_owned),
    }
}

#[test]
fn counts_messages_and_rejects_the_one_without_from() {
    let (ok, rejects) = messages();
    assert_eq!(ok.len(), 9);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 147);
    assert!(rejects[0].reason.contains("no parsable From address"));
    let lines: Vec<u64> = ok.iter().map(|m| m.line).collect();
    assert_eq!(lines, vec![1, 35, 61, 76, 89, 110, 126, 138, 155]);
}

#[test]
fn multipart_alternative_with_encoded_words_and_gmail_headers() {
    let (ok, _) = messages();
    let m = &ok[0];
    assert_eq!(m.message_id.as_deref(), Some("welcome-1@example.com"));
    assert_eq!(m.thread_id, "1792650000000000001");
    assert_eq!(m.date, Some(utc("2024-03-04T15:00:00Z")));
    // ISO-8859-1 encoded-word name.
    assert_eq!(m.from, vec![addr("jose@example.com", Some("José Pérez"))]);
    // Folded To header with a UTF-8 encoded-word name and a quoted comma.
    assert_eq!(
        m.to,
        vec![
            addr("ana@example.com", Some("Ana López")),
            addr("Bob.Smith@Example.com", Some("Bob Smith")),
            addr("carol@example.com", None),
            addr("dan@example.com", Some("Dan, the Man")),
        ]
    );
    assert_eq!(m.cc, vec![addr("eve@example.com", Some("Eve"))]);
    // Three UTF-8 encoded words folded over three lines.
    assert_eq!(m.subject.as_deref(), Some("Café ☕ plans for Q2"));
    // Snippet from the text/plain alternative (base64, UTF-8).
    assert_eq!(
        m.snippet.as_deref(),
        Some("Hi team, Let's meet at the café on Friday.")
    );
    assert_eq!(m.labels, vec!["Inbox", "Important", "Clientes/España"]);
    assert_eq!(m.attachments, 0);
    assert_eq!(m.body, None);
}

#[test]
fn attachment_is_counted_not_decoded() {
    let (ok, _) = messages();
    let m = &ok[1];
    assert_eq!(m.subject.as_deref(), Some("Your invoice"));
    assert_eq!(m.attachments, 1);
    assert_eq!(
        m.snippet.as_deref(),
        Some("Please find your invoice attached.")
    );
    assert_eq!(m.date, Some(utc("2024-03-05T09:30:00Z")));
    assert_eq!(m.thread_id, "invoice-2@vendor.example");
}

#[test]
fn quoted_printable_body_with_escaped_from_line() {
    let (ok, _) = messages();
    let m = &ok[2];
    assert_eq!(m.subject.as_deref(), Some("Größe und Maße"));
    assert_eq!(m.from, vec![addr("ana@example.com", Some("Ana López"))]);
    assert_eq!(m.date, Some(utc("2024-03-06T07:15:00Z")));
    assert_eq!(
        m.snippet.as_deref(),
        Some(
            "Die Größe ist 42 und die Maße stimmen – this line is deliberately long so that \
             quoted-printable has to wrap it with soft line breaks. From now on we use metric units."
        )
    );
}

#[test]
fn base64_body_and_snippet_length() {
    let (ok, _) = messages();
    let m = &ok[3];
    assert_eq!(m.subject.as_deref(), Some("日本からのお知らせ"));
    assert_eq!(m.date, Some(utc("2024-03-07T09:00:00Z")));
    assert_eq!(
        m.snippet.as_deref(),
        Some("こんにちは、アナさん。 会議の資料を送ります。")
    );
    let short = read_all(MboxOptions {
        snippet_chars: 5,
        ..MboxOptions::default()
    });
    let m = short[3].as_ref().expect("loads");
    assert_eq!(m.snippet.as_deref(), Some("こんにちは"));
}

#[test]
fn replies_thread_together() {
    let (ok, _) = messages();
    let reply = &ok[4];
    assert_eq!(reply.thread_id, "1792650000000000001");
    assert_eq!(reply.labels, vec!["Sent"]);
    // Quoted lines and the "On ... wrote:" attribution are dropped.
    assert_eq!(reply.snippet.as_deref(), Some("Friday works for me."));
    assert_eq!(reply.subject.as_deref(), Some("Re: Café ☕ plans for Q2"));
    assert_eq!(reply.to, vec![addr("jose@example.com", Some("José Pérez"))]);
    // No Gmail thread id: the root of the folded References header.
    let second = &ok[5];
    assert_eq!(second.thread_id, "welcome-1@example.com");
    assert_eq!(second.message_id.as_deref(), Some("reply-6@example.com"));
}

#[test]
fn eight_bit_body_in_wrong_charset_decodes_lossily() {
    let (ok, _) = messages();
    let m = &ok[6];
    // windows-1252 encoded word (0x96 is an en dash).
    assert_eq!(m.subject.as_deref(), Some("Résumé – draft"));
    // Raw Latin-1 byte in a header: replaced, not a failure.
    assert_eq!(m.from[0].email, "francois@example.fr");
    assert_eq!(m.from[0].name.as_deref(), Some("Fran\u{fffd}ois"));
    // Latin-1 body declared us-ascii: mail-parser decodes it as Latin-1.
    assert_eq!(m.snippet.as_deref(), Some("Voici le résumé de la réunion."));
}

#[test]
fn broken_date_is_none_and_missing_ids_hash() {
    let (ok, _) = messages();
    let broken = &ok[7];
    assert_eq!(broken.subject.as_deref(), Some("Date is garbage"));
    assert_eq!(broken.date, None);
    let no_ids = &ok[8];
    assert_eq!(no_ids.message_id, None);
    assert!(
        no_ids.thread_id.starts_with("hash:"),
        "{}",
        no_ids.thread_id
    );
    // Stable across runs.
    let (again, _) = messages();
    assert_eq!(again[8].thread_id, no_ids.thread_id);
}

#[test]
fn keep_body_returns_decoded_text() {
    let items = read_all(MboxOptions {
        keep_body: true,
        ..MboxOptions::default()
    });
    let m = items[2].as_ref().expect("loads");
    let body = m.body.as_deref().expect("body kept");
    assert!(
        body.contains("\nFrom now on we use metric units."),
        "{body}"
    );
    assert!(!body.contains(">From"));
}
