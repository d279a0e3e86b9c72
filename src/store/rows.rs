//! What the aggregates' rows share: how lists and JSON are stored, and how a
//! stored name that does not parse is reported.

use super::{StoreError, StoreResult};

/// Lists are stored as comma-separated names: none of the values holds a comma.
pub(super) fn join_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join(",")
}

pub(super) fn split_list<T>(
    column: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<Vec<T>> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| StoreError::Corrupt(format!("{column}: '{s}'"))))
        .collect()
}

pub(super) fn parse_name<T>(
    column: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("{column}: '{value}'")))
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    column: &str,
    value: &str,
) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}
