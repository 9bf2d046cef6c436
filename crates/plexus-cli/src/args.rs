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
        after_help = "Examples:\n  plexus build\n  plexus build --project examples/jaffle_gaggle --json\n  plexus build --full-refresh      # read incremental sources whole again\n  plexus build --event-memory 512MiB   # a smaller machine: more passes, less memory"
    )]
    Build {
        /// Print the build report as JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Read incremental (`cursor`) sources whole again, ignoring where the previous
        /// build stopped: after rows changed without moving their cursor column.
        #[arg(long)]
        full_refresh: bool,
        /// Memory the timeline may give the events' wide columns (source keys, titles,
        /// properties), such as `512MiB` or `4GiB` (at least 64MiB). Past it, the timeline
        /// reads them in several passes over `events.parquet`, each holding only the events
        /// it needs: less memory, more time. The build report says how many passes.
        /// [default: a quarter of the machine's memory]
        #[arg(long, value_name = "SIZE", value_parser = parse_event_memory)]
        event_memory: Option<u64>,
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
    /// Query the semantic layer: measures, metrics and dimensions defined under
    /// `semantic/` (and the built-in cubes), in Plexus's or Cube's query JSON.
    #[command(after_help = "\
Examples:
  plexus query '{\"measures\": [\"events.count\"], \"dimensions\": [\"events.source\"]}'
  plexus query '{\"metrics\": [\"revenue\"], \"time_dimensions\": [{\"dimension\": \"events.timestamp\", \"granularity\": \"month\"}]}'
  plexus query -f query.json --format csv
  plexus query -f query.json --sql          # the SQL it runs
  plexus query --list                       # every cube, measure, dimension and metric")]
    Query {
        /// The query as JSON (or use `-f`).
        #[arg(required_unless_present_any = ["file", "list"], conflicts_with = "file")]
        query: Option<String>,
        /// Read the query from this JSON file (`-` for standard input).
        #[arg(short, long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Output format (`table` applies each measure's format).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Print the SQL the query runs instead of running it.
        #[arg(long)]
        sql: bool,
        /// List the cubes, their measures and dimensions, and the metrics.
        #[arg(long, conflicts_with_all = ["sql"])]
        list: bool,
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
    /// Explain an identifier: its person, every identifier of that person, and with a
    /// second identifier the shortest chain of links between the two (each with the record
    /// or rule that asserted it), plus what the identity guards blocked.
    ///
    /// An identifier is `type:value` (`user_id:42`), a bare email or phone (normalised as a
    /// build would), any other bare value, or a person id (old ids follow `id_redirects`).
    #[command(after_help = "\
Examples:
  plexus explain ada@analytical.io
  plexus explain ' Ada@Analytical.IO ' user_id:7
  plexus explain per_3f2a9c0d11e4b7a2 --json")]
    Explain {
        /// The identifier to explain.
        identifier: String,
        /// A second identifier: how are the two linked (or why not)?
        other: Option<String>,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure identity resolution against a ground truth: pairwise precision, recall and
    /// F1 over records, split persons, impure clusters and the largest cluster.
    ///
    /// The truth is a CSV file `source,record_key,person[,role]` naming the true person of
    /// each record (the demo writes one to ground_truth/records.csv).
    #[command(after_help = "\
Examples:
  plexus eval --truth ground_truth/records.csv
  plexus eval --project plexus-demo --truth plexus-demo/ground_truth/records.csv --json")]
    Eval {
        /// The ground-truth CSV file.
        #[arg(long, value_name = "FILE")]
        truth: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Human-in-the-loop identity rules: say that two identifiers are (or are never) one
    /// person. Appends a row to the project's merge or never-merge file; the next build
    /// applies it.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Generate a fictional B2B SaaS company's data as a project, build it, and show what
    /// to try next.
    #[command(
        after_help = "Examples:\n  plexus demo\n  plexus demo --persons 20000 --dir /tmp/acme\n  plexus demo --postgres postgres://postgres@127.0.0.1:5432/test\n  plexus demo --postgres '${DATABASE_URL}'   (the password stays out of plexus.yml)"
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
        /// Generate the project without building it.
        #[arg(long, conflicts_with = "serve")]
        no_build: bool,
        /// After the build, serve the web app and API (as `plexus serve`) until stopped.
        #[arg(long)]
        serve: bool,
        /// Also load the demo's product database (app_users, workspaces) into this
        /// PostgreSQL server and read it back as `postgres` sources, incremental on
        /// `updated_at`. A URL, or `'${VAR}'` (quoted) to keep a password out of the demo's
        /// plexus.yml.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// With `--postgres`: the schema the tables go to (dropped first if it exists).
        #[arg(
            long,
            value_name = "NAME",
            default_value = "plexus_demo",
            requires = "postgres"
        )]
        postgres_schema: String,
        /// With `--serve`: where to listen.
        #[arg(
            long,
            value_name = "IP:PORT",
            default_value = "127.0.0.1:7777",
            requires = "serve"
        )]
        addr: std::net::SocketAddr,
    },
    /// Serve the JSON API and the timeline web app over the project's warehouse. Switches
    /// to a rebuilt warehouse by itself, without a restart.
    ///
    /// Binds to 127.0.0.1 by default. Any other address needs an API token (`--token` or
    /// PLEXUS_API_TOKEN), which every API request must then send as `Authorization:
    /// Bearer <token>`.
    #[command(after_help = "\
Examples:
  plexus serve                                  http://127.0.0.1:7777/
  plexus serve --project plexus-demo --addr 127.0.0.1:8080
  PLEXUS_API_TOKEN=s3cret plexus serve --addr 0.0.0.0:7777
  curl 'http://127.0.0.1:7777/api/search?q=ada'")]
    Serve {
        /// Where to listen.
        #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7777")]
        addr: std::net::SocketAddr,
        /// API token; required to listen on an address other than loopback.
        #[arg(long, env = "PLEXUS_API_TOKEN", hide_env_values = true)]
        token: Option<String>,
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

/// `plexus identity` subcommands.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Record that two identifiers are one person (a row in the first `merges` file).
    #[command(after_help = "\
Examples:
  plexus identity merge jane@gmail.com jane.doe@brightlabs.io --comment 'ticket #812'
  plexus identity merge user_id:41 user_id:97")]
    Merge(RuleArgs),
    /// Record that two identifiers are never one person (a row in the first
    /// `never_merge` file): the build cuts their component apart on a minimum cut.
    #[command(after_help = "\
Examples:
  plexus identity split bob@acme.com alice@acme.com --comment 'share a phone'
  plexus identity split phone:+14155550134 email:kid@gmail.com")]
    Split(RuleArgs),
}

/// The two identifiers of a rule and a comment.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// First identifier (`type:value`, or a bare value of the file's type).
    pub a: String,
    /// Second identifier.
    pub b: String,
    /// Why (kept in the file's third column).
    #[arg(long, short)]
    pub comment: Option<String>,
}

/// Parses `--event-memory`: a size such as `512MiB`, `4GiB` or `2000000000`.
fn parse_event_memory(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a size ({e}); write it like `512MiB` or `4GiB`"))?;
    if size.as_u64() < plexus_build::memory::MIN_EVENT_MEMORY as u64 {
        return Err(format!(
            "`{text}` is less than 64MiB, the least the timeline works with; give it 64MiB or more"
        ));
    }
    Ok(size.as_u64())
}
