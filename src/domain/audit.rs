//! The audit log's hash chain: each event of an authority carries a SHA-256 hash
//! of its own fields and of the previous event's hash, so an event edited,
//! removed, inserted or reordered after the fact breaks every link from there on.
//!
//! The hash is unkeyed: it shows that the log changed, not who changed it, and
//! someone able to rewrite the table could rewrite the whole chain after the
//! point they changed, or cut its end off and move the head back. A
//! [`Checkpoint`] kept outside the database (signed by the service, published
//! to its log and a directory, handed to an auditor) is what then shows it: the
//! walk checks that the chain still holds the checkpoint's event with its hash.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// The previous hash of an authority's first chained event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Versions the canonical encoding, so another one can follow without ambiguity.
/// v1 (events appended before migration 0025) covers the details text itself.
const ENCODING: &[u8] = b"lea-notices audit event v1";

/// v2 covers the details' digest ([`details_digest`]) instead of the details,
/// so the details can be erased (their salt with them) and the chain still
/// verifies.
const ENCODING_V2: &[u8] = b"lea-notices audit event v2";

/// The details of an event whose personal data was erased (by the purge, see
/// `app::retention`): the digest its hash covers is kept, the salt is gone.
pub const ERASED_DETAILS: &str = r#"{"erased":true}"#;

/// The length of the random salt of a v2 event's details.
pub const DETAILS_SALT_LEN: usize = 32;

/// What a v2 event's hash covers in place of its details: lowercase hex
/// SHA-256 of the salt followed by the details text. Without the salt the
/// digest reveals nothing guessable about details from a small set (a UPN, a
/// name): once the salt is destroyed, the digest is no longer personal data.
pub fn details_digest(salt: &[u8], details: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(details.as_bytes());
    hex::encode(h.finalize())
}

/// An instant as the chain covers it: to the microsecond, the precision both
/// backends store, so the hash computed when appending is the one recomputed
/// from the row.
pub fn chained_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// What an event's hash covers, as stored: `details` is the stored JSON text,
/// covered itself by a v1 event ([`Covered::Details`]) and by its digest in a v2
/// one ([`Covered::Digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFields<'a> {
    pub authority: &'a str,
    pub event_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_subject: &'a str,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub request_id: &'a str,
    pub details: Covered<'a>,
}

/// What of the details an event's hash covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covered<'a> {
    /// v1: the details text.
    Details(&'a str),
    /// v2: the details' digest (see [`details_digest`]).
    Digest(&'a str),
}

/// The event's hash (lowercase hex SHA-256) linked to `prev_hash`: the encoding
/// version, then each field in a fixed order, strings length-prefixed (8 bytes,
/// big-endian) and integers as 8 big-endian bytes, so no two different events
/// encode alike. The version is v1 for details, v2 for a digest; the digest
/// takes the details' place, encoded alike.
pub fn event_hash(prev_hash: &str, e: &EventFields<'_>) -> String {
    fn text(h: &mut Sha256, s: &[u8]) {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s);
    }
    let (encoding, details) = match e.details {
        Covered::Details(d) => (ENCODING, d),
        Covered::Digest(d) => (ENCODING_V2, d),
    };
    let mut h = Sha256::new();
    text(&mut h, encoding);
    text(&mut h, prev_hash.as_bytes());
    text(&mut h, e.authority.as_bytes());
    h.update(e.event_id.to_be_bytes());
    h.update(e.occurred_at.timestamp_micros().to_be_bytes());
    for s in [
        e.actor_subject,
        e.actor_role,
        e.action,
        e.resource,
        e.request_id,
        details,
    ] {
        text(&mut h, s.as_bytes());
    }
    hex::encode(h.finalize())
}

