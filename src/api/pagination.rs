//! AIP-158 pagination: `page_size` and opaque page tokens bound to their filter.
//!
//! A token is the filter's hash and the cursor (where the next page starts), with
//! a MAC (HMAC-SHA256, 128 bits) over both under a key the service holds (see
//! [`install_token_key`]): a token a client made up, or changed, is refused as
//! INVALID_ARGUMENT naming `page_token` before anything reads its cursor. The
//! cursor is then checked again for what SQL could choke on (control
//! characters, its length, dates out of range), so a token that somehow passes
//! the MAC still cannot reach the database with a value either backend refuses.

use std::sync::RwLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::FieldViolation;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// The longest cursor a token may carry (a date and a notice or payment number,
/// a UPN and a breach id, a URN: well under it).
pub const MAX_CURSOR_CHARS: usize = 256;

/// Bytes of the MAC a token carries.
const MAC_BYTES: usize = 16;

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

/// The page-token key, and whether it is the database's (installed) or one
/// drawn at random for want of it (see [`install_token_key`]).
static TOKEN_KEY: RwLock<Option<([u8; 32], bool)>> = RwLock::new(None);

/// The MAC key of page tokens derived from `secret`.
fn derive_key(secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"lea-notices page tokens v1\0");
    h.update(secret);
    h.finalize().into()
}

/// Keys this process's page tokens with `secret`: the database's page-token
/// secret, which every server on one database reads (`serve` retries until the
/// database answers), so a token one replica issued is honoured by another and
/// after a restart. The first database key installed stays for the life of the
/// process; the answer says whether it is the one derived from `secret` (only
/// a process serving several databases, as the test suite does, sees
/// `false`). Until one is installed the process uses a random key, good for its
/// own tokens only, which the database's then replaces.
pub fn install_token_key(secret: &[u8]) -> bool {
    let key = derive_key(secret);
    let mut held = TOKEN_KEY.write().unwrap_or_else(|e| e.into_inner());
    match *held {
        Some((installed, true)) => installed == key,
        _ => {
            *held = Some((key, true));
            true
        }
    }
}

