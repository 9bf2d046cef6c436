//! The types of `plexus.yml`. Every field's doc comment is its reference doc.

use indexmap::IndexMap;
use serde::Deserialize;
pub use serde_saphyr::Spanned;

/// A SQL expression (DataFusion SQL) over a source's columns, with its place in `plexus.yml`.
pub type Expr = Spanned<String>;

/// A map from a name (an identifier type, a trait, a property) to a SQL expression, in file order.
pub type ExprMap = IndexMap<String, Expr>;

/// The whole of `plexus.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The project's name, shown in output and used in warehouse metadata.
    pub name: Spanned<String>,
    /// How identifiers resolve into persons: personal domains, merges, domain aliases.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Group types (companies, workspaces, any custom type). Default: `company` from
    /// corporate email domains.
    #[serde(default)]
    pub groups: Option<IndexMap<String, GroupTypeConfig>>,
    /// The sources to load, in order.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// The folder of `*.sql` models, relative to the project folder. Default: `models`.
    #[serde(default)]
    pub models: Option<Spanned<String>>,
    /// The warehouse folder, relative to the project folder. Default: `warehouse`.
    #[serde(default)]
    pub warehouse: Option<Spanned<String>>,
    /// Survivorship: which observation of each trait is its current value (table
    /// `current_traits`). Traits not listed take the most recent observation.
    #[serde(default)]
    pub traits: IndexMap<String, TraitRule>,
    /// Facts: aggregates of each person's and group's events, one column each in
    /// `person_facts` and `group_facts`, in file order.
    #[serde(default)]
    pub facts: IndexMap<String, FactConfig>,
    /// The email domains of the project's own company (e.g. `[acme.io]`): a message from
    /// one of them is `email_sent`, any other `email_received` (mbox sources).
    #[serde(default)]
    pub own_domains: Vec<Spanned<String>>,
}

/// How the current value of a trait is chosen among its observations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraitRule {
    /// `latest` (default), `first`, or `source_priority`.
    #[serde(default)]
    pub rule: Option<Spanned<Survivorship>>,
    /// For `source_priority`: source names, most trusted first. Observations from other
    /// sources rank after them; ties go to the most recent observation.
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
}

/// Survivorship rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Survivorship {
    /// The most recent observation (ties: source name, then row key).
    Latest,
    /// The earliest observation.
    First,
    /// The observation from the most trusted source in `sources`, then the most recent.
    SourcePriority,
}

impl Survivorship {
    /// The name used in `plexus.yml` and in `current_traits.rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Survivorship::Latest => "latest",
            Survivorship::First => "first",
            Survivorship::SourcePriority => "source_priority",
        }
    }
}

/// One declared fact: an aggregate over an entity's events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactConfig {
    /// The aggregate: `count`, `sum`, `avg`, `min`, `max`, `first` (value of the earliest
    /// event) or `last` (value of the most recent one).
    pub agg: Spanned<FactAgg>,
    /// Only events with these names (default: every event).
    #[serde(default)]
    pub events: Vec<Spanned<String>>,
    /// Only events from these sources (default: every source).
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
    /// How people read it: `number` (default), `currency` or `days`.
    #[serde(default)]
    pub format: Option<Spanned<String>>,
    /// What it means, shown in the API and the web app.
    #[serde(default)]
    pub description: Option<String>,
}

/// Fact aggregates. All but `count` aggregate the event's `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactAgg {
    /// Number of events.
    Count,
    /// Sum of values.
    Sum,
    /// Mean of values.
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Value of the earliest event with a value.
    First,
    /// Value of the most recent event with a value.
    Last,
}

impl FactAgg {
    /// The name used in `plexus.yml`.
    pub fn as_str(self) -> &'static str {
        match self {
            FactAgg::Count => "count",
            FactAgg::Sum => "sum",
            FactAgg::Avg => "avg",
            FactAgg::Min => "min",
            FactAgg::Max => "max",
            FactAgg::First => "first",
            FactAgg::Last => "last",
        }
    }
}

