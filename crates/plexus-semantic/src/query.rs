//! A semantic query, in Plexus's JSON shape (`time_dimensions`, `order_by`) or Cube's
//! (`timeDimensions`, `dateRange`, `order`): both parse into the same [`Query`].

use serde::Deserialize;
use serde_json::Value;

/// A query: what to measure, how to cut it, which rows count.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Metrics by name (`churn_rate`).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Measures as `cube.measure` (`metrics.<name>` names a metric, as Cube clients see
    /// them).
    #[serde(default)]
    pub measures: Vec<String>,
    /// Dimensions as `cube.dimension`.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Time dimensions, each with an optional granularity and date range.
    #[serde(default, alias = "timeDimensions")]
    pub time_dimensions: Vec<TimeDimension>,
    /// Conditions, all of which hold.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Result order: `[["member", "asc"]]`, `{"member": "desc"}` or
    /// `[{"id": "member", "desc": true}]`.
    #[serde(default, alias = "order")]
    pub order_by: Option<Order>,
    /// At most this many rows.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Skip this many rows first.
    #[serde(default)]
    pub offset: Option<u64>,
    /// Accepted for Cube clients; results are always in UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Accepted for Cube clients; must be empty (segments are not supported).
    #[serde(default)]
    pub segments: Vec<String>,
    /// Cube's `ungrouped`: not supported, must be false.
    #[serde(default)]
    pub ungrouped: Option<bool>,
    /// Cube's `total`: accepted, ignored.
    #[serde(default)]
    pub total: Option<bool>,
    /// Cube's `renewQuery`: accepted, ignored (there is no cache to bypass).
    #[serde(default, rename = "renewQuery")]
    pub renew_query: Option<bool>,
    /// Cube's `responseFormat`: accepted when `default`.
    #[serde(default, rename = "responseFormat")]
    pub response_format: Option<String>,
}

/// A time dimension of a query.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeDimension {
    /// The dimension, `cube.dimension`, of type time.
    pub dimension: String,
    /// Cut by this granularity; none: only the date range filters.
    #[serde(default)]
    pub granularity: Option<String>,
    /// `["2024-01-01", "2024-03-31"]` (both days included) or words: `today`,
    /// `yesterday`, `this week|month|quarter|year`, `last week|month|quarter|year`,
    /// `last N days|weeks|months|quarters|years`, `from X to Y`.
    #[serde(default, alias = "dateRange")]
    pub date_range: Option<DateRange>,
    /// Cube's `compareDateRange`: not supported.
    #[serde(default, rename = "compareDateRange")]
    pub compare_date_range: Option<Value>,
}

/// A date range: two dates or words.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DateRange {
    /// `[from, to]`.
    Pair(Vec<String>),
    /// `last 7 days`, `this month`, ...
    Words(String),
}

/// A filter: a condition on a member, or `and`/`or` of filters.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Filter {
    /// Every one holds.
    And {
        /// The filters.
        and: Vec<Filter>,
    },
    /// At least one holds.
    Or {
        /// The filters.
        or: Vec<Filter>,
    },
    /// A condition on one member.
    Member(MemberFilter),
}

/// A condition on one member.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemberFilter {
    /// The member: a dimension, a measure or a metric.
    #[serde(default)]
    pub member: Option<String>,
    /// Cube's older name for `member`.
    #[serde(default)]
    pub dimension: Option<String>,
    /// `equals`, `notEquals`, `in`, `notIn`, `contains`, `notContains`, `startsWith`,
    /// `notStartsWith`, `endsWith`, `notEndsWith`, `gt`, `gte`, `lt`, `lte`, `set`,
    /// `notSet`, `inDateRange`, `notInDateRange`, `beforeDate`, `beforeOrOnDate`,
    /// `afterDate`, `afterOrOnDate`.
    pub operator: String,
    /// The values (strings, numbers or booleans).
    #[serde(default)]
    pub values: Option<Vec<Value>>,
    /// One value.
    #[serde(default)]
    pub value: Option<Value>,
}

impl MemberFilter {
    /// The member named, from `member` or `dimension`.
    pub fn member_name(&self) -> Option<&str> {
        self.member.as_deref().or(self.dimension.as_deref())
    }

