//! AIP-158 pagination: `page_size` and opaque page tokens bound to their filter.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::FieldViolation;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// The page size to use: the default for 0, at most the maximum.
pub fn page_size(field: &str, requested: i32) -> Result<i64, FieldViolation> {
    match requested {
        n if n < 0 => Err(FieldViolation::new(field, "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// A list request, validated: what to list, how many, after which cursor, and
/// the filter its page tokens are bound to.
#[derive(Debug, Clone)]
pub struct PageRequest<Q, C> {
    pub query: Q,
    pub size: i64,
    pub after: Option<C>,
    pub filter: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// Hash of the filter the token was issued for.
    f: String,
    /// Where the next page starts (the last key of the previous page).
    c: String,
}

fn filter_hash(filter: &str) -> String {
    hex::encode(&Sha256::digest(filter.as_bytes())[..12])
}

/// A token for the page after `cursor`, valid only with the same `filter`.
pub fn encode_token(filter: &str, cursor: &str) -> String {
    let json = serde_json::to_vec(&Token {
        f: filter_hash(filter),
        c: cursor.to_string(),
    })
    .expect("a token always serialises");
    hex::encode(json)
}

/// The cursor of a token issued for `filter`; `None` for an empty token.
pub fn decode_token(
    field: &str,
    token: &str,
    filter: &str,
) -> Result<Option<String>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    let parsed: Token = hex::decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| FieldViolation::new(field, "not a page token this service issued"))?;
    if parsed.f != filter_hash(filter) {
        return Err(FieldViolation::new(
            field,
            "the page token was issued for a different filter",
        ));
    }
    Ok(Some(parsed.c))
}

/// A `(date, key)` position, for lists ordered by a date then a unique key.
pub fn date_key_cursor(date: chrono::NaiveDate, key: &str) -> String {
    format!("{date}|{key}")
}

/// Reads back a token's `(date, key)` cursor; `None` for no token.
pub fn decode_date_key(
    field: &str,
    token: &str,
    filter: &str,
) -> Result<Option<(chrono::NaiveDate, String)>, FieldViolation> {
    let Some(cursor) = decode_token(field, token, filter)? else {
        return Ok(None);
    };
    cursor
        .split_once('|')
        .and_then(|(d, key)| Some((d.parse().ok()?, key.to_string())))
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, "not a page token this service issued"))
}

/// How many bytes of items a page may carry: well under the 4 MiB a gRPC
/// message may be by default, so a page of the largest items still arrives.
pub const PAGE_BYTES: usize = 3 * 1024 * 1024;

/// The page to return from `fetched` (fetched with one more than `size`), and the
/// token for the page after it: empty on the last page, else bound to `filter` and
/// starting after `cursor` of the page's last item.
pub fn page<T>(
    fetched: Vec<T>,
    size: i64,
    filter: &str,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, String) {
    page_within(fetched, size, filter, cursor, |_| 0)
}

/// As [`page`], ending the page early where its items' `bytes` would pass
/// [`PAGE_BYTES`] (a page holds at least one item).
pub fn page_within<T>(
    mut fetched: Vec<T>,
    size: i64,
    filter: &str,
    cursor: impl Fn(&T) -> String,
    bytes: impl Fn(&T) -> usize,
) -> (Vec<T>, String) {
    let mut kept = 0;
    let mut total = 0usize;
    for item in fetched.iter().take(usize::try_from(size).unwrap_or(0)) {
        total = total.saturating_add(bytes(item));
        if kept > 0 && total > PAGE_BYTES {
            break;
        }
        kept += 1;
    }
    let more = fetched.len() > kept;
    fetched.truncate(kept);
    let token = match fetched.last() {
        Some(last) if more => encode_token(filter, &cursor(last)),
        _ => String::new(),
    };
    (fetched, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_for_their_filter() {
        let t = encode_token("parent=authorities/850", "2025-09-01");
        assert_eq!(
            decode_token("page_token", &t, "parent=authorities/850").unwrap(),
            Some("2025-09-01".into())
        );
        assert!(decode_token("page_token", &t, "parent=authorities/852").is_err());
        assert!(decode_token("page_token", "zz", "x").is_err());
        assert_eq!(decode_token("page_token", "", "x").unwrap(), None);
    }

    #[test]
    fn a_page_ends_before_its_bytes_pass_the_budget() {
        let items = vec![PAGE_BYTES / 2; 5];
        let (page, token) = page_within(items.clone(), 4, "f", |i| i.to_string(), |b| *b);
        assert_eq!(page.len(), 2);
        assert!(!token.is_empty());
        let (page, _) = page_within(vec![PAGE_BYTES * 2], 4, "f", |i| i.to_string(), |b| *b);
        assert_eq!(
            page.len(),
            1,
            "one item even if it alone is over the budget"
        );
        let (page, token) = page_within(vec![1, 2], 4, "f", |i| i.to_string(), |b| *b);
        assert_eq!((page.len(), token.as_str()), (2, ""));
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size("page_size", 0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size("page_size", 10_000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size("page_size", -1).is_err());
    }
}
