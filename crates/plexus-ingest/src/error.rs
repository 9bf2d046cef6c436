//! Ingest errors: each names the source and the file, line or mapping field at fault.

use std::path::PathBuf;

use plexus_config::Diagnostic;

/// Why a source could not be read or mapped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A data file could not be opened or read.
    #[error("source `{source_name}`: cannot read `{}`", path.display())]
    Io {
        /// The source.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        error: std::io::Error,
    },
    /// A data file is malformed as a whole (e.g. an unbalanced quote in a CSV).
    #[error("source `{source_name}`: {}:{line}: {message}", path.display())]
    Malformed {
        /// The source.
        source_name: String,
        /// The file.
        path: PathBuf,
        /// 1-based line where the problem starts.
        line: u64,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The project configuration has problems (paths, mapping expressions).
    #[error("{}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<Diagnostic>),
    /// DataFusion failed while evaluating a mapping (not a planning problem).
    #[error("source `{source_name}`: evaluating the mapping failed")]
    Engine {
        /// The source.
        source_name: String,
        /// The engine error.
        #[source]
        error: datafusion::error::DataFusionError,
    },
    /// The consumer of a stream of batches stopped it (its own error says why).
    #[error("reading stopped")]
    Stopped,
}

impl IngestError {
    /// The diagnostics this error carries, if it is a configuration error.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            IngestError::Config(d) => d.clone(),
            IngestError::Malformed {
                path,
                line,
                message,
                hint,
                source_name,
            } => vec![
                Diagnostic::new(path, format!("source `{source_name}`: {message}"))
                    .at(*line as u32, 0)
                    .with_hint(hint.clone()),
            ],
            _ => vec![],
        }
    }
}
