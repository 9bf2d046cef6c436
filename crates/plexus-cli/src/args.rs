//! The command line: every command, flag and example. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Plexus: a customer-360 engine in one binary.
///
/// Loads customer data from many sources, resolves who is who, and writes one warehouse of
/// persons, companies and their timeline as Parquet tables.
#[derive(Debug, Parser)]
#[command(
    name = "plexus",
    version,
    propagate_version = true,
    after_help = "\
Examples:
  plexus demo                          build the built-in demo company and show what to try
  plexus init my-project               scaffold a commented project
  plexus check --project my-project    validate it without building
  plexus build --project my-project    build its warehouse
  plexus sql \"SELECT * FROM persons LIMIT 5\""
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The project folder (or its plexus.yml). Default: the nearest folder at or above the
    /// current one that holds plexus.yml.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print nothing but results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Do not draw progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new project: a commented plexus.yml, sample data and a model.
    #[command(
        after_help = "Example:\n  plexus init my-project && plexus build --project my-project"
    )]
    Init {
        /// Folder to create the project in.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate a project without building: configuration, files, mapping expressions,
    /// identity files and models. Reports every problem with its file and line.
    #[command(
        after_help = "Examples:\n  plexus check\n  plexus check --project examples/jaffle_gaggle --json"
    )]
    Check {
        /// Print the problems as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build the warehouse: read and map sources, resolve identities, write the tables and
    /// models, then swap the new warehouse in atomically.
    #[command(
        after_help = "Examples:\n  plexus build\n  plexus build --project examples/jaffle_gaggle --json"
    )]
    Build {
        /// Print the build report as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Run a SQL query (DataFusion SQL) over the warehouse.
    #[command(after_help = "\
Examples:
  plexus sql \"SELECT type, count(*) FROM groups GROUP BY type\"
  plexus sql \"SELECT * FROM events ORDER BY timestamp DESC LIMIT 10\" --format json
  plexus sql \"SHOW TABLES\"")]
    Sql {
        /// The query.
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Export a warehouse table (rows in stored order).
    #[command(after_help = "\
Examples:
  plexus export persons --format csv -o persons.csv
  plexus export contacts --project examples/jaffle_gaggle --format csv -o contacts.csv
  plexus export events --format ndjson | head")]
    Export {
        /// The table (a core table or a model).
        table: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Output file. Default: standard output (not for parquet).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Generate a fictional B2B SaaS company's data as a project, build it, and show what
    /// to try next.
    #[command(
        after_help = "Examples:\n  plexus demo\n  plexus demo --persons 20000 --dir /tmp/acme"
    )]
    Demo {
        /// How many people the demo company's customers have.
        #[arg(long, default_value_t = 2000)]
        persons: usize,
        /// Where to write the project. Default: ./plexus-demo
        #[arg(long, value_name = "DIR", default_value = "plexus-demo")]
        dir: PathBuf,
        /// Random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print the build report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Formats of `plexus sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// RFC 4180 CSV with a header.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Formats of `plexus export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// RFC 4180 CSV: header, NULL as empty, timestamps `YYYY-MM-DD HH:MM:SS`.
    Csv,
    /// Apache Parquet (needs `-o`).
    Parquet,
    /// One JSON object per line.
    Ndjson,
}