/// An event as read back for verification; `prev_hash` and `hash` are `None`
/// on events recorded before the chain existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    pub event_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub action: String,
    pub resource: String,
    pub request_id: String,
    pub details: String,
    /// A v2 event's details digest (`None` on v1 events).
    pub details_digest: Option<String>,
    /// A v2 event's details salt, hex (`None` on v1 events and once erased).
    pub details_salt: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl ChainedEvent {
    pub fn fields<'a>(&'a self, authority: &'a str) -> EventFields<'a> {
        EventFields {
            authority,
            event_id: self.event_id,
            occurred_at: self.occurred_at,
            actor_subject: &self.actor_subject,
            actor_role: &self.actor_role,
            action: &self.action,
            resource: &self.resource,
            request_id: &self.request_id,
            details: match &self.details_digest {
                None => Covered::Details(&self.details),
                Some(digest) => Covered::Digest(digest),
            },
        }
    }
}

/// Where an authority's chain ends, as recorded when its last event was appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub last_event_id: i64,
    pub last_hash: String,
}

/// How a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The event's hash does not match its fields, or its details do not
    /// match their digest: it was edited.
    EventAltered,
    /// The event does not follow its predecessor (wrong previous hash, or a gap
    /// in the ids): events before it were removed, inserted or reordered.
    LinkBroken,
    /// An event without a hash where the chain had begun: it was inserted.
    UnchainedEvent,
    /// The chain head disagrees with the last event: events at the end were
    /// removed, or the head was changed.
    HeadMismatch,
    /// The event a checkpoint recorded has another hash now: the chain was
    /// rewritten at or before it since the checkpoint was taken.
    CheckpointRewritten,
    /// The log ends before the event a checkpoint recorded: events up to it
    /// were removed since the checkpoint was taken.
    CheckpointTruncated,
}

/// Where an authority's chain ended at an instant, as the service signs it
/// (see `app::checkpoints`) and an auditor keeps it outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The authority's LA code.
    pub authority: String,
    /// The last event then (0: none yet).
    pub event_id: i64,
    /// The chain's hash after that event ([`GENESIS_HASH`] when none is chained).
    pub event_hash: String,
    /// When it was taken, to the microsecond.
    pub taken_at: DateTime<Utc>,
}

/// Versions the encoding a checkpoint's signature covers.
const CHECKPOINT_ENCODING: &[u8] = b"lea-notices audit checkpoint v1";

impl Checkpoint {
    /// The bytes its signature covers: the encoding version, the authority, the
    /// event id, the hash and the instant (microseconds since 1970), strings
    /// length-prefixed as in [`event_hash`], so no two checkpoints encode alike.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        for s in [CHECKPOINT_ENCODING, self.authority.as_bytes()] {
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&self.event_id.to_be_bytes());
        out.extend_from_slice(&(self.event_hash.len() as u64).to_be_bytes());
        out.extend_from_slice(self.event_hash.as_bytes());
        out.extend_from_slice(&self.taken_at.timestamp_micros().to_be_bytes());
        out
    }
}

/// Whether `hash` is one the chain could hold: 64 lowercase hex digits.
pub fn is_chain_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The first broken link of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub event_id: i64,
    pub kind: BreakKind,
    pub description: String,
}

/// What a walk of a whole chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Events read, those before the chain included (up to a break, if any).
    pub events_checked: i64,
    /// Events recorded before the chain existed, which it does not cover.
    pub unchained_events: i64,
    /// v2 events whose details were erased (the purge): their hash still
    /// verifies over the kept digest.
    pub erased_events: i64,
    /// The last event's id (0 for an empty log).
    pub last_event_id: i64,
    /// The last chained event's hash ([`GENESIS_HASH`] when none is chained).
    pub last_hash: String,
    pub first_break: Option<ChainBreak>,
    /// A checkpoint was given and the chain holds its event with its hash.
    pub checkpoint_matched: bool,
}