/// Identity resolution settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Free-mail domains that never form companies. A list replaces the built-in list;
    /// a map `{builtin, add, remove}` adjusts it.
    #[serde(default)]
    pub personal_domains: Option<PersonalDomains>,
    /// CSV files of pairs of identifiers that are one entity.
    #[serde(default)]
    pub merges: Vec<MergeFileConfig>,
    /// CSV files of pairs of identifiers that are never one entity: a component holding
    /// both splits between them on a minimum cut.
    #[serde(default)]
    pub never_merge: Vec<MergeFileConfig>,
    /// A CSV file `old_domain,new_domain` of companies that changed domain.
    #[serde(default)]
    pub domain_aliases: Option<Spanned<String>>,
    /// Default region (ISO 3166 alpha-2, e.g. `US`) for phone numbers written without a
    /// country code. Without it, such numbers are rejected.
    #[serde(default)]
    pub phone_region: Option<Spanned<String>>,
    /// Email provider rules to switch on, e.g. `[gmail]` (dots and `+tags` ignored at
    /// gmail.com and googlemail.com).
    #[serde(default)]
    pub email_rules: Vec<Spanned<String>>,
    /// Identifier types that win anchor ties, most preferred first. Default:
    /// `[user_id, email, phone]`.
    #[serde(default)]
    pub anchor_priority: Option<Vec<Spanned<String>>>,
    /// Junk identifiers that never link anyone (placeholders, test addresses).
    #[serde(default)]
    pub blocklist: Option<BlocklistConfig>,
    /// The most identifiers of a type one entity may hold, e.g. `{user_id: 1}`: a link that
    /// would exceed it is refused (and recorded).
    #[serde(default)]
    pub limits: IndexMap<String, Spanned<u32>>,
    /// Identifiers that behave like shared ones stay on their records but never bridge two
    /// entities.
    #[serde(default)]
    pub quarantine: Option<QuarantineConfig>,
}

/// The blocklist setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocklistConfig {
    /// Use Plexus's built-in defaults (test and example addresses, placeholder phones).
    /// Default: true.
    #[serde(default = "yes")]
    pub builtin: bool,
    /// Exact values per identifier type, e.g. `{email: [nobody@acme.com]}`.
    #[serde(default)]
    pub exact: IndexMap<String, Vec<Spanned<String>>>,
    /// Regular expressions per identifier type, matched against normalised values.
    #[serde(default)]
    pub regex: IndexMap<String, Vec<Spanned<String>>>,
}

/// The quarantine setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineConfig {
    /// Quarantine role mailboxes (`info@`, `support@`, `billing@`, ...). Default: true.
    #[serde(default = "yes")]
    pub role_mailboxes: bool,
    /// Extra role mailbox local parts (e.g. `[concierge]`).
    #[serde(default)]
    pub add_roles: Vec<String>,
    /// Local parts not to treat as role mailboxes.
    #[serde(default)]
    pub remove_roles: Vec<String>,
    /// An identifier seen with more than this many distinct values of one strong type is
    /// shared. Default: 3.
    #[serde(default)]
    pub max_strong_ids: Option<Spanned<u32>>,
    /// The strong identifier types counted by `max_strong_ids`. Default: the types under
    /// `limits`, or `[user_id]` without limits.
    #[serde(default)]
    pub strong_types: Option<Vec<String>>,
}

/// The personal-domain setting: an exact list, or adjustments to the built-in list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PersonalDomains {
    /// Exactly these domains (the built-in list is not used).
    List(Vec<String>),
    /// The built-in list (unless `builtin: false`), plus `add`, minus `remove`.
    Adjust(PersonalDomainsAdjust),
}

/// Adjustments to the built-in personal-domain list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDomainsAdjust {
    /// Start from the built-in list. Default: true.
    #[serde(default = "yes")]
    pub builtin: bool,
    /// Domains to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Domains to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One merge file: a CSV with a header row whose rows each name two identifiers of one