    /// The values given, from `values` or `value`.
    pub fn all_values(&self) -> Vec<Value> {
        match (&self.values, &self.value) {
            (Some(v), _) => v.clone(),
            (None, Some(v)) => vec![v.clone()],
            (None, None) => Vec::new(),
        }
    }
}

/// The order of results, in any of the shapes Cube clients send.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Order {
    /// `[["member", "asc"], ...]`.
    Pairs(Vec<(String, String)>),
    /// `[{"id": "member", "desc": true}, ...]`.
    Objects(Vec<OrderObject>),
    /// `{"member": "asc", ...}` (in the order written).
    Map(indexmap::IndexMap<String, String>),
}

/// One term of `[{"id": ..., "desc": ...}]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct OrderObject {
    /// The member.
    pub id: String,
    /// Descending.
    #[serde(default)]
    pub desc: bool,
}

impl Order {
    /// `(member, descending)` terms in order; `Err` names a direction that is neither
    /// `asc` nor `desc`.
    pub fn terms(&self) -> Result<Vec<(String, bool)>, String> {
        let dir = |m: &str, d: &str| match d.to_ascii_lowercase().as_str() {
            "asc" => Ok(false),
            "desc" => Ok(true),
            _ => Err(format!("order of `{m}` is `{d}`: write `asc` or `desc`")),
        };
        match self {
            Order::Pairs(p) => p.iter().map(|(m, d)| Ok((m.clone(), dir(m, d)?))).collect(),
            Order::Objects(o) => Ok(o.iter().map(|t| (t.id.clone(), t.desc)).collect()),
            Order::Map(m) => m.iter().map(|(k, d)| Ok((k.clone(), dir(k, d)?))).collect(),
        }
    }
}

impl Query {
    /// Parses a query from JSON text, with a message naming the field at fault.
    pub fn from_json(text: &str) -> Result<Query, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error_lite(de)
    }
}

/// Deserializes, turning serde's message into one that says where (line and column) and
/// what was expected.
fn serde_path_to_error_lite(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'_>>,
) -> Result<Query, String> {
    Query::deserialize(de).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("did not match any variant of untagged enum Filter") {
            format!(
                "a filter is not `{{\"member\", \"operator\", \"values\"}}`, `{{\"and\": [...]}}` or `{{\"or\": [...]}}` ({msg})"
            )
        } else if msg.contains("untagged enum Order") {
            format!(
                "`order` must be `[[\"member\", \"asc\"]]` or `{{\"member\": \"desc\"}}` ({msg})"
            )
        } else {
            msg
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plexus_and_cube_shapes_parse_alike() {
        let ours = Query::from_json(
            r#"{"measures":["events.count"],"time_dimensions":[{"dimension":"events.timestamp","granularity":"month","date_range":["2024-01-01","2024-03-31"]}],
                "filters":[{"member":"events.source","operator":"equals","values":["billing"]}],"order_by":[["events.count","desc"]],"limit":5}"#,
        )
        .expect("ours");
        let cube = Query::from_json(
            r#"{"measures":["events.count"],"timeDimensions":[{"dimension":"events.timestamp","granularity":"month","dateRange":["2024-01-01","2024-03-31"]}],
                "filters":[{"dimension":"events.source","operator":"equals","values":["billing"]}],"order":{"events.count":"desc"},"limit":5}"#,
        )
        .expect("cube");
        assert_eq!(ours.time_dimensions, cube.time_dimensions);
        assert_eq!(
            ours.order_by.as_ref().map(|o| o.terms()),
            cube.order_by.as_ref().map(|o| o.terms())
        );
        let Filter::Member(a) = &ours.filters[0] else {
            panic!("a member filter")
        };
        let Filter::Member(b) = &cube.filters[0] else {
            panic!("a member filter")
        };
        assert_eq!(a.member_name(), b.member_name());
        let nested = Query::from_json(
            r#"{"measures":["events.count"],"filters":[{"or":[{"member":"events.source","operator":"set"},{"and":[{"member":"events.name","operator":"equals","value":"x"}]}]}]}"#,
        )
        .expect("nested");
        assert!(matches!(nested.filters[0], Filter::Or { .. }));
        assert!(
            Query::from_json(r#"{"measure":["x"]}"#)
                .unwrap_err()
                .contains("measure")
        );
    }
}
