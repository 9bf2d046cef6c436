//! The error record every parser emits for an item it cannot load.

/// An input item that could not be turned into a record.
///
/// Parsers emit a `Reject` instead of failing the whole file, so a caller can
/// load everything else and report "file:line: reason" to the person who owns
/// the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct Reject {
    /// 1-based line of the file where the rejected item starts.
    pub line: u64,
    /// What is wrong with the item and, where useful, how to fix it.
    pub reason: String,
}

impl Reject {
    /// Builds a reject for the item starting at `line`.
    pub fn new(line: u64, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_and_reason() {
        let r = Reject::new(7, "missing DTSTART");
        assert_eq!(r.to_string(), "line 7: missing DTSTART");
    }
}