/// entity. The first column is folded into the second.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeFileConfig {
    /// Path of the CSV file, relative to the project folder; `${VAR}` is expanded.
    pub path: Spanned<String>,
    /// Identifier type of values written without a `type:` prefix. Default: `email`.
    #[serde(default, rename = "type")]
    pub identifier_type: Option<Spanned<String>>,
}

/// A group type: how groups of this type form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTypeConfig {
    /// Where groups of this type come from besides mapped memberships:
    /// `email_domain` forms one group per corporate email domain.
    #[serde(default)]
    pub from: Option<Spanned<GroupOrigin>>,
}

/// Automatic origins of groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOrigin {
    /// One group per corporate (non-personal) email domain; every person with an email on
    /// that domain (or an alias of it) is a member.
    EmailDomain,
}

/// The file formats a source can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// RFC 4180 CSV with a header row (quoted commas and newlines, CRLF, UTF-8 BOM).
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON, one object per line.
    Ndjson,
    /// A mailbox (Gmail Takeout, RFC 5322 with MIME): one event per message.
    Mbox,
    /// An iCalendar file (Google Calendar export, RFC 5545): one event per meeting
    /// occurrence, recurring series expanded.
    Ics,
    /// Stripe API objects (a list object, a JSON array or NDJSON of customers, invoices,
    /// charges, subscriptions and refunds).
    Stripe,
    /// Segment-spec NDJSON (identify, track, page, screen, group, alias calls).
    Segment,
    /// A PostgreSQL table or query, read over the network (`url`, `table` or `query`).
    Postgres,
}

impl SourceKind {
    /// The name used in `plexus.yml`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Csv => "csv",
            SourceKind::Parquet => "parquet",
            SourceKind::Ndjson => "ndjson",
            SourceKind::Mbox => "mbox",
            SourceKind::Ics => "ics",
            SourceKind::Stripe => "stripe",
            SourceKind::Segment => "segment",
            SourceKind::Postgres => "postgres",
        }
    }

    /// Whether the source type comes with a built-in mapping (a connector).
    pub fn is_connector(self) -> bool {
        matches!(
            self,
            SourceKind::Mbox | SourceKind::Ics | SourceKind::Stripe | SourceKind::Segment
        )
    }

    /// Whether the source reads files (`path`), as opposed to a database (`url`).
    pub fn reads_files(self) -> bool {
        self != SourceKind::Postgres
    }
}

/// A source: files of one format plus the mapping that says what each row means.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; also the SQL table name of the raw rows in models.
    pub name: Spanned<String>,
    /// File format.
    #[serde(rename = "type")]
    pub kind: Spanned<SourceKind>,
    /// A file or a glob, relative to the project folder; `${VAR}` is expanded. Every type
    /// but `postgres` needs one.
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    /// `postgres`: the connection URL, e.g. `postgres://app@db.internal:5432/app` (usually
    /// `${DATABASE_URL}`: `${VAR}` is expanded). Its password never appears in output.
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    /// `postgres`: the table to read, `table` or `schema.table`.
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// `postgres`: a query to read instead of a table (any `SELECT`).
    #[serde(default)]
    pub query: Option<Spanned<String>>,
    /// `postgres`: a column that grows whenever a row is inserted or updated (an
    /// `updated_at` or a sequence). Each build then reads only the rows past the previous
    /// build's largest value and keeps the source's rows in the warehouse.
    #[serde(default)]
    pub cursor: Option<Spanned<String>>,
    /// `postgres` with `cursor`: the column or columns identifying a row. A row read again
    /// (updated) replaces its earlier copy; without it, rows read are appended. Also the
    /// default `key`.
    #[serde(default)]
    pub primary_key: Option<Columns>,
    /// SQL: a stable key for each row. Default: the file name and line.
    #[serde(default)]
    pub key: Option<Expr>,
    /// SQL: when the row's traits and memberships were observed. Default: the event timestamp.
    #[serde(default)]
    pub observed_at: Option<Expr>,
    /// The event each row records, if any.
    #[serde(default)]
    pub event: Option<EventMapping>,
    /// The persons taking part in the row, each with a role.
    #[serde(default)]
    pub participants: Vec<ParticipantMapping>,
    /// Groups the row describes (their traits).
    #[serde(default)]
    pub groups: Vec<GroupMapping>,
    /// `mbox`: keep each message's full text body in the event's properties (default:
    /// false, only a short snippet: privacy by default).
    #[serde(default)]
    pub keep_body: bool,
    /// `ics`: the period recurring meetings are expanded in. Default: from three years
    /// before the build to one year after it.
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// `segment`: the group type `group` calls link users to. Default: `company`.
    #[serde(default)]
    pub group_type: Option<Spanned<String>>,
}

