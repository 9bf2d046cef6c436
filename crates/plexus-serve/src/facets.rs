//! Each entity's events per source, from `timeline_sources`: what a page's source filter
//! offers, with counts, so a person without support tickets gets no "support" chip. Held
//! compactly (a source number and a count per row, no ids): 8 bytes per (entity, source).

use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;

use crate::ServeError;
use crate::tables::{Grouped, Table};

/// Per entity, its sources and how many of its events each gave.
#[derive(Debug, Clone, Default)]
pub struct SourceFacets {
    names: Vec<String>,
    starts: Vec<u32>,
    rows: Vec<(u32, u32)>,
}

impl SourceFacets {
    /// Reads `timeline_sources` of the warehouse in `dir` for `entities` entities;
    /// `entity_of` numbers an entity id (rows of unknown ids are left out).
    pub fn load(
        dir: &Path,
        entities: usize,
        entity_of: impl Fn(&str) -> Option<u32>,
    ) -> Result<SourceFacets, ServeError> {
        let table = Table::read(dir, "timeline_sources")?;
        let ids = table.text("entity_id")?;
        let sources = table.text("source")?;
        let events = table
            .column("events")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| ServeError::Schema {
                table: table.name.clone(),
                message: "column `events` is not an integer".into(),
            })?;
        let grouped = Grouped::new(entities, table.len(), |r| entity_of(ids.str(r)));
        let mut names: Vec<String> = Vec::new();
        let mut starts = Vec::with_capacity(entities + 1);
        let mut rows = Vec::new();
        starts.push(0);
        for e in 0..entities as u32 {
            for &r in grouped.of(e) {
                let r = r as usize;
                let name = sources.str(r);
                let s = match names.iter().position(|n| n == name) {
                    Some(s) => s,
                    None => {
                        names.push(name.to_string());
                        names.len() - 1
                    }
                };
                let n = if events.is_valid(r) {
                    events.value(r)
                } else {
                    0
                };
                rows.push((s as u32, u32::try_from(n).unwrap_or(u32::MAX)));
            }
            starts.push(rows.len() as u32);
        }
        Ok(SourceFacets {
            names,
            starts,
            rows,
        })
    }

    /// Entity `e`'s sources, by name, with its events from each.
    pub fn of(&self, e: u32) -> impl Iterator<Item = (&str, u32)> {
        let e = e as usize;
        let rows = match (self.starts.get(e), self.starts.get(e + 1)) {
            (Some(&a), Some(&b)) => &self.rows[a as usize..b as usize],
            _ => &[],
        };
        rows.iter()
            .map(|&(s, n)| (self.names[s as usize].as_str(), n))
    }
}
