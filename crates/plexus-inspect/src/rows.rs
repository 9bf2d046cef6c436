//! Small helpers to run a filtered query and read its rows as text.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{DataFrame, Expr, SessionContext, col, lit};

use crate::InspectError;

/// Rows of `table` where every `(column, value)` matches, as text cells (`None` for null),
/// ordered by `order` columns. Values are literals in the plan, never pasted into SQL.
pub(crate) async fn select(
    ctx: &SessionContext,
    table: &str,
    filters: &[(&str, &str)],
    order: &[&str],
) -> Result<Vec<Vec<Option<String>>>, InspectError> {
    let mut df = ctx.table(table).await?;
    for (c, v) in filters {
        df = df.filter(col(*c).eq(lit(*v)))?;
    }
    collect(df, order).await
}

/// Rows of `table` matching `predicate`, as text cells.
pub(crate) async fn select_where(
    ctx: &SessionContext,
    table: &str,
    predicate: Expr,
    order: &[&str],
) -> Result<Vec<Vec<Option<String>>>, InspectError> {
    let df = ctx.table(table).await?.filter(predicate)?;
    collect(df, order).await
}

async fn collect(df: DataFrame, order: &[&str]) -> Result<Vec<Vec<Option<String>>>, InspectError> {
    let df = if order.is_empty() {
        df
    } else {
        df.sort(order.iter().map(|c| col(*c).sort(true, true)).collect())?
    };
    let batches = df.collect().await?;
    Ok(batches.iter().flat_map(text_rows).collect())
}

/// Every row of `batch` as text cells; timestamps as `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn text_rows(batch: &RecordBatch) -> Vec<Vec<Option<String>>> {
    let columns: Vec<_> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8 => c.clone(),
            // Timestamps, string views, numbers and booleans as text.
            _ => cast(c, &DataType::Utf8).unwrap_or_else(|_| c.clone()),
        })
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    let s = c.as_string_opt::<i32>()?;
                    s.is_valid(r).then(|| {
                        let v = s.value(r);
                        // `2024-05-01T10:00:00Z` -> `2024-05-01 10:00:00`
                        if v.len() >= 19 && v.as_bytes().get(10) == Some(&b'T') {
                            format!("{} {}", &v[..10], &v[11..19])
                        } else {
                            v.to_string()
                        }
                    })
                })
                .collect()
        })
        .collect()
}
