//! Finding, loading and validating a project folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, closest};
use crate::env;
use crate::types::{
    GroupOrigin, GroupTypeConfig, ProjectConfig, SourceConfig, Spanned, Survivorship,
    TOP_LEVEL_KEYS,
};

/// The name of a project's configuration file.
pub const CONFIG_FILE: &str = "plexus.yml";

/// The tables every build writes. Sources and models may not take these names.
pub const WAREHOUSE_TABLES: &[&str] = &[
    "persons",
    "person_identifiers",
    "groups",
    "group_identifiers",
    "memberships",
    "events",
    "participants",
    "traits",
    "identity_rules",
    "identity_links",
    "blocked_links",
    "quarantined_identifiers",
    "id_redirects",
    "rejected_identifiers",
    "rejects",
    "build_manifest",
    "timeline",
    "timeline_sources",
    "current_traits",
    "person_facts",
    "group_facts",
    "power_users",
];

/// Columns every `person_facts` and `group_facts` row has, before the declared facts.
pub const BUILTIN_FACTS: &[&str] = &[
    "first_seen",
    "last_seen",
    "days_since_last_seen",
    "events",
    "sources",
];

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `plexus.yml` in the folder or any parent.
    #[error("no {CONFIG_FILE} found in `{}` or any folder above it", start.display())]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but has problems; each names its line.
    #[error("{} in `{}`", plural(diagnostics.len(), "problem"), file.display())]
    Invalid {
        /// The configuration file.
        file: PathBuf,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The diagnostics of an [`ConfigError::Invalid`] error, empty for other errors.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

/// `1 problem`, `3 problems`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A loaded project: its folder and its parsed `plexus.yml`.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project folder (the one holding `plexus.yml`), absolute.
    pub root: PathBuf,
    /// The configuration file.
    pub config_file: PathBuf,
    /// The parsed configuration.
    pub config: ProjectConfig,
}

impl Project {
    /// Finds the project: `explicit` (a folder or a `plexus.yml`) when given, otherwise the
    /// nearest folder at or above the current one that holds `plexus.yml`.
    pub fn discover(explicit: Option<&Path>) -> Result<Project, ConfigError> {
        match explicit {
            Some(p) if p.is_file() => Project::load_file(p),
            Some(p) => Project::load(p),
            None => {
                let start = std::env::current_dir().map_err(|source| ConfigError::Read {
                    path: PathBuf::from("."),
                    source,
                })?;
                let mut dir = start.as_path();
                loop {
                    if dir.join(CONFIG_FILE).is_file() {
                        return Project::load(dir);
                    }
                    match dir.parent() {
                        Some(parent) => dir = parent,
                        None => return Err(ConfigError::NotFound { start }),
                    }
                }
            }
        }
    }

    /// Loads the project in folder `dir`.
    pub fn load(dir: &Path) -> Result<Project, ConfigError> {
        let file = dir.join(CONFIG_FILE);
        if !file.is_file() {
            return Err(ConfigError::NotFound {
                start: dir.to_path_buf(),
            });
        }
        Project::load_file(&file)
    }

