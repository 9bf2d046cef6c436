//! `plexus eval`: resolution accuracy against a ground truth.
//!
//! The truth is a CSV file `source,record_key,person[,role]`: the true person behind each
//! record. Each record's predicted person is the warehouse person of its participant (the
//! one with `role` when given, else the only or first one). Metrics are pairwise over
//! records: a pair of records is a true pair when both belong to one true person and a
//! predicted pair when both resolved to one person.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{SessionContext, col};
use serde::Serialize;

use crate::InspectError;

type Map<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// One predicted cluster, for the report of the worst ones.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClusterSummary {
    /// The person id.
    pub person_id: String,
    /// Records in it.
    pub records: u64,
    /// Distinct true persons among them.
    pub true_persons: u64,
}

/// Accuracy of a warehouse against a ground truth.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    /// Records in the truth file.
    pub truth_records: u64,
    /// Truth records found in the warehouse (with a participant).
    pub matched_records: u64,
    /// Truth records the warehouse does not have (each counts as its own cluster).
    pub missing_records: u64,
    /// Distinct true persons.
    pub true_persons: u64,
    /// Distinct predicted persons over the truth records.
    pub predicted_persons: u64,
    /// Pairwise precision.
    pub precision: f64,
    /// Pairwise recall.
    pub recall: f64,
    /// Pairwise F1.
    pub f1: f64,
    /// True persons whose records are spread over two or more predicted persons.
    pub split_persons: u64,
    /// Predicted persons holding records of two or more true persons.
    pub impure_clusters: u64,
    /// The predicted person with the most records.
    pub largest_cluster: Option<ClusterSummary>,
    /// The impure clusters with the most true persons (at most 10).
    pub worst_impure: Vec<ClusterSummary>,
}

fn pairs(n: u64) -> f64 {
    (n as f64) * (n.saturating_sub(1) as f64) / 2.0
}

/// Compares the warehouse in `ctx` with the truth file at `truth`.
pub async fn evaluate(ctx: &SessionContext, truth: &Path) -> Result<EvalReport, InspectError> {
    let shown = truth.display().to_string();
    let bad = |message: String| InspectError::Truth {
        path: shown.clone(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(truth)
        .map_err(|e| bad(e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    let index = |name: &str| headers.iter().position(|h| h == name);
    let (Some(si), Some(ki), Some(pi)) = (index("source"), index("record_key"), index("person"))
    else {
        return Err(bad(format!(
            "expected the columns source,record_key,person[,role]; found `{}`",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    let ri = index("role");

    // Predicted persons per (source, key, role), from events and participants.
    let df = ctx
        .table("participants")
        .await?
        .join_on(
            ctx.table("events").await?.select(vec![
                col("event_id").alias("e_id"),
                col("source"),
                col("source_key"),
            ])?,
            datafusion::logical_expr::JoinType::Inner,
            [col("event_id").eq(col("e_id"))],
        )?
        .select(vec![
            col("source"),
            col("source_key"),
            col("role"),
            col("entity_id"),
        ])?;
    let mut predicted: Map<(String, String), Vec<(String, String)>> = Map::default();
    for batch in df.collect().await? {
        // Parquet text may come back as string views: read every column as plain text.
        let [s, k, r, e] = [0, 1, 2, 3].map(|i| {
            cast(batch.column(i), &DataType::Utf8)
                .ok()
                .and_then(|c| c.as_string_opt::<i32>().cloned())
        });
        let (Some(s), Some(k), Some(r), Some(e)) = (s, k, r, e) else {
            continue;
        };
        for i in 0..batch.num_rows() {
            if e.is_null(i) {
                continue;
            }
            predicted
                .entry((s.value(i).to_string(), k.value(i).to_string()))
                .or_default()
                .push((r.value(i).to_string(), e.value(i).to_string()));
        }
    }

    let mut persons: Map<String, u32> = Map::default();
    let mut clusters: Map<String, u32> = Map::default();
    let mut cells: Map<(u32, u32), u64> = Map::default();
    let (mut total, mut matched, mut missing) = (0u64, 0u64, 0u64);
    for (line, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("line {}: {e}", line + 2)))?;
        total += 1;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let next = persons.len() as u32;
        let person = *persons.entry(get(pi).to_string()).or_insert(next);
        let found = predicted.get(&(get(si).to_string(), get(ki).to_string()));
        let pick = found.and_then(|list| match ri.map(get).filter(|r| !r.is_empty()) {
            Some(role) => list.iter().find(|(r, _)| r == role),
            None => list.first(),
        });
        let cluster_name = match pick {
            Some((_, e)) => {
                matched += 1;
                e.clone()
            }
            None => {
                missing += 1;
                format!("missing:{}:{}", get(si), get(ki))
            }
        };
        let next = clusters.len() as u32;
        let cluster = *clusters.entry(cluster_name).or_insert(next);
        *cells.entry((person, cluster)).or_default() += 1;
    }

    let mut per_person = vec![0u64; persons.len()];
    let mut per_cluster = vec![0u64; clusters.len()];
    let mut spread = vec![0u64; persons.len()];
    let mut purity = vec![0u64; clusters.len()];
    let mut tp = 0.0;
    for (&(p, c), &n) in &cells {
        per_person[p as usize] += n;
        per_cluster[c as usize] += n;
        spread[p as usize] += 1;
        purity[c as usize] += 1;
        tp += pairs(n);
    }
    let true_pairs: f64 = per_person.iter().map(|&n| pairs(n)).sum();
    let predicted_pairs: f64 = per_cluster.iter().map(|&n| pairs(n)).sum();
    let ratio = |a: f64, b: f64| if b == 0.0 { 1.0 } else { a / b };
    let (precision, recall) = (ratio(tp, predicted_pairs), ratio(tp, true_pairs));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let mut names: Vec<(&String, &u32)> = clusters.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let summary = |(name, &c): (&String, &u32)| ClusterSummary {
        person_id: name.clone(),
        records: per_cluster[c as usize],
        true_persons: purity[c as usize],
    };
    let largest_cluster = names
        .iter()
        .copied()
        .max_by(|a, b| {
            per_cluster[*a.1 as usize]
                .cmp(&per_cluster[*b.1 as usize])
                .then_with(|| b.0.cmp(a.0))
        })
        .map(summary);
    let mut worst: Vec<ClusterSummary> = names
        .iter()
        .copied()
        .filter(|(_, c)| purity[**c as usize] > 1)
        .map(summary)
        .collect();
    worst.sort_by(|a, b| {
        b.true_persons
            .cmp(&a.true_persons)
            .then(b.records.cmp(&a.records))
            .then_with(|| a.person_id.cmp(&b.person_id))
    });
    let impure_clusters = worst.len() as u64;
    worst.truncate(10);
    Ok(EvalReport {
        truth_records: total,
        matched_records: matched,
        missing_records: missing,
        true_persons: persons.len() as u64,
        predicted_persons: clusters.len() as u64,
        precision,
        recall,
        f1,
        split_persons: spread.iter().filter(|&&s| s > 1).count() as u64,
        impure_clusters,
        largest_cluster,
        worst_impure: worst,
    })
}
