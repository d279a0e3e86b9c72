//! Authentication: bearer JWTs verified against configured public keys (Ed25519
//! or RS256, from a PEM file or a JWKS file), issuer and audience checked,
//! `exp`, `nbf` and `iat` checked against the wall clock with a small leeway,
//! and any `crit` header refused. The verified caller rides on the request's
//! extensions.
//!
//! For local use the embedded default keeps an Ed25519 development key in its
//! data directory; `lea-notices token` signs short-lived tokens with it.

use std::{fs, path::Path, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use ed25519_dalek::pkcs8::{
    DecodePrivateKey, EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

pub use crate::app::Caller;

use crate::app::clock::{Clock, SystemClock};
use crate::domain::{
    access_log::{self, Purpose},
    actor::{Actor, Role},
    identifiers::{LaCode, Urn},
};

/// The development key's file name in the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key.pem";

/// How far a token's times may be off the server's clock, unless configured:
/// clock skew between the identity provider and this server.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims a token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// Not valid before this time, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The caller's authority (LA code).
    pub la: String,
    /// One of the roles' names (`la_officer`, ...).
    pub role: String,
    /// For school staff, the URNs of their schools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schools: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Checks tokens against a fixed set of public keys.
pub struct Verifier {
    keys: Vec<(Algorithm, Option<String>, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway: Duration,
    /// Tokens already verified, by their text: a client sends the same token on
    /// every call until it expires, and checking its signature each time was a
    /// quarter of the server's own CPU on a `GetNotice` (BENCHMARKS.md). Only
    /// accepted tokens are kept, and their times are checked again on every use.
    verified: quick_cache::sync::Cache<String, Verified>,
}

/// Accepted tokens remembered at once (about half a KiB each).
const VERIFIED_TOKENS: usize = 10_000;

/// What an accepted token proved, and until when.
#[derive(Debug, Clone)]
struct Verified {
    caller: Caller,
    exp: i64,
    nbf: Option<i64>,
}

impl Verified {
    /// Whether the token is still within its times at `now` (Unix seconds), as
    /// jsonwebtoken judges them: `exp` and `nbf` each allowed `leeway` seconds.
    fn check_times(&self, now: i64, leeway: i64) -> Result<(), String> {
        if self.exp < now.saturating_sub(leeway) {
            return Err("ExpiredSignature".into());
        }
        if self.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err("ImmatureSignature".into());
        }
        Ok(())
    }
}

impl Verifier {
    /// Keys from a PEM public key (Ed25519 or RSA) or a JWKS file.
    pub fn from_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let keys = if text.trim_start().starts_with('{') {
            let set: JwkSet =
                serde_json::from_str(&text).map_err(|e| KeyError::Invalid(format!("JWKS: {e}")))?;
            set.keys
                .iter()
                .map(|jwk| {
                    let alg = match &jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        _ => {
                            return Err(KeyError::Invalid(
                                "only Ed25519 (OKP) and RSA keys are accepted".into(),
                            ));
                        }
                    };
                    let key = DecodingKey::from_jwk(jwk)
                        .map_err(|e| KeyError::Invalid(format!("JWK: {e}")))?;
                    Ok((alg, jwk.common.key_id.clone(), key))
                })
                .collect::<Result<Vec<_>, _>>()?
        } else if let Ok(key) = DecodingKey::from_ed_pem(text.as_bytes()) {
            vec![(Algorithm::EdDSA, None, key)]
        } else {
            let key = DecodingKey::from_rsa_pem(text.as_bytes()).map_err(|e| {
                KeyError::Invalid(format!(
                    "{}: not an Ed25519 or RSA public key: {e}",
                    path.display()
                ))
            })?;
            vec![(Algorithm::RS256, None, key)]
        };
        if keys.is_empty() {
            return Err(KeyError::Invalid(format!("{}: no keys", path.display())));
        }
        Ok(Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        })
    }

    /// How far `exp`, `nbf` and `iat` may be off the server's clock.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The caller a bearer token proves, or why not (kept from the client).
    pub fn verify(&self, token: &str) -> Result<Caller, String> {
        if let Some(known) = self.verified.get(token) {
            let now = SystemClock.now().timestamp();
            known.check_times(now, self.leeway.as_secs() as i64)?;
            return Ok(known.caller);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        // RFC 7515 §4.1.11: a verifier must refuse a `crit` naming extensions it
        // does not understand, and this one understands none.
        if header_has_crit(token)? {
            return Err(format!(
                "critical header parameters {:?} are not understood",
                header.crit.unwrap_or_default()
            ));
        }
        let mut last_error = "no key for this token".to_string();
        for (alg, kid, key) in self.keys.iter().filter(|(alg, kid, _)| {
            *alg == header.alg && (header.kid.is_none() || kid.is_none() || *kid == header.kid)
        }) {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = self.leeway.as_secs();
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    self.check_issued_at(&data.claims)?;
                    let (exp, nbf) = (data.claims.exp, data.claims.nbf);
                    let caller = caller_from(data.claims)?;
                    let known = Verified {
                        caller: caller.clone(),
                        exp,
                        nbf,
                    };
                    self.verified.insert(token.to_string(), known);
                    return Ok(caller);
                }
                Err(e) => last_error = format!("{e} (kid {kid:?})"),
            }
        }
        Err(last_error)
    }

    /// A token issued in the future (beyond the leeway) is refused: jsonwebtoken
    /// checks `exp` and `nbf` but not `iat`.
    fn check_issued_at(&self, claims: &Claims) -> Result<(), String> {
        let now = SystemClock.now().timestamp();
        let latest = now.saturating_add(self.leeway.as_secs() as i64);
        if claims.iat > latest {
            return Err(format!(
                "issued in the future (iat {}, now {now})",
                claims.iat
            ));
        }
        Ok(())
    }

    /// Checks the `authorization: Bearer` metadata and attaches the [`Caller`].
    pub fn interceptor(
        self: Arc<Self>,
    ) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
        move |mut request: Request<()>| {
            let token = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
            match self.verify(token) {
                Ok(mut caller) => {
                    // Per call (a verified token is cached): recorded on the
                    // access log, never logged.
                    caller.purpose = Purpose::read(
                        request
                            .metadata()
                            .get(access_log::PURPOSE_HEADER)
                            .map(|v| v.as_bytes()),
                    );
                    tracing::Span::current().record("authority", caller.authority.as_str());
                    request.extensions_mut().insert(caller);
                    Ok(request)
                }
                Err(reason) => {
                    // Operators see why; callers learn only that the token was refused.
                    tracing::info!(%reason, "token refused");
                    Err(Status::unauthenticated("the bearer token is not valid"))
                }
            }
        }
    }
}

