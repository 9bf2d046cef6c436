//! The cubes every project has (`assets/builtin.yml`), plus a dimension and two measures
//! (`total_<fact>`, `avg_<fact>`) for each fact declared in `plexus.yml`, so that a new
//! project can query its warehouse before writing any definition.

use plexus_config::{ProjectConfig, Spanned};
use serde_saphyr::Location;

use crate::defs::{
    CubeDef, DimensionDef, DimensionKind, Format, MeasureDef, MeasureKind, SemanticFile,
};

/// The built-in definitions, as YAML.
pub const BUILTIN_YAML: &str = include_str!("assets/builtin.yml");

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

/// The built-in cubes for a project with `config`'s declared facts.
pub fn builtin_cubes(config: &ProjectConfig) -> Vec<CubeDef> {
    // The asset is part of the binary and parsed by a unit test: it cannot fail here.
    let mut file: SemanticFile =
        serde_saphyr::from_str(BUILTIN_YAML).expect("the built-in semantic definitions parse");
    for cube in &mut file.cubes {
        if cube.name.value != "person_facts" && cube.name.value != "group_facts" {
            continue;
        }
        for (name, fact) in &config.facts {
            let format = fact.format.as_ref().map(|f| match f.value.as_str() {
                "currency" => Format::Currency,
                "percentage" => Format::Percentage,
                _ => Format::Number,
            });
            cube.dimensions.push(DimensionDef {
                name: spanned(name.clone()),
                sql: None,
                kind: spanned(DimensionKind::Number),
                granularities: None,
                primary_key: false,
                description: fact.description.clone(),
                meta: None,
            });
            for (prefix, kind, what) in [
                ("total", MeasureKind::Sum, "Sum"),
                ("avg", MeasureKind::Avg, "Mean"),
            ] {
                cube.measures.push(MeasureDef {
                    name: spanned(format!("{prefix}_{name}")),
                    kind: spanned(kind),
                    sql: Some(spanned(crate::catalog::quote(name))),
                    filters: Vec::new(),
                    format: format.map(spanned),
                    description: Some(format!(
                        "{what} of `{name}`{}",
                        fact.description
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )),
                    meta: None,
                });
            }
        }
    }
    file.cubes
}
