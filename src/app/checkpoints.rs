//! Audit checkpoints: the outside anchor of the audit log's hash chain.
//!
//! The chain shows an event edited in place, but whoever can rewrite the table
//! and its triggers can also recompute every hash after an edit, or cut the last
//! events off and move the head back, and the chain alone then verifies. A
//! checkpoint records where an authority's chain ended (the last event id and
//! its chain hash) at an instant, signed with an Ed25519 key the service holds
//! and the database roles do not, and is published where they cannot rewrite
//! it: a structured line in the service's log (no personal data: an LA code,
//! an id, hashes) and a file in a directory of the service's. An auditor who
//! keeps one gives it back to `VerifyAuditTrail` (or `lea-notices verify-audit
//! --checkpoint FILE`), and the walk then also checks the chain still holds
//! that event with that hash (`domain::audit::ChainWalk::expecting`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation, RuleViolation,
    access::Operation,
    audit::{self, ChainSummary, Checkpoint, GENESIS_HASH},
    identifiers::LaCode,
};
use crate::store::StoreTx;

/// The rule a checkpoint request breaks on a server without a checkpoint key.
pub const CHECKPOINT_KEY_RULE: &str = "AUDIT_CHECKPOINT_KEY_CONFIGURED";
/// The rule a checkpoint request breaks when the chain head disagrees with its
/// last event (VerifyAuditTrail says how).
pub const CHAIN_HEAD_RULE: &str = "AUDIT_CHAIN_HEAD_CONSISTENT";

/// A checkpoint with the key that signed it and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl SignedCheckpoint {
    /// Whether it is signed by `trusted` and the signature covers its fields;
    /// the violation names the field, under `checkpoint`.
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<(), FieldViolation> {
        if self.public_key != trusted.to_bytes() {
            return Err(FieldViolation::new(
                "checkpoint.public_key",
                "not this service's checkpoint key",
            ));
        }
        let signature = ed25519_dalek::Signature::from_bytes(&self.signature);
        trusted
            .verify(&self.checkpoint.signed_bytes(), &signature)
            .map_err(|_| {
                FieldViolation::new(
                    "checkpoint.signature",
                    "does not match the checkpoint: it was changed, or not signed by this service",
                )
            })
    }

    /// The file format (one JSON object) of the checkpoint directory, the log
    /// line and `verify-audit --checkpoint`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&CheckpointFile {
            authority: format!("authorities/{}", self.checkpoint.authority),
            event_id: self.checkpoint.event_id,
            event_hash: self.checkpoint.event_hash.clone(),
            checkpoint_time: self
                .checkpoint
                .taken_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            public_key: URL_SAFE_NO_PAD.encode(self.public_key),
            signature: URL_SAFE_NO_PAD.encode(self.signature),
        })
        .expect("a checkpoint always serialises")
    }

    /// Reads [`Self::to_json`]'s format back; what is wrong, for a person.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let f: CheckpointFile =
            serde_json::from_str(json).map_err(|e| format!("not a checkpoint: {e}"))?;
        let authority = f
            .authority
            .strip_prefix("authorities/")
            .and_then(|la| LaCode::parse(la).ok())
            .ok_or("authority: not authorities/{la_code}")?;
        let taken_at = DateTime::parse_from_rfc3339(&f.checkpoint_time)
            .map_err(|e| format!("checkpoint_time: {e}"))?
            .to_utc();
        let bytes = |field: &str, value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|e| format!("{field}: {e}"))
        };
        let public_key = bytes("public_key", &f.public_key)?
            .try_into()
            .map_err(|_| "public_key: not 32 bytes")?;
        let signature = bytes("signature", &f.signature)?
            .try_into()
            .map_err(|_| "signature: not 64 bytes")?;
        checked(Checkpoint {
            authority: authority.as_str().to_string(),
            event_id: f.event_id,
            event_hash: f.event_hash,
            taken_at,
        })
        .map(|checkpoint| SignedCheckpoint {
            checkpoint,
            public_key,
            signature,
        })
        .map_err(|v| format!("{}: {}", v.field, v.description))
    }
}