/// One column name or a list of them (`primary_key: id` or `primary_key: [org, id]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Columns {
    /// One column.
    One(Spanned<String>),
    /// Several columns.
    Many(Vec<Spanned<String>>),
}

impl Columns {
    /// The columns, in order.
    pub fn list(&self) -> Vec<&Spanned<String>> {
        match self {
            Columns::One(c) => vec![c],
            Columns::Many(cs) => cs.iter().collect(),
        }
    }
}

/// A period of time, each end a date (`2024-01-01`) or an RFC 3339 time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// The first instant included.
    pub from: Spanned<String>,
    /// The first instant after the period.
    pub to: Spanned<String>,
}

/// What event a row records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMapping {
    /// SQL: when it happened (a timestamp, or text such as `2024-05-01 10:00:00` or RFC 3339).
    pub timestamp: Expr,
    /// SQL: a condition; rows where it does not hold record no event (their participants,
    /// traits and memberships still load). Default: every row records one.
    #[serde(default)]
    pub when: Option<Expr>,
    /// SQL: the event name, e.g. `'order_placed'`. Default: the source name.
    #[serde(default)]
    pub name: Option<Expr>,
    /// SQL: a human title for timelines.
    #[serde(default)]
    pub title: Option<Expr>,
    /// SQL: a numeric value, e.g. an amount.
    #[serde(default)]
    pub value: Option<Expr>,
    /// SQL: the currency of `value`, e.g. `'EUR'`.
    #[serde(default)]
    pub currency: Option<Expr>,
    /// Extra properties kept with the event as JSON: name -> SQL.
    #[serde(default)]
    pub properties: ExprMap,
}

/// A person taking part in a row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantMapping {
    /// The participant's role (a literal word such as `user`, `sender`, `customer`).
    pub role: Spanned<String>,
    /// Identifier type -> SQL. All identifiers of one participant in one row are one person.
    pub identifiers: ExprMap,
    /// Trait name -> SQL, observed at the row's time.
    #[serde(default)]
    pub traits: ExprMap,
    /// Groups this participant belongs to.
    #[serde(default)]
    pub memberships: Vec<MembershipMapping>,
}

/// A participant's membership in a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipMapping {
    /// A group type declared under `groups`.
    pub group: Spanned<String>,
    /// SQL: the group's identifier (a domain, a workspace id).
    pub identifier: Expr,
    /// SQL: the person's role in the group (`admin`, `member`, `billing contact`). The
    /// latest observed role is the membership's; none mapped or all null: no role.
    #[serde(default)]
    pub role: Option<Expr>,
}

/// A group a row describes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// A group type declared under `groups`.
    #[serde(rename = "type")]
    pub group_type: Spanned<String>,
    /// SQL: the group's identifier.
    pub identifier: Expr,
    /// Trait name -> SQL.
    #[serde(default)]
    pub traits: ExprMap,
}

/// The keys allowed at the top of `plexus.yml`, for hints.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "identity",
    "groups",
    "sources",
    "models",
    "warehouse",
    "traits",
    "facts",
    "own_domains",
];