/// Whether the token's header names `crit` at all (even as `null`, which
/// `Header` would read as absent).
fn header_has_crit(token: &str) -> Result<bool, String> {
    let segment = token.split('.').next().unwrap_or_default();
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| format!("header: {e}"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&json).map_err(|e| format!("header: {e}"))?;
    Ok(header.contains_key("crit"))
}

fn caller_from(c: Claims) -> Result<Caller, String> {
    let authority = LaCode::parse(&c.la)?;
    let role = Role::parse(&c.role).ok_or_else(|| format!("unknown role '{}'", c.role))?;
    let schools = c
        .schools
        .iter()
        .map(|s| Urn::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Caller {
        actor: Actor {
            subject: c.sub,
            role: Some(role),
        },
        authority,
        role,
        schools,
        purpose: Default::default(),
    })
}

/// The development signing key: created in `data_dir` on first use.
pub struct DevKey {
    private_pem: String,
    public_pem: String,
}

impl DevKey {
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(DEV_KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| KeyError::Invalid(format!("no randomness: {e}")))?;
            let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            fs::create_dir_all(data_dir).map_err(io)?;
            // `serve &` and `token` started together both find no key: the first
            // to publish a whole file wins and the other reads that one.
            match publish_private(data_dir, &path, pem.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
                _ => {}
            }
        }
        let pem = fs::read_to_string(&path).map_err(io)?;
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))?;
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Invalid(e.to_string()))?
            .to_string();
        let public_pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(Self {
            private_pem,
            public_pem,
        })
    }

    /// Writes the public key where a [`Verifier`] can read it.
    pub fn write_public_key(&self, path: &Path) -> std::io::Result<()> {
        fs::write(path, &self.public_pem)
    }

    pub fn verifier(&self, issuer: &str, audience: &str) -> Verifier {
        let key = DecodingKey::from_ed_pem(self.public_pem.as_bytes()).expect("a key just encoded");
        Verifier {
            keys: vec![(Algorithm::EdDSA, None, key)],
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        }
    }

    /// Signs a token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_with_header(&Header::new(Algorithm::EdDSA), claims)
    }

    /// Signs `claims` under `header` (its `alg` must be EdDSA): tests forge
    /// headers a verifier must refuse.
    pub fn sign_with_header(&self, header: &Header, claims: &impl Serialize) -> String {
        let key =
            EncodingKey::from_ed_pem(self.private_pem.as_bytes()).expect("a key just encoded");
        jsonwebtoken::encode(header, claims, &key).expect("claims always encode")
    }
}