/// A checkpoint's own fields checked (not its signature): the violation names
/// the field as in the protocol's AuditCheckpoint.
pub fn checked(c: Checkpoint) -> Result<Checkpoint, FieldViolation> {
    if c.event_id < 0 {
        return Err(FieldViolation::new("event_id", "must not be negative"));
    }
    if !audit::is_chain_hash(&c.event_hash) {
        return Err(FieldViolation::new(
            "event_hash",
            "not a chain hash (64 lowercase hex digits)",
        ));
    }
    if c.event_id == 0 && c.event_hash != GENESIS_HASH {
        return Err(FieldViolation::new(
            "event_hash",
            "a checkpoint before the first event holds the genesis hash",
        ));
    }
    Ok(c)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointFile {
    authority: String,
    event_id: i64,
    event_hash: String,
    checkpoint_time: String,
    public_key: String,
    signature: String,
}

/// The service's checkpoint key: an Ed25519 private key, PKCS#8 PEM.
pub struct CheckpointKey {
    key: SigningKey,
}

impl CheckpointKey {
    /// The key in `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading the checkpoint key {}: {e}", path.display()))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            anyhow::anyhow!(
                "{}: not an Ed25519 private key (PKCS#8 PEM): {e}",
                path.display()
            )
        })?;
        Ok(Self { key })
    }

    /// The key in `path`, made there first if there is none (the embedded
    /// default's `data_dir`), readable by its owner only.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let key = Self::generate()?;
            let pem = key
                .key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| anyhow::anyhow!("encoding a checkpoint key: {e}"))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            match write_new(path, pem.as_bytes(), 0o600) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    anyhow::bail!("writing the checkpoint key {}: {e}", path.display())
                }
                _ => tracing::warn!(
                    path = %path.display(),
                    "made a new audit checkpoint key: keep a copy of its public key with the auditors"
                ),
            }
        }
        Self::load(path)
    }

    /// A new random key.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.key.sign(&checkpoint.signed_bytes()).to_bytes();
        SignedCheckpoint {
            checkpoint,
            public_key: self.key.verifying_key().to_bytes(),
            signature,
        }
    }
}

/// Writes `bytes` to a new file at `path` (never over an existing one) with
/// `mode` on Unix.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// How the service signs and publishes checkpoints.
pub struct Checkpoints {
    key: CheckpointKey,
    /// Where a file of each checkpoint goes; `None`: the log only.
    dir: Option<PathBuf>,
    /// The last checkpoint published per authority (event id), so the periodic
    /// round publishes only chains that moved.
    published: Mutex<HashMap<String, i64>>,
}

