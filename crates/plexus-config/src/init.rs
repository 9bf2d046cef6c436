//! `plexus init`: scaffold a commented, working project.

use std::path::{Path, PathBuf};

/// The files `plexus init` writes: (path relative to the project folder, contents).
pub const SCAFFOLD: &[(&str, &str)] = &[
    ("plexus.yml", include_str!("init/plexus.yml")),
    ("data/customers.csv", include_str!("init/customers.csv")),
    ("data/orders.csv", include_str!("init/orders.csv")),
    (
        "models/customer_revenue.sql",
        include_str!("init/customer_revenue.sql"),
    ),
    (".gitignore", "warehouse/\n.plexus/\n"),
];

/// Why `plexus init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The folder already holds a project; init never overwrites.
    #[error("`{}` already exists; `plexus init` never overwrites a project", .0.display())]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes the scaffold into `dir` (created if needed) and returns the files written.
pub fn init_project(dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let config = dir.join(crate::CONFIG_FILE);
    if config.exists() {
        return Err(InitError::Exists(config));
    }
    let mut written = Vec::new();
    for (rel, contents) in SCAFFOLD {
        let path = dir.join(rel);
        let write = |path: &Path| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, contents)
        };
        write(&path).map_err(|source| InitError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
