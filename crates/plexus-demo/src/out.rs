//! Output files: creation below the project folder, CSV writers that count
//! rows, and error mapping that names the file that failed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::DemoError;

/// Buffer size of every writer: large writes keep a million-person run fast.
const BUF: usize = 1 << 20;

/// Maps an IO error to a [`DemoError`] naming `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `root/rel` (and its parent folders) for writing.
pub(crate) fn create(root: &Path, rel: &str) -> Result<(PathBuf, File), DemoError> {
    let abs = root.join(rel);
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let file = File::create(&abs).map_err(io_err(&abs))?;
    Ok((abs, file))
}

/// Writes a whole small text file.
pub(crate) fn write_text(root: &Path, rel: &str, text: &str) -> Result<(), DemoError> {
    let (abs, mut file) = create(root, rel)?;
    file.write_all(text.as_bytes()).map_err(io_err(&abs))
}

/// A CSV file being written row by row.
pub(crate) struct CsvOut {
    rel: PathBuf,
    abs: PathBuf,
    w: csv::Writer<File>,
    rows: u64,
}

impl CsvOut {
    /// Creates `root/rel` and writes the header.
    pub(crate) fn create(root: &Path, rel: &str, header: &[&str]) -> Result<CsvOut, DemoError> {
        let (abs, file) = create(root, rel)?;
        let w = csv::WriterBuilder::new()
            .buffer_capacity(BUF)
            .from_writer(file);
        let mut out = CsvOut {
            rel: PathBuf::from(rel),
            abs,
            w,
            rows: 0,
        };
        out.record(header)?;
        Ok(out)
    }

    /// Writes one data row.
    pub(crate) fn row<I, T>(&mut self, fields: I) -> Result<(), DemoError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.record(fields)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes a record without counting it.
    fn record<I, T>(&mut self, fields: I) -> Result<(), DemoError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.w
            .write_record(fields)
            .map_err(|source| DemoError::Csv {
                path: self.abs.clone(),
                source,
            })
    }

    /// Flushes the file; returns its relative path and data row count.
    pub(crate) fn finish(mut self) -> Result<(PathBuf, u64), DemoError> {
        self.w.flush().map_err(io_err(&self.abs))?;
        Ok((self.rel, self.rows))
    }
}

/// A line-oriented text file (NDJSON) being written.
pub(crate) struct LinesOut {
    rel: PathBuf,
    abs: PathBuf,
    w: BufWriter<File>,
    rows: u64,
}

impl LinesOut {
    /// Creates `root/rel`.
    pub(crate) fn create(root: &Path, rel: &str) -> Result<LinesOut, DemoError> {
        let (abs, file) = create(root, rel)?;
        Ok(LinesOut {
            rel: PathBuf::from(rel),
            abs,
            w: BufWriter::with_capacity(BUF, file),
            rows: 0,
        })
    }

    /// Writes a header line, not counted as a row.
    pub(crate) fn header(&mut self, line: &[u8]) -> Result<(), DemoError> {
        self.w.write_all(line).map_err(io_err(&self.abs))
    }

    /// Writes one line; `line` must end with `\n`.
    pub(crate) fn line(&mut self, line: &[u8]) -> Result<(), DemoError> {
        self.rows += 1;
        self.w.write_all(line).map_err(io_err(&self.abs))
    }

    /// Copies the whole of `src` (which holds `rows` lines) to the end.
    pub(crate) fn append(&mut self, src: &mut File, rows: u64) -> Result<(), DemoError> {
        self.w.flush().map_err(io_err(&self.abs))?;
        std::io::copy(src, self.w.get_mut()).map_err(io_err(&self.abs))?;
        self.rows += rows;
        Ok(())
    }

    /// Flushes the file; returns its relative path and line count.
    pub(crate) fn finish(mut self) -> Result<(PathBuf, u64), DemoError> {
        self.w.flush().map_err(io_err(&self.abs))?;
        Ok((self.rel, self.rows))
    }
}