    /// Loads a project from its configuration file.
    pub fn load_file(file: &Path) -> Result<Project, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let root = absolute(file.parent().unwrap_or(Path::new(".")));
        let config_file = root.join(file.file_name().unwrap_or(CONFIG_FILE.as_ref()));
        let config = parse(&text, &config_file)?;
        Ok(Project {
            root,
            config_file,
            config,
        })
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.config.name.value
    }

    /// Group types, with the default (`company` from email domains) when none are declared.
    pub fn group_types(&self) -> IndexMap<String, GroupTypeConfig> {
        match &self.config.groups {
            Some(g) => g.clone(),
            None => {
                let mut m = IndexMap::new();
                m.insert(
                    "company".to_string(),
                    GroupTypeConfig {
                        from: Some(Spanned::new(
                            GroupOrigin::EmailDomain,
                            serde_saphyr::Location::UNKNOWN,
                            serde_saphyr::Location::UNKNOWN,
                        )),
                    },
                );
                m
            }
        }
    }

    /// The models folder.
    pub fn models_dir(&self) -> PathBuf {
        match &self.config.models {
            Some(p) => self.root.join(&p.value),
            None => self.root.join("models"),
        }
    }

    /// The warehouse folder.
    pub fn warehouse_dir(&self) -> PathBuf {
        match &self.config.warehouse {
            Some(p) => self.root.join(&p.value),
            None => self.root.join("warehouse"),
        }
    }

    /// A diagnostic pointing into `plexus.yml` at `span`.
    pub fn diag_at<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.config_file, message).at_location(&span.referenced)
    }

    /// Expands `${VAR}` in a path setting, keeping it as written otherwise.
    pub fn expand_path(&self, path: &Spanned<String>) -> Result<String, Diagnostic> {
        env::expand(&path.value).map_err(|e| {
            self.diag_at(path, format!("cannot expand `{}`: {e}", path.value))
                .with_hint("set the variable, or give a default with `${NAME:-default}`")
        })
    }

    /// Resolves a path setting: expands `${VAR}` and makes it relative to the project folder.
    pub fn resolve_path(&self, path: &Spanned<String>) -> Result<PathBuf, Diagnostic> {
        Ok(self.root.join(self.expand_path(path)?))
    }

    /// The files a source reads, sorted: its path, or every match of its glob.
    /// A `postgres` source reads no file: none.
    pub fn source_files(&self, source: &SourceConfig) -> Result<Vec<PathBuf>, Diagnostic> {
        if !source.kind.value.reads_files() {
            return Ok(Vec::new());
        }
        let Some(source_path) = &source.path else {
            return Err(self
                .diag_at(
                    &source.kind,
                    format!(
                        "source `{}` (type {}) has no `path`",
                        source.name.value,
                        source.kind.value.as_str()
                    ),
                )
                .with_hint(
                    "add `path: data/file.ext` (a file or a glob, relative to plexus.yml)",
                ));
        };
        let written = self.expand_path(source_path)?;
        let path = self.root.join(&written);
        let text = path.to_string_lossy().to_string();
        let is_glob = text.contains(['*', '?', '[']);
        if !is_glob {
            if path.is_file() {
                return Ok(vec![path]);
            }
            return Err(self
                .diag_at(
                    source_path,
                    format!(
                        "source `{}`: file `{written}` does not exist",
                        source.name.value
                    ),
                )
                .with_hint("paths are relative to the folder holding plexus.yml"));
        }
        let entries = glob::glob(&text).map_err(|e| {
            self.diag_at(
                source_path,
                format!(
                    "source `{}`: bad glob `{}`: {e}",
                    source.name.value, source_path.value
                ),
            )
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(self
                .diag_at(
                    source_path,
                    format!(
                        "source `{}`: no file matches `{written}`",
                        source.name.value
                    ),
                )
                .with_hint(
                    "check the pattern; paths are relative to the folder holding plexus.yml",
                ));
        }
        Ok(files)
    }

    /// Checks everything that can be checked without reading data: names, references between
    /// sections, paths and files. Returns every problem found.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let groups = self.group_types();
        let group_names: Vec<&str> = groups.keys().map(String::as_str).collect();
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for source in &self.config.sources {
            let name = &source.name;
            if !is_sql_name(&name.value) {
                out.push(
                    self.diag_at(
                        name,
                        format!("source name `{}` is not a valid table name", name.value),
                    )
                    .with_hint("use lower-case letters, digits and `_`, starting with a letter"),
                );
            }
            if WAREHOUSE_TABLES.contains(&name.value.as_str()) {
                out.push(
                    self.diag_at(
                        name,
                        format!(
                            "source name `{}` is the name of a warehouse table",
                            name.value
                        ),
                    )
                    .with_hint("rename the source, e.g. `raw_{}`".replace("{}", &name.value)),
                );
            }
            if let Some(first) = seen.insert(name.value.as_str(), name.referenced.line() as u32) {
                out.push(
                    self.diag_at(
                        name,
                        format!(
                            "duplicate source name `{}` (first at line {first})",
                            name.value
                        ),
                    )
                    .with_hint("each source needs its own name"),
                );
            }
            if let Err(d) = self.source_files(source) {
                out.push(d);
            }
            self.validate_location(source, &mut out);
            if source.event.is_none() && source.participants.is_empty() && source.groups.is_empty()
            {
                out.push(
                    self.diag_at(name, format!("source `{}` maps nothing", name.value))
                        .with_hint("add an `event`, `participants` or `groups` mapping"),
                );
            }
            for p in &source.participants {
                if p.identifiers.is_empty() {
                    out.push(
                        self.diag_at(
                            &p.role,
                            format!("participant `{}` has no identifiers", p.role.value),
                        )
                        .with_hint("add e.g. `identifiers: { email: email }`"),
                    );
                }
                for m in &p.memberships {
                    check_group_ref(self, &m.group, &group_names, &mut out);
                }
            }
            for g in &source.groups {
                check_group_ref(self, &g.group_type, &group_names, &mut out);
            }
        }
        let identity = &self.config.identity;
        for merge in identity.merges.iter().chain(&identity.never_merge) {
            if let Err(d) = self.check_pair_file(&merge.path) {
                out.push(d);
            }
        }
        if let Some(aliases) = &self.config.identity.domain_aliases
            && let Err(d) = self.check_pair_file(aliases)
        {
            out.push(d);
        }
        self.validate_profiles(&mut out);
        if let Some(models) = &self.config.models
            && !self.models_dir().is_dir()
        {
            out.push(
                self.diag_at(
                    models,
                    format!("models folder `{}` does not exist", models.value),
                )
                .with_hint("create it, or remove the `models` key to use `models/`"),
            );
        }
        out
    }

    /// Checks where a source reads from: `path` for the file types; `url` with one of
    /// `table` or `query` (and optionally `cursor`, `primary_key`) for `postgres`.
    fn validate_location(&self, source: &SourceConfig, out: &mut Vec<Diagnostic>) {
        let name = &source.name.value;
        let kind = source.kind.value.as_str();
        if source.kind.value.reads_files() {
            let database_only = [
                ("url", source.url.as_ref()),
                ("table", source.table.as_ref()),
                ("query", source.query.as_ref()),
                ("cursor", source.cursor.as_ref()),
            ];
            for (key, value) in database_only {
                if let Some(v) = value {
                    out.push(
                        self.diag_at(v, format!("source `{name}` (type {kind}) has `{key}`, which only `postgres` sources take"))
                            .with_hint("remove it, or set `type: postgres`"),
                    );
                }
            }
            if let Some(pk) = &source.primary_key
                && let Some(c) = pk.list().first()
            {
                out.push(
                    self.diag_at(*c, format!("source `{name}` (type {kind}) has `primary_key`, which only `postgres` sources take"))
                        .with_hint("use `key:` to give the rows of a file a stable key"),
                );
            }
            return;
        }
        if let Some(p) = &source.path {
            out.push(
                self.diag_at(
                    p,
                    format!("source `{name}` (type postgres) reads `url`, not `path`"),
                )
                .with_hint("write `url: ${DATABASE_URL}` and `table: schema.table` (or `query:`)"),
            );
        }
        match &source.url {
            None => out.push(
                self.diag_at(
                    &source.kind,
                    format!("source `{name}` (type postgres) has no `url`"),
                )
                .with_hint(
                    "add `url: ${DATABASE_URL}` (postgres://user:password@host:5432/database)",
                ),
            ),
            Some(url) => {
                if let Err(d) = self.expand_path(url) {
                    out.push(d);
                }
            }
        }
        match (&source.table, &source.query) {
            (None, None) => out.push(
                self.diag_at(
                    &source.kind,
                    format!("source `{name}` (type postgres) has neither `table` nor `query`"),
                )
                .with_hint("add `table: public.users` or `query: \"SELECT ... FROM ...\"`"),
            ),
            (Some(_), Some(q)) => out.push(
                self.diag_at(q, format!("source `{name}` has both `table` and `query`"))
                    .with_hint("keep one: a table reads every column, a query what it selects"),
            ),
            _ => {}
        }
        if source.cursor.is_none()
            && let Some(c) = source
                .primary_key
                .as_ref()
                .and_then(|pk| pk.list().first().copied())
        {
            out.push(
                self.diag_at(
                    c,
                    format!("source `{name}`: `primary_key` without `cursor`"),
                )
                .with_hint(
                    "add `cursor: updated_at` for incremental loads, or use `key:` for a row key",
                ),
            );
        }
    }

    /// Checks the `traits` and `facts` sections: known sources, valid fact names.
    fn validate_profiles(&self, out: &mut Vec<Diagnostic>) {
        let sources: Vec<&str> = self
            .config
            .sources
            .iter()
            .map(|s| s.name.value.as_str())
            .collect();
        let check_source = |name: &Spanned<String>, out: &mut Vec<Diagnostic>| {
            if !sources.contains(&name.value.as_str()) {
                let mut d = self.diag_at(name, format!("unknown source `{}`", name.value));
                d = match closest(&name.value, sources.iter().copied()) {
                    Some(c) => d.with_hint(format!("did you mean `{c}`?")),
                    None => d.with_hint(format!("sources: {}", sources.join(", "))),
                };
                out.push(d);
            }
        };
        for (name, rule) in &self.config.traits {
            let priority = rule
                .rule
                .as_ref()
                .is_some_and(|r| r.value == Survivorship::SourcePriority);
            if let Some(r) = &rule.rule
                && priority
                && rule.sources.is_empty()
            {
                out.push(
                    self.diag_at(
                        r,
                        format!("trait `{name}`: `source_priority` needs `sources`"),
                    )
                    .with_hint(
                        "list the sources, most trusted first: `sources: [app_users, leads]`",
                    ),
                );
            }
            if !priority && let Some(s) = rule.sources.first() {
                out.push(
                    self.diag_at(
                        s,
                        format!(
                            "trait `{name}`: `sources` only applies to `rule: source_priority`"
                        ),
                    )
                    .with_hint("add `rule: source_priority` or remove `sources`"),
                );
            }
            for s in &rule.sources {
                check_source(s, out);
            }
        }
        for (name, fact) in &self.config.facts {
            if !is_sql_name(name) || BUILTIN_FACTS.contains(&name.as_str()) {
                out.push(
                    self.diag_at(&fact.agg, format!("fact name `{name}` is not usable as a column"))
                        .with_hint(format!(
                            "use lower-case letters, digits and `_`, and none of the built-in facts ({})",
                            BUILTIN_FACTS.join(", ")
                        )),
                );
            }
            for s in &fact.sources {
                check_source(s, out);
            }
            if let Some(f) = &fact.format
                && !["number", "currency", "days"].contains(&f.value.as_str())
            {
                out.push(
                    self.diag_at(f, format!("fact `{name}`: unknown format `{}`", f.value))
                        .with_hint("use `number`, `currency` or `days`"),
                );
            }
        }
    }

    /// Checks that a merge or alias file exists and has two columns.
    fn check_pair_file(&self, path: &Spanned<String>) -> Result<(), Diagnostic> {
        let file = self.resolve_path(path)?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| self.diag_at(path, format!("cannot read `{}`: {e}", file.display())))?;
        let header = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or("");
        if !(2..=3).contains(&header.split(',').count()) {
            return Err(Diagnostic::new(
                &file,
                format!("expected a header of two or three columns, found `{header}`"),
            )
            .at(1, 1)
            .with_hint(
                "write a header such as `a,b,comment`, then one pair per line (the comment is optional)",
            ));
        }
        Ok(())
    }
}