impl ChainSummary {
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Walks an authority's events in `event_id` order, page by page: feed each
/// with [`ChainWalk::check`] until it reports a break, then [`ChainWalk::finish`]
/// with the chain head.
///
/// The rules: events without a hash (from before the chain) may only come
/// first; each chained event's id follows the previous event's by one, its
/// previous hash is the previous chained event's hash ([`GENESIS_HASH`] for the
/// first), its hash is [`event_hash`] of its fields; the head names the last
/// event and its hash.
///
/// With a checkpoint ([`ChainWalk::expecting`]), the chain must also still hold
/// the checkpoint's event with the checkpoint's hash.
#[derive(Debug)]
pub struct ChainWalk<'a> {
    authority: &'a str,
    checked: i64,
    unchained: i64,
    erased: i64,
    last_id: i64,
    last_hash: String,
    chained: bool,
    checkpoint: Option<&'a Checkpoint>,
    /// The walk passed the checkpoint's event, with the checkpoint's hash.
    checkpoint_matched: bool,
}

impl<'a> ChainWalk<'a> {
    pub fn new(authority: &'a str) -> Self {
        Self {
            authority,
            checked: 0,
            unchained: 0,
            erased: 0,
            last_id: 0,
            last_hash: GENESIS_HASH.to_string(),
            chained: false,
            checkpoint: None,
            checkpoint_matched: false,
        }
    }

    /// The walk also checks the chain against `checkpoint` (of the same
    /// authority, its signature already checked).
    pub fn expecting(mut self, checkpoint: Option<&'a Checkpoint>) -> Self {
        self.checkpoint = checkpoint;
        // Before the first event, every chain holds it.
        self.checkpoint_matched = checkpoint.is_some_and(|c| c.event_id == 0);
        self
    }

    /// The id of the last event checked (to read the next page after it).
    pub fn last_event_id(&self) -> i64 {
        self.last_id
    }