/// Writes `bytes` to a file of its own in `dir`, then links it at `path`, which
/// fails with `AlreadyExists` if another process got there first: `path` never
/// names a half-written key.
fn publish_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(std::io::Error::other)?;
    let staging = dir.join(format!(".{DEV_KEY_FILE}.{}", hex::encode(nonce)));
    write_private(&staging, bytes)?;
    let linked = fs::hard_link(&staging, path);
    let _ = fs::remove_file(&staging);
    linked
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fs::write(path, bytes)
}

/// Claims for a token valid from now for `ttl`.
pub fn claims(
    subject: &str,
    authority: &LaCode,
    role: Role,
    schools: &[String],
    (issuer, audience): (&str, &str),
    ttl: chrono::Duration,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> Claims {
    let now = issued_at.timestamp();
    Claims {
        sub: subject.into(),
        iss: issuer.into(),
        aud: audience.into(),
        iat: now,
        nbf: None,
        exp: now + ttl.num_seconds(),
        la: authority.to_string(),
        role: role.as_str().into(),
        schools: schools.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(key: &DevKey, issuer: &str) -> String {
        let la = LaCode::parse("852").unwrap();
        key.sign(&claims(
            "s",
            &la,
            Role::Auditor,
            &[],
            (issuer, "aud"),
            chrono::Duration::minutes(5),
            crate::app::clock::Clock::now(&crate::app::clock::SystemClock),
        ))
    }

    #[test]
    fn processes_creating_the_key_together_agree_on_one() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<String> = std::thread::scope(|s| {
            let creators: Vec<_> = (0..8)
                .map(|_| s.spawn(|| DevKey::load_or_create(dir.path()).unwrap().public_pem))
                .collect();
            creators.into_iter().map(|c| c.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "one key for all");
        let files = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 1, "no staging file left behind");
    }

    #[test]
    fn keys_load_from_a_pem_file_and_from_a_jwks_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let again = DevKey::load_or_create(dir.path()).unwrap();
        assert_eq!(
            key.public_pem, again.public_pem,
            "the development key persists"
        );

        let pem = dir.path().join("public.pem");
        key.write_public_key(&pem).unwrap();
        let caller = Verifier::from_file(&pem, "iss", "aud")
            .unwrap()
            .verify(&token(&key, "iss"))
            .unwrap();
        assert_eq!(
            (caller.authority.as_str(), caller.role),
            ("852", Role::Auditor)
        );

        let public = ed25519_dalek::SigningKey::from_pkcs8_pem(&key.private_pem)
            .unwrap()
            .verifying_key();
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public.as_bytes());
        let jwks = dir.path().join("jwks.json");
        fs::write(
            &jwks,
            serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA", "use": "sig"}]})
                .to_string(),
        )
        .unwrap();
        let verifier = Verifier::from_file(&jwks, "iss", "aud").unwrap();
        assert!(verifier.verify(&token(&key, "iss")).is_ok());
        assert!(
            verifier.verify(&token(&key, "other")).is_err(),
            "issuer checked"
        );

        fs::write(&jwks, "not a key").unwrap();
        assert!(Verifier::from_file(&jwks, "iss", "aud").is_err());
    }

    #[test]
    fn not_yet_valid_future_issued_and_critical_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let verifier = key.verifier("iss", "aud");
        let now = SystemClock.now().timestamp();
        let la = LaCode::parse("852").unwrap();
        let base = claims(
            "s",
            &la,
            Role::Auditor,
            &[],
            ("iss", "aud"),
            chrono::Duration::minutes(5),
            SystemClock.now(),
        );
        let with = |nbf: Option<i64>, iat: i64| {
            key.sign(&Claims {
                nbf,
                iat,
                ..base.clone()
            })
        };
        assert!(verifier.verify(&with(Some(now - 60), now)).is_ok());
        assert!(
            verifier.verify(&with(Some(now + 10), now)).is_ok(),
            "within the leeway"
        );
        let err = verifier.verify(&with(Some(now + 3600), now)).unwrap_err();
        assert!(err.contains("ImmatureSignature"), "{err}");
        let err = verifier.verify(&with(None, now + 3600)).unwrap_err();
        assert!(err.contains("issued in the future"), "{err}");
        let strict = key.verifier("iss", "aud").with_leeway(Duration::ZERO);
        assert!(
            strict.verify(&with(Some(now + 10), now)).is_err(),
            "no leeway"
        );
        assert!(strict.verify(&with(None, now + 10)).is_err(), "no leeway");

        let mut header = Header::new(Algorithm::EdDSA);
        header.crit = Some(vec!["exp-ext".into()]);
        header.extras.insert("exp-ext", true);
        let err = verifier
            .verify(&key.sign_with_header(&header, &base))
            .unwrap_err();
        assert!(err.contains("critical"), "{err}");
        // `"crit": null` reads as no crit through `Header`; it is refused too.
        let mut header = Header::new(Algorithm::EdDSA);
        header.extras.insert("crit", serde_json::Value::Null);
        let token = key.sign_with_header(&header, &base);
        assert!(jsonwebtoken::decode_header(&token).unwrap().crit.is_none());
        assert!(verifier.verify(&token).is_err(), "a null crit");
    }

    /// An accepted token is remembered, and a remembered one is still held to
    /// its times: it stops working when it expires as an unseen one would.
    #[test]
    fn a_remembered_token_proves_the_same_caller_and_still_expires() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let verifier = key.verifier("iss", "aud");
        let good = token(&key, "iss");
        let first = verifier.verify(&good).unwrap();
        assert_eq!(verifier.verified.len(), 1);
        assert_eq!(verifier.verify(&good).unwrap(), first);
        // A token differing in one character is not the remembered one.
        let at = good.len() - 10; // inside the signature, clear of its padding bits
        let swapped = if &good[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &good[..at], &good[at + 1..]);
        assert!(verifier.verify(&forged).is_err());
        assert!(verifier.verify(&token(&key, "another issuer")).is_err());
        assert_eq!(verifier.verified.len(), 1, "only accepted tokens are kept");

        let known = Verified {
            caller: first,
            exp: 1_000,
            nbf: Some(500),
        };
        assert!(known.check_times(1_000, 0).is_ok(), "valid until exp");
        assert!(known.check_times(1_030, 30).is_ok(), "within the leeway");
        let err = known.check_times(1_031, 30).unwrap_err();
        assert!(err.contains("ExpiredSignature"), "{err}");
        assert!(known.check_times(470, 30).is_ok());
        let err = known.check_times(469, 30).unwrap_err();
        assert!(err.contains("ImmatureSignature"), "{err}");
    }
}
