//! Helpers shared by the fixture tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Bytes of a fixture file.
pub fn read(name: &str) -> Vec<u8> {
    match std::fs::read(fixture(name)) {
        Ok(b) => b,
        Err(e) => panic!("cannot read fixture {name}: {e}; run tests/fixtures/make_fixtures.py"),
    }
}

/// RFC 3339 text to microseconds since the epoch.
pub fn utc(s: &str) -> i64 {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(d) => d.timestamp_micros(),
        Err(e) => panic!("bad time literal {s}: {e}"),
    }
}
