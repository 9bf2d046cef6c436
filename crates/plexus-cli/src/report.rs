//! Rendering errors and problems for people: miette reports with a snippet of the file
//! and a hint, or JSON for programs.

use miette::{Diagnostic as MietteDiagnostic, LabeledSpan, NamedSource, SourceSpan};
use std::path::Path;

use plexus_config::Diagnostic;

/// A problem in a project, as miette renders it: message, the line of the file, a hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    message: String,
    help: Option<String>,
    source_code: Option<NamedSource<String>>,
    span: Option<SourceSpan>,
}

impl MietteDiagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source_code
            .as_ref()
            .map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.span.map(|s| {
            Box::new(std::iter::once(LabeledSpan::new_with_span(
                Some("here".into()),
                s,
            ))) as Box<dyn Iterator<Item = LabeledSpan>>
        })
    }
}

impl Problem {
    /// Builds a renderable problem from a Plexus diagnostic, reading the file for a snippet.
    pub fn from_diagnostic(d: &Diagnostic) -> Problem {
        let text = d.line.and_then(|_| std::fs::read_to_string(&d.file).ok());
        let span = match (&text, d.line) {
            (Some(t), Some(line)) => offset(t, line, d.column.unwrap_or(1))
                .map(|(o, len)| SourceSpan::new(o.into(), len)),
            _ => None,
        };
        let shown = display_path(&d.file);
        let position = plexus_config::position(Path::new(&shown), d.line, d.column);
        Problem {
            message: format!("{position}: {}", d.message),
            help: d.hint.clone(),
            source_code: text
                .filter(|_| span.is_some())
                .map(|t| NamedSource::new(shown, t)),
            span,
        }
    }
}

/// `path` relative to the current folder when it lies below it, as people type it.
pub fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Byte offset and length of the token at (line, column), 1-based.
fn offset(text: &str, line: u32, column: u32) -> Option<(usize, usize)> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let col = (column.max(1) - 1) as usize;
            let col = l.char_indices().nth(col).map_or(0, |(b, _)| b);
            let rest = &l[col..];
            let len = rest.trim_end().len().max(1).min(rest.len().max(1));
            return Some((start + col, len.min(80)));
        }
        start += l.len();
    }
    None
}

/// Prints every diagnostic to stderr with miette's renderer.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{:?}", miette::Report::new(Problem::from_diagnostic(d)));
    }
}

/// Diagnostics as JSON objects.
pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::Value::Array(
        diagnostics
            .iter()
            .map(|d| {
                serde_json::json!({
                    "file": d.file.display().to_string(),
                    "line": d.line,
                    "column": d.column,
                    "message": d.message,
                    "hint": d.hint,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_points_at_the_column() {
        let t = "a: 1\nname: x\n";
        assert_eq!(offset(t, 2, 7), Some((11, 1)));
        assert_eq!(offset(t, 9, 1), None);
    }
}
