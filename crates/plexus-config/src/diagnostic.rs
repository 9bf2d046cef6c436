//! Problems found in a project, each pointing at a file, a line and a fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a project: where it is, what is wrong, and how to fix it.
///
/// `plexus check` collects every diagnostic it can find instead of stopping at
/// the first, so a user fixes a whole project in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in (usually `plexus.yml`, or a model or data file).
    pub file: PathBuf,
    /// 1-based line in `file`, when known.
    pub line: Option<u32>,
    /// 1-based column in `file`, when known.
    pub column: Option<u32>,
    /// What is wrong, as a sentence.
    pub message: String,
    /// How to fix it, when Plexus can tell.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `file` with no position yet.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Sets the 1-based line and column (0 means unknown and is ignored).
    pub fn at(mut self, line: u32, column: u32) -> Self {
        self.line = (line > 0).then_some(line);
        self.column = (column > 0).then_some(column);
        self
    }

    /// Sets the position from a YAML location.
    pub fn at_location(self, location: &serde_saphyr::Location) -> Self {
        self.at(location.line() as u32, location.column() as u32)
    }

    /// Adds a hint saying how to fix the problem.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column`, as editors and terminals understand it.
    pub fn position(&self) -> String {
        position(&self.file, self.line, self.column)
    }
}

/// Formats `file:line:column`, leaving out unknown parts.
pub fn position(file: &Path, line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", file.display()),
        (Some(l), None) => format!("{}:{l}", file.display()),
        _ => file.display().to_string(),
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position(), self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Suggests the closest of `candidates` to `word`, for "did you mean" hints.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos() {
        let keys = ["sources", "identity", "groups", "models", "name"];
        assert_eq!(closest("sorces", keys), Some("sources"));
        assert_eq!(closest("identty", keys), Some("identity"));
        assert_eq!(closest("zzzzzz", keys), None);
    }

    #[test]
    fn display_names_position_and_hint() {
        let d = Diagnostic::new("plexus.yml", "bad")
            .at(3, 5)
            .with_hint("fix it");
        assert_eq!(d.to_string(), "plexus.yml:3:5: bad\n  hint: fix it");
    }
}
