//! One warehouse generation, loaded for serving: the entity tables in memory with indexes
//! by entity, the search index, and the mapped timeline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::ServeError;
use crate::facets::SourceFacets;
use crate::search::SearchIndex;
use crate::tables::{Grouped, Table, Text};
use crate::timeline::TimelineFile;

/// How a declared fact is shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FactMeta {
    /// Column name in `person_facts` / `group_facts`.
    pub name: String,
    /// `number`, `currency`, `days` or `time`.
    pub format: String,
    /// What it means.
    pub description: Option<String>,
}

/// A loaded warehouse. Entities are numbered: persons `0..persons`, then groups.
#[derive(Debug)]
pub struct Snapshot {
    /// The warehouse folder.
    pub dir: PathBuf,
    /// When the warehouse was built (its manifest's modification time).
    pub built_at: SystemTime,
    /// When this server loaded it.
    pub loaded_at: SystemTime,
    /// `persons`.
    pub persons: Table,
    /// `groups`.
    pub groups: Table,
    /// Entity number of each person and group id.
    ids: HashMap<Box<str>, u32>,
    /// `person_identifiers` and `group_identifiers` rows by entity.
    pub person_identifiers: (Table, Grouped),
    /// `group_identifiers` rows by entity.
    pub group_identifiers: (Table, Grouped),
    /// `memberships` rows by person.
    pub memberships: Table,
    /// Membership rows by person entity.
    pub memberships_by_person: Grouped,
    /// Membership rows by group entity.
    pub memberships_by_group: Grouped,
    /// `current_traits` rows by entity.
    pub traits: (Table, Grouped),
    /// `person_facts` rows by entity.
    pub person_facts: (Table, Grouped),
    /// `group_facts` rows by entity.
    pub group_facts: (Table, Grouped),
    /// `power_users` rows by group entity.
    pub power_users: (Table, Grouped),
    /// Each entity's sources with its events from each (`timeline_sources`).
    pub sources: SourceFacets,
    /// The semantic layer over this warehouse, or why it does not load.
    pub semantic: crate::semantic::SemanticState,
    /// `id_redirects`: old person id -> current id.
    pub redirects: HashMap<String, String>,
    /// `build_manifest`.
    pub manifest: Table,
    /// Declared facts, in file order, then the built-in ones.
    pub facts: Vec<FactMeta>,
    /// Names, emails, phones, domains and company names.
    pub search: SearchIndex,
    /// The timeline, by entity.
    pub timeline: TimelineFile,
    /// Person names by entity (for participants of timeline events).
    person_names: Text,
    /// Group names by group row.
    group_names: Text,
}

/// The marker file whose presence means "a warehouse is here".
pub const MANIFEST: &str = "build_manifest.parquet";

impl Snapshot {
    /// Loads the warehouse in `dir`. `facts` are the project's declared facts and
    /// `phone_prefix` its default region's calling code (for searching national numbers).
    pub fn load(
        dir: &Path,
        facts: Vec<FactMeta>,
        phone_prefix: Option<String>,
    ) -> Result<Snapshot, ServeError> {
        let manifest_path = dir.join(MANIFEST);
        let built_at = std::fs::metadata(&manifest_path)
            .and_then(|m| m.modified())
            .map_err(|_| ServeError::NoWarehouse {
                dir: dir.to_path_buf(),
            })?;
        let persons = Table::read(dir, "persons")?;
        let groups = Table::read(dir, "groups")?;
        let p = persons.len();
        let n = p + groups.len();
        let mut ids: HashMap<Box<str>, u32> = HashMap::with_capacity(n);
        let person_ids = persons.text("person_id")?;
        for i in 0..p {
            ids.insert(person_ids.str(i).into(), i as u32);
        }
        let group_ids = groups.text("group_id")?;
        for i in 0..groups.len() {
            ids.insert(group_ids.str(i).into(), (p + i) as u32);
        }
        let by = |table: Table, column: &str| -> Result<(Table, Grouped), ServeError> {
            let keys = table.text(column)?;
            let grouped = Grouped::new(n, table.len(), |r| ids.get(keys.str(r)).copied());
            Ok((table, grouped))
        };
        let person_identifiers = by(Table::read(dir, "person_identifiers")?, "person_id")?;
        let group_identifiers = by(Table::read(dir, "group_identifiers")?, "group_id")?;
        let memberships = Table::read(dir, "memberships")?;
        let (m_person, m_group) = (
            memberships.text("person_id")?,
            memberships.text("group_id")?,
        );
        let memberships_by_person =
            Grouped::new(n, memberships.len(), |r| ids.get(m_person.str(r)).copied());
        let memberships_by_group =
            Grouped::new(n, memberships.len(), |r| ids.get(m_group.str(r)).copied());
        let traits = by(Table::read(dir, "current_traits")?, "entity_id")?;
        let person_facts = by(Table::read(dir, "person_facts")?, "person_id")?;
        let group_facts = by(Table::read(dir, "group_facts")?, "group_id")?;
        let power_users = by(Table::read(dir, "power_users")?, "group_id")?;
        let sources = SourceFacets::load(dir, n, |id| ids.get(id).copied())?;
        let redirect_table = Table::read(dir, "id_redirects")?;
        let (old, new) = (
            redirect_table.text("old_id")?,
            redirect_table.text("new_id")?,
        );
        let redirects = (0..redirect_table.len())
            .map(|i| (old.str(i).to_string(), new.str(i).to_string()))
            .collect();
        let manifest = Table::read(dir, "build_manifest")?;
        let search = SearchIndex::build(
            &persons,
            &groups,
            &person_identifiers,
            &group_identifiers,
            phone_prefix.as_deref(),
        )?;
        let timeline =
            TimelineFile::open(&dir.join("timeline.parquet"), n, |id| ids.get(id).copied())?;
        let person_names = persons.text("name")?;
        let group_names = groups.text("name")?;
        Ok(Snapshot {
            dir: dir.to_path_buf(),
            built_at,
            loaded_at: SystemTime::now(),
            persons,
            groups,
            ids,
            person_identifiers,
            group_identifiers,
            memberships,
            memberships_by_person,
            memberships_by_group,
            traits,
            person_facts,
            group_facts,
            power_users,
            sources,
            semantic: Err("not loaded".into()),
            redirects,
            manifest,
            facts,
            search,
            timeline,
            person_names,
            group_names,
        })
    }

    /// The entity number of a person or group id.
    pub fn entity(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }

    /// Number of persons (entities below it are persons).
    pub fn person_count(&self) -> u32 {
        self.persons.len() as u32
    }

    /// The person or group row of entity `e` and whether it is a person.
    pub fn row(&self, e: u32) -> (bool, usize) {
        let p = self.person_count();
        if e < p {
            (true, e as usize)
        } else {
            (false, (e - p) as usize)
        }
    }

    /// The name of person or group `id`, if known.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        let e = self.entity(id)?;
        match self.row(e) {
            (true, r) => self.person_names.get(r),
            (false, r) => self.group_names.get(r),
        }
    }

    /// The person name of person row `r`.
    pub fn person_name(&self, r: usize) -> Option<&str> {
        self.person_names.get(r)
    }
}
