//! Helpers shared by the build's integration tests.

use datafusion::arrow::util::display::array_value_to_string;

/// The rows of `query` over `project`'s warehouse, every value as text.
pub fn rows(project: &plexus_config::Project, query: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let ctx = plexus_build::open_warehouse(project)
            .await
            .expect("warehouse");
        let batches = ctx
            .sql(query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .collect()
            .await
            .expect("rows");
        let mut out = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                out.push(
                    (0..b.num_columns())
                        .map(|c| array_value_to_string(b.column(c), r).expect("text"))
                        .collect(),
                );
            }
        }
        out
    })
}