/// Installs the page-token key of the database `app` serves (see
/// [`install_token_key`]); an error when the database has none yet (migration
/// 0017 makes it) or cannot be read.
pub async fn install_token_key_from(app: &crate::app::App) -> anyhow::Result<()> {
    let secret = app
        .service_key(crate::store::keys::PAGE_TOKEN)
        .await
        .map_err(|e| anyhow::anyhow!("reading the page-token key: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("the database has no page-token key: migrate it"))?;
    if !install_token_key(secret.as_bytes()) {
        tracing::warn!("page tokens keep the key installed first in this process");
    }
    Ok(())
}

fn token_key() -> [u8; 32] {
    if let Some((key, _)) = *TOKEN_KEY.read().unwrap_or_else(|e| e.into_inner()) {
        return key;
    }
    let mut held = TOKEN_KEY.write().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(|| {
        let mut seed = [0u8; 32];
        if getrandom::fill(&mut seed).is_err() {
            // No system randomness (never on Linux): the standard library's
            // per-process hash keys, unguessable enough from outside for a key
            // that only guards cursors.
            use std::hash::{BuildHasher, Hasher};
            let mut parts = Vec::new();
            for _ in 0..4 {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u32(std::process::id());
                parts.extend_from_slice(&h.finish().to_le_bytes());
            }
            seed = derive_key(&parts);
        }
        (derive_key(&seed), false)
    })
    .0
}

fn mac(payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&token_key())
        .expect("HMAC takes a key of any length");
    mac.update(payload);
    mac
}

fn filter_hash(filter: &str) -> String {
    hex::encode(&Sha256::digest(filter.as_bytes())[..12])
}

/// A token for the page after `cursor`, valid only with the same `filter`.
pub fn encode_token(filter: &str, cursor: &str) -> String {
    let mut bytes = serde_json::to_vec(&Token {
        f: filter_hash(filter),
        c: cursor.to_string(),
    })
    .expect("a token always serialises");
    let tag = mac(&bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..MAC_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn not_issued(field: &str) -> FieldViolation {
    FieldViolation::new(field, "not a page token this service issued")
}

/// Whether a cursor is something this service could have issued: short, and
/// free of NUL and other control characters (PostgreSQL refuses a NUL in text).
fn plausible_cursor(cursor: &str) -> bool {
    cursor.chars().count() <= MAX_CURSOR_CHARS && !cursor.chars().any(char::is_control)
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
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| not_issued(field))?;
    let Some(split) = bytes.len().checked_sub(MAC_BYTES) else {
        return Err(not_issued(field));
    };
    let (payload, tag) = bytes.split_at(split);
    mac(payload)
        .verify_truncated_left(tag)
        .map_err(|_| not_issued(field))?;
    let parsed: Token = serde_json::from_slice(payload).map_err(|_| not_issued(field))?;
    if parsed.f != filter_hash(filter) {
        return Err(FieldViolation::new(
            field,
            "the page token was issued for a different filter",
        ));
    }
    if !plausible_cursor(&parsed.c) {
        return Err(not_issued(field));
    }
    Ok(Some(parsed.c))
}

/// The cursor of a token read by `parse`, which says what a cursor of its
/// list looks like (`None`: not one this service issued); `None` for no token.
pub fn decode_with<T>(
    field: &str,
    token: &str,
    filter: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, FieldViolation> {
    decode_token(field, token, filter)?
        .map(|c| parse(&c).ok_or_else(|| not_issued(field)))
        .transpose()
}

/// The cursor of a token as an integer key (an event id); 0 for no token.
pub fn decode_id(field: &str, token: &str, filter: &str) -> Result<i64, FieldViolation> {
    Ok(decode_with(field, token, filter, |c| c.parse().ok())?.unwrap_or(0))
}

/// A date as a cursor may hold it: years 1 to 9999, what both backends store
/// and compare (PostgreSQL refuses a date bound from far outside them).
fn cursor_date(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let date: chrono::NaiveDate = s.parse().ok()?;
    (1..=9999).contains(&date.year()).then_some(date)
}

/// The cursor of a token as a date; `None` for no token.
pub fn decode_date(
    field: &str,
    token: &str,
    filter: &str,
) -> Result<Option<chrono::NaiveDate>, FieldViolation> {
    decode_with(field, token, filter, cursor_date)
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
        .and_then(|(d, key)| Some((cursor_date(d)?, key.to_string())))
        .map(Some)
        .ok_or_else(|| not_issued(field))
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
    fn a_changed_or_made_up_token_is_refused() {
        let filter = "parent=authorities/850";
        let t = encode_token(filter, "2025-09-01|850-PAY-000001");
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let forged = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(
                decode_token("page_token", &forged, filter).is_err(),
                "byte {i}"
            );
            bytes[i] ^= 1;
        }
        // The old, unsigned form: hex of the JSON.
        let unsigned = hex::encode(format!(
            r#"{{"f":"{}","c":"-200000-01-01"}}"#,
            filter_hash(filter)
        ));
        let refused = decode_token("page_token", &unsigned, filter).unwrap_err();
        assert_eq!(refused.field, "page_token");
        for junk in ["", "a", "AAAA", "////", &"A".repeat(1000)] {
            if !junk.is_empty() {
                assert!(decode_token("page_token", junk, filter).is_err(), "{junk}");
            }
        }
    }

    #[test]
    fn a_signed_cursor_is_still_checked_before_it_reaches_sql() {
        let f = "f";
        for cursor in ["a\0b", "line\nbreak", &"x".repeat(MAX_CURSOR_CHARS + 1)] {
            let t = encode_token(f, cursor);
            assert!(decode_token("page_token", &t, f).is_err(), "{cursor:?}");
        }
        assert!(
            decode_token(
                "page_token",
                &encode_token(f, &"x".repeat(MAX_CURSOR_CHARS)),
                f
            )
            .is_ok()
        );
        for date in [
            "-200000-01-01",
            "+200000-01-01",
            "0000-12-31",
            "10000-01-01",
            "2025-02-30",
        ] {
            assert!(
                decode_date("page_token", &encode_token(f, date), f).is_err(),
                "{date}"
            );
            let keyed = encode_token(f, &format!("{date}|850-PAY-000001"));
            assert!(decode_date_key("page_token", &keyed, f).is_err(), "{date}");
        }
        assert_eq!(
            decode_date("page_token", &encode_token(f, "9999-12-31"), f).unwrap(),
            chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        );
        assert_eq!(
            decode_id("page_token", &encode_token(f, "42"), f).unwrap(),
            42
        );
        assert_eq!(decode_id("page_token", "", f).unwrap(), 0);
        assert!(decode_id("page_token", &encode_token(f, "4x"), f).is_err());
    }

    #[test]
    fn the_first_key_installed_stays() {
        // Whatever was installed first in this test process, a second key is not.
        let first = install_token_key(b"one");
        assert!(!install_token_key(b"two") || !first);
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