impl Checkpoints {
    pub fn new(key: CheckpointKey, dir: Option<PathBuf>) -> Self {
        Self {
            key,
            dir,
            published: Mutex::new(HashMap::new()),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Publishes `signed`: a log line always (target `lea_notices::audit_checkpoint`),
    /// and a file `audit-checkpoint-{la}-{event id}-{time}.json` (read-only,
    /// never overwritten) in the directory when there is one. A file that cannot
    /// be written is logged; the log line still stands.
    fn publish(&self, signed: &SignedCheckpoint) {
        let c = &signed.checkpoint;
        let json = signed.to_json();
        tracing::info!(
            target: "lea_notices::audit_checkpoint",
            authority = %c.authority,
            event_id = c.event_id,
            event_hash = %c.event_hash,
            checkpoint_time = %c.taken_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            public_key = %URL_SAFE_NO_PAD.encode(signed.public_key),
            checkpoint = %json,
            "audit checkpoint"
        );
        if let Some(dir) = &self.dir {
            let name = format!(
                "audit-checkpoint-{}-{:012}-{}.json",
                c.authority,
                c.event_id,
                c.taken_at.format("%Y%m%dT%H%M%S%6fZ")
            );
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| write_new(&dir.join(&name), format!("{json}\n").as_bytes(), 0o444));
            match written {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => tracing::error!(
                    error = %e,
                    dir = %dir.display(),
                    "could not write an audit checkpoint file (the log line stands)"
                ),
            }
        }
        if let Ok(mut published) = self.published.lock() {
            published.insert(c.authority.clone(), c.event_id);
        }
    }

    fn published(&self, authority: &str) -> Option<i64> {
        self.published
            .lock()
            .ok()
            .and_then(|p| p.get(authority).copied())
    }
}

impl App {
    /// This application signing and publishing audit checkpoints with `checkpoints`.
    pub fn with_checkpoints(mut self, checkpoints: Arc<Checkpoints>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    fn checkpoints(&self) -> ServiceResult<&Arc<Checkpoints>> {
        self.checkpoints.as_ref().ok_or_else(|| {
            RuleViolation::new(
                CHECKPOINT_KEY_RULE,
                "audit_checkpoint_key_file",
                "this server holds no audit checkpoint key (see README, Audit checkpoints)",
            )
            .into()
        })
    }

    /// Signs and publishes where the caller's authority's chain ends now.
    pub async fn create_audit_checkpoint(
        &self,
        caller: Caller,
        parent: Read<()>,
    ) -> ServiceResult<SignedCheckpoint> {
        caller.check_allowed(Operation::VerifyAuditLog)?;
        parent?;
        let checkpoints = self.checkpoints()?.clone();
        let checkpoint = self.chain_end(caller.authority).await?;
        let signed = checkpoints.key.sign(checkpoint);
        checkpoints.publish(&signed);
        Ok(signed)
    }

    /// Publishes a checkpoint of every authority whose chain moved since this
    /// server last published one; how many it published. An authority whose
    /// head disagrees with its last event is skipped with a log line (its
    /// verification says how).
    pub async fn publish_audit_checkpoints(&self) -> ServiceResult<usize> {
        let checkpoints = self.checkpoints()?.clone();
        let heads = self
            .read(|_, mut tx| async move {
                let heads = tx.audit_chain_heads().await;
                (tx, heads.map_err(Into::into))
            })
            .await?;
        let mut published = 0;
        for (authority, head) in heads {
            if checkpoints.published(&authority) == Some(head.last_event_id) {
                continue;
            }
            let Ok(la) = LaCode::parse(&authority) else {
                continue;
            };
            match self.chain_end(la).await {
                Ok(checkpoint) => {
                    checkpoints.publish(&checkpoints.key.sign(checkpoint));
                    published += 1;
                }
                Err(ServiceError::FailedPrecondition(_)) => tracing::error!(
                    authority = %authority,
                    "no audit checkpoint: the chain head disagrees with its last event"
                ),
                Err(e) => return Err(e),
            }
        }
        Ok(published)
    }

    /// Where `authority`'s chain ends: its head, checked against the event it
    /// names, at this instant.
    async fn chain_end(&self, authority: LaCode) -> ServiceResult<Checkpoint> {
        let taken_at = audit::chained_instant(self.now());
        self.read(move |_, mut tx| async move {
            let end = read_chain_end(&mut *tx, &authority, taken_at).await;
            (tx, end)
        })
        .await
    }

    /// Verifies the caller's authority's hash chain, and against `checkpoint`
    /// when one is given (signed with this server's checkpoint key).
    pub async fn verify_audit_trail(
        &self,
        caller: Caller,
        checkpoint: Read<Option<SignedCheckpoint>>,
    ) -> ServiceResult<ChainSummary> {
        caller.check_allowed(Operation::VerifyAuditLog)?;
        let checkpoint = checkpoint?;
        if let Some(signed) = &checkpoint {
            signed.verify(&self.checkpoints()?.verifying_key())?;
            if signed.checkpoint.authority != caller.authority.as_str() {
                return Err(FieldViolation::new(
                    "checkpoint.authority",
                    "a checkpoint of another authority",
                )
                .into());
            }
        }
        self.verify_audit_chain(caller.authority, checkpoint.map(|s| s.checkpoint))
            .await
    }
}

async fn read_chain_end(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    taken_at: DateTime<Utc>,
) -> ServiceResult<Checkpoint> {
    let checkpoint = |event_id, event_hash| Checkpoint {
        authority: authority.as_str().to_string(),
        event_id,
        event_hash,
        taken_at,
    };
    let Some(head) = tx.audit_chain_head(authority).await? else {
        return Ok(checkpoint(0, GENESIS_HASH.to_string()));
    };
    let last = tx
        .audit_chain(authority, head.last_event_id - 1, 1)
        .await?
        .into_iter()
        .next()
        .filter(|e| e.event_id == head.last_event_id);
    // The chain's hash after the last event: its own, or genesis for one from
    // before the chain.
    let consistent = last.is_some_and(|e| {
        e.hash.as_deref().unwrap_or(GENESIS_HASH) == head.last_hash
            && audit::is_chain_hash(&head.last_hash)
    });
    if !consistent {
        return Err(RuleViolation::new(
            CHAIN_HEAD_RULE,
            format!("authorities/{authority}"),
            "the chain head disagrees with the last event; VerifyAuditTrail says how",
        )
        .into());
    }
    Ok(checkpoint(head.last_event_id, head.last_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (CheckpointKey, SignedCheckpoint) {
        let key = CheckpointKey::generate().unwrap();
        let taken_at = DateTime::parse_from_rfc3339("2027-01-04T12:00:00.123456Z")
            .unwrap()
            .to_utc();
        let s = key.sign(Checkpoint {
            authority: "850".into(),
            event_id: 12,
            event_hash: "ab".repeat(32),
            taken_at,
        });
        (key, s)
    }

    #[test]
    fn a_checkpoint_round_trips_through_its_file_and_verifies() {
        let (key, s) = signed();
        let back = SignedCheckpoint::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        back.verify(&key.verifying_key()).unwrap();
        let other = CheckpointKey::generate().unwrap();
        assert_eq!(
            back.verify(&other.verifying_key()).unwrap_err().field,
            "checkpoint.public_key"
        );
    }

    #[test]
    fn a_changed_checkpoint_fails_its_signature() {
        let (key, s) = signed();
        let mut moved = s.clone();
        moved.checkpoint.event_id = 11;
        assert_eq!(
            moved.verify(&key.verifying_key()).unwrap_err().field,
            "checkpoint.signature"
        );
        let mut rehashed = s.clone();
        rehashed.checkpoint.event_hash = "cd".repeat(32);
        assert!(rehashed.verify(&key.verifying_key()).is_err());
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        let (_, s) = signed();
        let json = s.to_json();
        for (from, to, says) in [
            ("authorities/850", "850", "authority"),
            (&"ab".repeat(32), "AB", "event_hash"),
            ("\"event_id\":12", "\"event_id\":-1", "event_id"),
            (
                "2027-01-04T12:00:00.123456Z",
                "yesterday",
                "checkpoint_time",
            ),
        ] {
            let bad = json.replace(from, to);
            let e = SignedCheckpoint::from_json(&bad).unwrap_err();
            assert!(e.starts_with(says), "{bad}: {e}");
        }
        assert!(SignedCheckpoint::from_json("{}").is_err());
        assert!(SignedCheckpoint::from_json("not json").is_err());
    }

    #[test]
    fn a_key_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/checkpoint.pem");
        let made = CheckpointKey::load_or_create(&path).unwrap();
        let again = CheckpointKey::load_or_create(&path).unwrap();
        assert_eq!(made.verifying_key(), again.verifying_key());
        assert!(CheckpointKey::load(&dir.path().join("none.pem")).is_err());
    }
}