    /// Checks the next event; the first break ends the walk.
    pub fn check(&mut self, e: &ChainedEvent) -> Result<(), ChainBreak> {
        let broken = |kind, description: String| ChainBreak {
            event_id: e.event_id,
            kind,
            description,
        };
        match (&e.prev_hash, &e.hash) {
            (None, None) if !self.chained => {
                self.unchained += 1;
            }
            (None, None) => {
                return Err(broken(
                    BreakKind::UnchainedEvent,
                    format!(
                        "event {} has no hash but follows chained event {}",
                        e.event_id, self.last_id
                    ),
                ));
            }
            (Some(prev), Some(hash)) => {
                if e.event_id != self.last_id + 1 {
                    return Err(broken(
                        BreakKind::LinkBroken,
                        format!(
                            "event {} follows event {}: the events between are missing",
                            e.event_id, self.last_id
                        ),
                    ));
                }
                if *prev != self.last_hash {
                    return Err(broken(
                        BreakKind::LinkBroken,
                        if self.chained {
                            format!(
                                "event {}'s previous hash is not event {}'s hash",
                                e.event_id, self.last_id
                            )
                        } else {
                            format!(
                                "event {} is the first chained event but does not start \
                                 from the genesis hash",
                                e.event_id
                            )
                        },
                    ));
                }
                if *hash != event_hash(prev, &e.fields(self.authority)) {
                    return Err(broken(
                        BreakKind::EventAltered,
                        format!("event {}'s hash does not match its contents", e.event_id),
                    ));
                }
                match (&e.details_digest, &e.details_salt) {
                    (None, None) => {}
                    (Some(digest), Some(salt)) => {
                        let salt = hex::decode(salt).unwrap_or_default();
                        if salt.len() != DETAILS_SALT_LEN
                            || *digest != details_digest(&salt, &e.details)
                        {
                            return Err(broken(
                                BreakKind::EventAltered,
                                format!("event {}'s details do not match their digest", e.event_id),
                            ));
                        }
                    }
                    (Some(_), None) if e.details == ERASED_DETAILS => self.erased += 1,
                    (Some(_), None) => {
                        return Err(broken(
                            BreakKind::EventAltered,
                            format!(
                                "event {}'s details were changed after their salt was erased",
                                e.event_id
                            ),
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(broken(
                            BreakKind::EventAltered,
                            format!("event {} has a details salt but no digest", e.event_id),
                        ));
                    }
                }
                self.chained = true;
                self.last_hash.clone_from(hash);
            }
            _ => {
                return Err(broken(
                    BreakKind::UnchainedEvent,
                    format!(
                        "event {} has only one of its hash and previous hash",
                        e.event_id
                    ),
                ));
            }
        }
        if let Some(cp) = self.checkpoint
            && cp.event_id == e.event_id
            && cp.event_hash != self.last_hash
        {
            return Err(broken(
                BreakKind::CheckpointRewritten,
                format!(
                    "the checkpoint of {} records event {}'s chain hash as {}, the log now \
                     has {}: the chain was rewritten at or before event {} since then",
                    cp.taken_at.to_rfc3339(),
                    e.event_id,
                    cp.event_hash,
                    self.last_hash,
                    e.event_id
                ),
            ));
        }
        if self.checkpoint.is_some_and(|cp| cp.event_id == e.event_id) {
            self.checkpoint_matched = true;
        }
        self.last_id = e.event_id;
        self.checked += 1;
        Ok(())
    }

    /// The summary after the last event, checked against the chain head.
    pub fn finish(self, head: Option<&ChainHead>) -> ChainSummary {
        if let Some(cp) = self.checkpoint
            && cp.event_id > self.last_id
        {
            let broken = ChainBreak {
                event_id: self.last_id + 1,
                kind: BreakKind::CheckpointTruncated,
                description: format!(
                    "the checkpoint of {} records event {} but the log ends at event {}: \
                     events after it were removed since then",
                    cp.taken_at.to_rfc3339(),
                    cp.event_id,
                    self.last_id
                ),
            };
            return self.summary(Some(broken));
        }
        let first_break = match head {
            None if self.chained => Some(ChainBreak {
                event_id: self.last_id,
                kind: BreakKind::HeadMismatch,
                description: "the chain head is missing".into(),
            }),
            None => None,
            Some(head) if head.last_event_id > self.last_id => Some(ChainBreak {
                event_id: self.last_id + 1,
                kind: BreakKind::HeadMismatch,
                description: format!(
                    "the chain head records event {} but the log ends at event {}: \
                     events after it are missing",
                    head.last_event_id, self.last_id
                ),
            }),
            Some(head) if head.last_event_id < self.last_id => Some(ChainBreak {
                event_id: self.last_id,
                kind: BreakKind::HeadMismatch,
                description: format!(
                    "the log ends at event {} beyond the chain head's event {}",
                    self.last_id, head.last_event_id
                ),
            }),
            Some(head) if head.last_hash != self.last_hash => Some(ChainBreak {
                event_id: self.last_id,
                kind: BreakKind::HeadMismatch,
                description: format!("the chain head's hash is not event {}'s hash", self.last_id),
            }),
            Some(_) => None,
        };
        self.summary(first_break)
    }

    /// The summary of a walk that stopped at `broken`.
    pub fn broken(self, broken: ChainBreak) -> ChainSummary {
        self.summary(Some(broken))
    }

    fn summary(self, first_break: Option<ChainBreak>) -> ChainSummary {
        ChainSummary {
            events_checked: self.checked,
            unchained_events: self.unchained,
            erased_events: self.erased,
            last_event_id: self.last_id,
            last_hash: self.last_hash,
            first_break,
            checkpoint_matched: self.checkpoint_matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 123_456_000).unwrap()
    }

    /// A chain of `n` events of authority 850 starting after `first_id - 1`.
    fn chain(first_id: i64, n: usize) -> (Vec<ChainedEvent>, ChainHead) {
        let mut prev = GENESIS_HASH.to_string();
        let mut events = Vec::new();
        for i in 0..n {
            let mut e = ChainedEvent {
                event_id: first_id + i as i64,
                occurred_at: at(i as i64),
                actor_subject: format!("officer-{}", i % 3),
                actor_role: "la_officer".into(),
                action: "notice.withdrawn".into(),
                resource: format!("authorities/850/notices/850-2026-{i:06}"),
                request_id: format!("r-{i}"),
                details: format!("{{\"n\":{i}}}"),
                details_digest: None,
                details_salt: None,
                prev_hash: Some(prev.clone()),
                hash: None,
            };
            let hash = event_hash(&prev, &e.fields("850"));
            e.hash = Some(hash.clone());
            prev = hash;
            events.push(e);
        }
        let head = ChainHead {
            last_event_id: first_id + n as i64 - 1,
            last_hash: prev,
        };
        (events, head)
    }

    fn walk(events: &[ChainedEvent], head: Option<&ChainHead>) -> ChainSummary {
        let mut w = ChainWalk::new("850");
        for e in events {
            if let Err(b) = w.check(e) {
                return w.broken(b);
            }
        }
        w.finish(head)
    }

    fn first_break(events: &[ChainedEvent], head: &ChainHead) -> (i64, BreakKind) {
        let b = walk(events, Some(head)).first_break.expect("a break");
        (b.event_id, b.kind)
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let (events, head) = chain(1, 5);
        let s = walk(&events, Some(&head));
        assert!(s.intact(), "{s:?}");
        assert_eq!((s.events_checked, s.last_event_id), (5, 5));
        assert_eq!(s.last_hash, head.last_hash);
        let empty = walk(&[], None);
        assert!(empty.intact());
        assert_eq!(
            (empty.events_checked, empty.last_hash.as_str()),
            (0, GENESIS_HASH)
        );
    }

    #[test]
    fn the_encoding_is_fixed() {
        // Computed independently (Python's hashlib over the encoding as
        // documented): a change here would break every stored chain.
        let (events, _) = chain(1, 1);
        assert_eq!(
            events[0].hash.as_deref(),
            Some("0109a7198234c2c35cc9fed6f31357ef2dfa314e74a91c91af072786a7bbda33")
        );
    }

    #[test]
    fn the_hash_covers_every_field_and_the_authority() {
        let (events, _) = chain(1, 1);
        let e = &events[0];
        let base = event_hash(GENESIS_HASH, &e.fields("850"));
        assert_eq!(base.len(), 64);
        assert_ne!(base, event_hash(GENESIS_HASH, &e.fields("852")));
        let f = e.fields("850");
        let variants = [
            EventFields { event_id: 2, ..f },
            EventFields {
                occurred_at: at(1),
                ..f
            },
            EventFields {
                actor_subject: "x",
                ..f
            },
            EventFields {
                actor_role: "admin",
                ..f
            },
            EventFields {
                action: "notice.paid",
                ..f
            },
            EventFields {
                resource: "authorities/850/notices/x",
                ..f
            },
            EventFields {
                request_id: "other",
                ..f
            },
            EventFields {
                details: Covered::Details("{}"),
                ..f
            },
            // The same text as a v2 digest: the version is covered too.
            EventFields {
                details: Covered::Digest("{\"n\":0}"),
                ..f
            },
        ];
        for v in variants {
            assert_ne!(base, event_hash(GENESIS_HASH, &v), "{v:?}");
        }
        assert_ne!(base, event_hash(&"1".repeat(64), &f));
        // Length prefixes: moving a character between adjacent fields changes the hash.
        let shifted = EventFields {
            actor_subject: "officer-0l",
            actor_role: "a_officer",
            ..f
        };
        assert_ne!(base, event_hash(GENESIS_HASH, &shifted));
    }

    #[test]
    fn instants_are_chained_to_the_microsecond() {
        let t = DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap();
        assert_eq!(chained_instant(t).timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn events_before_the_chain_may_only_come_first() {
        let (mut events, head) = chain(4, 3);
        let unchained = |id| ChainedEvent {
            prev_hash: None,
            hash: None,
            event_id: id,
            ..events[0].clone()
        };
        let mut with_prefix = vec![unchained(1), unchained(3)];
        with_prefix.extend(events.clone());
        let s = walk(&with_prefix, Some(&head));
        assert!(s.intact(), "{s:?}");
        assert_eq!((s.events_checked, s.unchained_events), (5, 2));

        events.insert(1, unchained(5));
        for e in &mut events[2..] {
            e.event_id += 1;
        }
        with_prefix.truncate(2);
        with_prefix.extend(events);
        assert_eq!(
            first_break(&with_prefix, &head),
            (5, BreakKind::UnchainedEvent)
        );
    }

    #[test]
    fn a_removed_last_event_or_a_changed_head_is_a_head_mismatch() {
        let (events, head) = chain(1, 4);
        assert_eq!(
            first_break(&events[..3], &head),
            (4, BreakKind::HeadMismatch)
        );
        let other = ChainHead {
            last_hash: GENESIS_HASH.into(),
            ..head.clone()
        };
        assert_eq!(first_break(&events, &other), (4, BreakKind::HeadMismatch));
        let behind = ChainHead {
            last_event_id: 3,
            ..head.clone()
        };
        assert_eq!(first_break(&events, &behind), (4, BreakKind::HeadMismatch));
        assert_eq!(
            walk(&events, None).first_break.map(|b| b.kind),
            Some(BreakKind::HeadMismatch)
        );
    }

    #[test]
    fn a_chain_not_starting_from_genesis_is_broken_at_its_first_event() {
        let (events, head) = chain(1, 4);
        // The first two removed and the rest renumbered: event 1 now links to a hash.
        let mut rest = events[2..].to_vec();
        for (i, e) in rest.iter_mut().enumerate() {
            e.event_id = i as i64 + 1;
        }
        assert_eq!(first_break(&rest, &head), (1, BreakKind::LinkBroken));
    }

    fn checkpoint_of(events: &[ChainedEvent], n: usize) -> Checkpoint {
        let e = &events[n - 1];
        Checkpoint {
            authority: "850".into(),
            event_id: e.event_id,
            event_hash: e.hash.clone().unwrap(),
            taken_at: at(100),
        }
    }

    fn walk_expecting(events: &[ChainedEvent], head: &ChainHead, cp: &Checkpoint) -> ChainSummary {
        let mut w = ChainWalk::new("850").expecting(Some(cp));
        for e in events {
            if let Err(b) = w.check(e) {
                return w.broken(b);
            }
        }
        w.finish(Some(head))
    }

    #[test]
    fn a_chain_holding_its_checkpoint_is_intact() {
        let (events, head) = chain(1, 6);
        for n in 1..=6 {
            let s = walk_expecting(&events, &head, &checkpoint_of(&events, n));
            assert!(s.intact() && s.checkpoint_matched, "{n}: {s:?}");
        }
        let empty = Checkpoint {
            authority: "850".into(),
            event_id: 0,
            event_hash: GENESIS_HASH.into(),
            taken_at: at(0),
        };
        assert!(walk_expecting(&events, &head, &empty).checkpoint_matched);
        assert!(!walk(&events, Some(&head)).checkpoint_matched);
    }

    #[test]
    fn a_rewritten_tail_breaks_at_the_checkpoint() {
        let (mut events, _) = chain(1, 6);
        let cp = checkpoint_of(&events, 5);
        // Event 3 edited, then every hash from it recomputed, head and all: the
        // chain alone is consistent again.
        events[2].details = "{\"forged\":true}".into();
        let mut prev = events[1].hash.clone().unwrap();
        for e in &mut events[2..] {
            e.prev_hash = Some(prev.clone());
            let hash = event_hash(&prev, &e.fields("850"));
            e.hash = Some(hash.clone());
            prev = hash;
        }
        let head = ChainHead {
            last_event_id: 6,
            last_hash: prev,
        };
        assert!(
            walk(&events, Some(&head)).intact(),
            "undetectable without it"
        );
        let b = walk_expecting(&events, &head, &cp).first_break.unwrap();
        assert_eq!((b.event_id, b.kind), (5, BreakKind::CheckpointRewritten));
        // A checkpoint before the edit still holds.
        assert!(walk_expecting(&events, &head, &checkpoint_of(&events, 2)).intact());
    }

    #[test]
    fn a_truncated_tail_with_its_head_moved_back_breaks_after_the_end() {
        let (events, _) = chain(1, 6);
        let cp = checkpoint_of(&events, 6);
        let kept = &events[..4];
        let head = ChainHead {
            last_event_id: 4,
            last_hash: kept[3].hash.clone().unwrap(),
        };
        assert!(walk(kept, Some(&head)).intact(), "undetectable without it");
        let b = walk_expecting(kept, &head, &cp).first_break.unwrap();
        assert_eq!((b.event_id, b.kind), (5, BreakKind::CheckpointTruncated));
    }

    #[test]
    fn a_checkpoint_signs_every_field() {
        let (events, _) = chain(1, 2);
        let cp = checkpoint_of(&events, 2);
        let base = cp.signed_bytes();
        let variants = [
            Checkpoint {
                authority: "852".into(),
                ..cp.clone()
            },
            Checkpoint {
                event_id: 1,
                ..cp.clone()
            },
            Checkpoint {
                event_hash: GENESIS_HASH.into(),
                ..cp.clone()
            },
            Checkpoint {
                taken_at: at(101),
                ..cp.clone()
            },
        ];
        for v in variants {
            assert_ne!(base, v.signed_bytes(), "{v:?}");
        }
        assert!(is_chain_hash(&cp.event_hash));
        assert!(!is_chain_hash("ABC"));
        assert!(!is_chain_hash(&"A".repeat(64)));
    }

    /// A chain of `n` v2 events (details salted and digested) of authority 850.
    fn chain_v2(n: usize) -> (Vec<ChainedEvent>, ChainHead) {
        let mut prev = GENESIS_HASH.to_string();
        let mut events = Vec::new();
        for i in 0..n {
            let salt = [i as u8; DETAILS_SALT_LEN];
            let details = format!("{{\"payer\":\"Jo Bloggs {i}\"}}");
            let mut e = ChainedEvent {
                event_id: i as i64 + 1,
                occurred_at: at(i as i64),
                actor_subject: "officer".into(),
                actor_role: "la_officer".into(),
                action: "payment.recorded".into(),
                resource: format!("authorities/850/payments/p{i}"),
                request_id: format!("r-{i}"),
                details_digest: Some(details_digest(&salt, &details)),
                details_salt: Some(hex::encode(salt)),
                details,
                prev_hash: Some(prev.clone()),
                hash: None,
            };
            let hash = event_hash(&prev, &e.fields("850"));
            e.hash = Some(hash.clone());
            prev = hash;
            events.push(e);
        }
        let head = ChainHead {
            last_event_id: n as i64,
            last_hash: prev,
        };
        (events, head)
    }

    fn erase(e: &mut ChainedEvent) {
        e.details = ERASED_DETAILS.into();
        e.details_salt = None;
    }

    #[test]
    fn the_v2_encoding_is_fixed_and_covers_the_digest_not_the_details() {
        let (events, head) = chain_v2(1);
        // Computed independently (Python's hashlib): sha256(salt || details),
        // then the v2 encoding with the digest in the details' place.
        assert_eq!(
            events[0].details_digest.as_deref(),
            Some("2556843160a997b79e3db6de97e1913bc28ba817ced446b8f90947caa2d005e8")
        );
        assert_eq!(
            head.last_hash,
            "502d1b30f4ee53cf0af389407067e2e844b1645fed6c9ccd2b73d73ddb65a012"
        );
        let digest_only = ChainedEvent {
            details: "anything".into(),
            details_salt: None,
            ..events[0].clone()
        };
        assert_eq!(
            event_hash(GENESIS_HASH, &digest_only.fields("850")),
            head.last_hash
        );
    }

    #[test]
    fn erased_v2_events_are_counted_and_the_chain_still_verifies() {
        let (mut events, head) = chain_v2(5);
        erase(&mut events[1]);
        erase(&mut events[3]);
        let s = walk(&events, Some(&head));
        assert!(s.intact(), "{s:?}");
        assert_eq!((s.events_checked, s.erased_events), (5, 2));
        // v1 events before them still verify as they did.
        let (mut mixed, _) = chain(1, 2);
        let mut prev = mixed[1].hash.clone().unwrap();
        for mut e in events {
            e.event_id += 2;
            e.prev_hash = Some(prev.clone());
            let hash = event_hash(&prev, &e.fields("850"));
            e.hash = Some(hash.clone());
            prev = hash;
            mixed.push(e);
        }
        let head = ChainHead {
            last_event_id: 7,
            last_hash: prev,
        };
        let s = walk(&mixed, Some(&head));
        assert!(s.intact(), "{s:?}");
        assert_eq!((s.events_checked, s.erased_events), (7, 2));
    }

    #[test]
    fn altered_v2_details_are_caught_salted_or_erased() {
        let (events, head) = chain_v2(4);
        let mut edited = events.clone();
        edited[2].details = "{\"payer\":\"someone else\"}".into();
        assert_eq!(first_break(&edited, &head), (3, BreakKind::EventAltered));

        let mut after_erasure = events.clone();
        erase(&mut after_erasure[2]);
        after_erasure[2].details = "{\"erased\":false}".into();
        assert_eq!(
            first_break(&after_erasure, &head),
            (3, BreakKind::EventAltered)
        );

        let mut other_salt = events.clone();
        other_salt[1].details_salt = Some(hex::encode([9u8; DETAILS_SALT_LEN]));
        assert_eq!(
            first_break(&other_salt, &head),
            (2, BreakKind::EventAltered)
        );

        let mut digest_changed = events.clone();
        digest_changed[0].details_digest = Some(GENESIS_HASH.into());
        erase(&mut digest_changed[0]);
        assert_eq!(
            first_break(&digest_changed, &head),
            (1, BreakKind::EventAltered)
        );

        let mut digest_dropped = events;
        digest_dropped[3].details_digest = None;
        assert_eq!(
            first_break(&digest_dropped, &head),
            (4, BreakKind::EventAltered)
        );
    }

    proptest! {
        #[test]
        fn editing_any_field_of_any_event_breaks_the_chain_there(
            n in 1usize..12, pick in 0usize..12, field in 0usize..8, text in "[a-z0-9]{1,8}",
        ) {
            let (mut events, head) = chain(1, n);
            let i = pick % n;
            let e = &mut events[i];
            match field {
                0 => e.occurred_at += chrono::Duration::microseconds(1),
                1 => e.actor_subject.push_str(&text),
                2 => e.actor_role.push_str(&text),
                3 => e.action.push_str(&text),
                4 => e.resource.push_str(&text),
                5 => e.request_id.push_str(&text),
                6 => e.details.push_str(&text),
                _ => e.hash = Some(event_hash(GENESIS_HASH, &e.fields("852"))),
            }
            prop_assert_eq!(first_break(&events, &head), (i as i64 + 1, BreakKind::EventAltered));
        }

        #[test]
        fn removing_or_swapping_events_breaks_the_chain_at_the_first_moved(
            n in 2usize..12, pick in 0usize..12,
        ) {
            let (events, head) = chain(1, n);
            let i = pick % (n - 1);
            let mut removed = events.clone();
            removed.remove(i);
            prop_assert_eq!(first_break(&removed, &head), (i as i64 + 2, BreakKind::LinkBroken));

            // Swapped and renumbered so the ids still run on.
            let mut swapped = events.clone();
            swapped.swap(i, i + 1);
            swapped[i].event_id = i as i64 + 1;
            swapped[i + 1].event_id = i as i64 + 2;
            prop_assert_eq!(first_break(&swapped, &head), (i as i64 + 1, BreakKind::LinkBroken));
        }

        #[test]
        fn rehashing_an_edited_event_breaks_the_next_link(n in 2usize..12, pick in 0usize..12) {
            let (mut events, head) = chain(1, n);
            let i = pick % (n - 1);
            let e = &mut events[i];
            e.details = "{\"forged\":true}".into();
            e.hash = Some(event_hash(e.prev_hash.as_deref().unwrap(), &e.fields("850")));
            prop_assert_eq!(first_break(&events, &head), (i as i64 + 2, BreakKind::LinkBroken));
        }
    }
}