fn check_group_ref(
    project: &Project,
    group: &Spanned<String>,
    known: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    if !known.contains(&group.value.as_str()) {
        let mut d = project.diag_at(group, format!("unknown group type `{}`", group.value));
        d = match closest(&group.value, known.iter().copied()) {
            Some(c) => d.with_hint(format!(
                "did you mean `{c}`? Group types are declared under `groups`"
            )),
            None => d.with_hint(format!(
                "declare it under `groups` (declared: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )),
        };
        out.push(d);
    }
}

/// True for names usable unquoted as SQL table names: `[a-z_][a-z0-9_]*`.
pub fn is_sql_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Parses `plexus.yml` text; `file` is used in diagnostics. Connector sources (`mbox`,
/// `ics`, `stripe`, `segment`) get their built-in mappings where they give none.
pub fn parse(text: &str, file: &Path) -> Result<ProjectConfig, ConfigError> {
    let mut config = parse_as_written(text, file)?;
    crate::connectors::apply_builtin_mappings(&mut config);
    crate::connectors::apply_postgres_keys(&mut config);
    Ok(config)
}

/// Parses `plexus.yml` as written, without the connectors' built-in mappings.
fn parse_as_written(text: &str, file: &Path) -> Result<ProjectConfig, ConfigError> {
    serde_saphyr::from_str::<ProjectConfig>(text).map_err(|e| {
        let mut d = Diagnostic::new(file, first_line(&e.to_string()));
        if let Some(loc) = e.location() {
            d = d.at_location(&loc);
        }
        if let Some(hint) = hint_for(&d.message) {
            d = d.with_hint(hint);
        }
        ConfigError::Invalid {
            file: file.to_path_buf(),
            diagnostics: vec![d],
        }
    })
}

/// The message without the snippet serde-saphyr may render below it, and without its own
/// `line N column M:` prefix (the diagnostic carries the position).
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, rest)) if position.contains(" column ") => rest.to_string(),
        _ => line.to_string(),
    }
}

/// A hint for common serde messages: the closest allowed key for an unknown one.
fn hint_for(message: &str) -> Option<String> {
    let unknown = message.split("unknown field `").nth(1)?.split('`').next()?;
    let allowed: Vec<&str> = match message.split("expected one of ").nth(1) {
        Some(list) => list
            .split(", ")
            .map(|s| s.trim().trim_matches('`'))
            .collect(),
        None => message
            .split("expected `")
            .nth(1)
            .and_then(|s| s.split('`').next())
            .into_iter()
            .collect(),
    };
    let allowed = if allowed.is_empty() {
        TOP_LEVEL_KEYS.to_vec()
    } else {
        allowed
    };
    Some(match closest(unknown, allowed.iter().copied()) {
        Some(c) => format!(
            "did you mean `{c}`? Allowed keys here: {}",
            allowed.join(", ")
        ),
        None => format!("allowed keys here: {}", allowed.join(", ")),
    })
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
