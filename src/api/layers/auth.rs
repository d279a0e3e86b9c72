//! Authentication: bearer JWTs verified against the identity provider's public
//! keys (Ed25519, RSA or ECDSA: a PEM or JWKS file, or a JWKS fetched from a
//! URL or by OpenID Connect discovery and kept fresh, see [`super::jwks`]),
//! issuer and audience checked, `exp`, `nbf` and `iat` checked against the
//! wall clock with a small leeway, and any `crit` header refused. Which claims
//! name the caller's authority, role and schools is configuration
//! ([`ClaimMapping`]). The verified caller rides on the request's extensions.
//!
//! For local use the embedded default keeps an Ed25519 development key in its
//! data directory; `lea-notices token` signs short-lived tokens with it.

use std::{
    fs,
    path::Path,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use ed25519_dalek::pkcs8::{
    DecodePrivateKey, EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use tonic::Status;

pub use super::claims::ClaimMapping;
pub use crate::app::Caller;

use super::jwks::{Key, KeySet, RemoteKeys};
use crate::app::clock::{Clock, SystemClock};
use crate::domain::{
    access_log::{self, Purpose},
    actor::Role,
    identifiers::LaCode,
};

/// The development key's file name in the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key.pem";

/// How far a token's times may be off the server's clock, unless configured:
/// clock skew between the identity provider and this server.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims a token this service signs carries (`lea-notices token`, tests):
/// the default [`ClaimMapping`]'s.
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

/// Where the keys come from.
enum Keys {
    /// Read once (a file, the development key).
    Fixed(Arc<KeySet>),
    /// The identity provider's, kept fresh.
    Remote(Arc<RemoteKeys>),
}

impl Keys {
    fn current(&self) -> Arc<KeySet> {
        match self {
            Keys::Fixed(set) => set.clone(),
            Keys::Remote(remote) => remote.current(),
        }
    }
}

/// Checks tokens against the identity provider's public keys.
pub struct Verifier {
    keys: Keys,
    issuer: String,
    audience: String,
    leeway: Duration,
    claims: ClaimMapping,
    /// Tokens already verified, by their text: a client sends the same token on
    /// every call until it expires, and checking its signature each time was a
    /// quarter of the server's own CPU on a `GetNotice` (BENCHMARKS.md). Only
    /// accepted tokens are kept, and their times are checked again on every use;
    /// one verified under keys since replaced is verified again.
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
    /// The key set it was verified under.
    generation: u64,
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

/// Why a token was refused: its key is not (yet) known, or anything else.
enum Refusal {
    UnknownKid(String),
    Other(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Other(reason)
    }
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Refusal::Other(reason.into())
    }
}

impl Verifier {
    fn with_keys(keys: Keys, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            claims: ClaimMapping::default(),
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        }
    }

    /// Keys from a PEM public key (Ed25519 or RSA) or a JWKS file.
    pub fn from_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let keys = if text.trim_start().starts_with('{') {
            let set: JwkSet =
                serde_json::from_str(&text).map_err(|e| KeyError::Invalid(format!("JWKS: {e}")))?;
            super::jwks::keys_of(&set)?
        } else if let Ok(key) = DecodingKey::from_ed_pem(text.as_bytes()) {
            vec![Key {
                alg: Algorithm::EdDSA,
                kid: None,
                key,
            }]
        } else {
            let key = DecodingKey::from_rsa_pem(text.as_bytes()).map_err(|e| {
                KeyError::Invalid(format!(
                    "{}: not an Ed25519 or RSA public key: {e}",
                    path.display()
                ))
            })?;
            vec![Key {
                alg: Algorithm::RS256,
                kid: None,
                key,
            }]
        };
        if keys.is_empty() {
            return Err(KeyError::Invalid(format!(
                "{}: no signing keys",
                path.display()
            )));
        }
        Ok(Self::with_keys(
            Keys::Fixed(Arc::new(KeySet::fixed(keys))),
            issuer,
            audience,
        ))
    }

    /// Keys the identity provider publishes (see [`RemoteKeys`]).
    pub fn from_provider(keys: Arc<RemoteKeys>, issuer: &str, audience: &str) -> Self {
        Self::with_keys(Keys::Remote(keys), issuer, audience)
    }

    /// How far `exp`, `nbf` and `iat` may be off the server's clock.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Which claims name the caller's authority, role and schools.
    pub fn with_claims(mut self, claims: ClaimMapping) -> Self {
        self.claims = claims;
        self
    }

    /// The caller a bearer token proves, or why not (kept from the client).
    /// A token naming a key the provider's set does not hold has the set
    /// fetched again (at most once per interval) before it is refused.
    pub async fn verify(&self, token: &str) -> Result<Caller, String> {
        let keys = self.keys.current();
        if let Some(known) = self.remembered(token, &keys)? {
            return Ok(known);
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
        match self.verify_with(&keys, token, &header) {
            Ok(caller) => Ok(caller),
            Err(Refusal::Other(reason)) => Err(reason),
            Err(Refusal::UnknownKid(reason)) => match &self.keys {
                Keys::Fixed(_) => Err(reason),
                Keys::Remote(remote) => {
                    let keys = remote.refresh_for_unknown_kid().await;
                    self.verify_with(&keys, token, &header)
                        .map_err(|r| match r {
                            Refusal::UnknownKid(reason) | Refusal::Other(reason) => reason,
                        })
                }
            },
        }
    }

    /// The caller of a token accepted before under these keys, if still in
    /// its times.
    fn remembered(&self, token: &str, keys: &KeySet) -> Result<Option<Caller>, String> {
        match self.verified.get(token) {
            Some(known) if known.generation == keys.generation => {
                let now = SystemClock.now().timestamp();
                known.check_times(now, self.leeway.as_secs() as i64)?;
                Ok(Some(known.caller))
            }
            _ => Ok(None),
        }
    }

    fn verify_with(&self, keys: &KeySet, token: &str, header: &Header) -> Result<Caller, Refusal> {
        if let Some(kid) = &header.kid
            && !keys.has_kid(kid)
        {
            return Err(Refusal::UnknownKid(format!("no key {kid:?}")));
        }
        let mut last_error = "no key for this token".to_string();
        for Key { alg, kid, key } in keys.keys.iter().filter(|k| {
            k.alg == header.alg && (header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
        }) {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.validate_nbf = true;
            validation.leeway = self.leeway.as_secs();
            match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                token,
                key,
                &validation,
            ) {
                Ok(data) => {
                    let time = |name: &str| data.claims.get(name).and_then(|v| v.as_i64());
                    let exp = time("exp").ok_or("exp is not a whole number of seconds")?;
                    let iat = time("iat").ok_or("no iat (whole seconds)")?;
                    let nbf = time("nbf");
                    self.check_issued_at(iat)?;
                    let caller = self.claims.caller(&data.claims)?;
                    let known = Verified {
                        caller: caller.clone(),
                        exp,
                        nbf,
                        generation: keys.generation,
                    };
                    self.verified.insert(token.to_string(), known);
                    return Ok(caller);
                }
                Err(e) => last_error = format!("{e} (kid {kid:?})"),
            }
        }
        Err(Refusal::Other(last_error))
    }

    /// A token issued in the future (beyond the leeway) is refused: jsonwebtoken
    /// checks `exp` and `nbf` but not `iat`.
    fn check_issued_at(&self, iat: i64) -> Result<(), String> {
        let now = SystemClock.now().timestamp();
        let latest = now.saturating_add(self.leeway.as_secs() as i64);
        if iat > latest {
            return Err(format!("issued in the future (iat {iat}, now {now})"));
        }
        Ok(())
    }

    /// The caller an `authorization: Bearer` header proves, or UNAUTHENTICATED.
    pub async fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, Status> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
        match self.verify(token).await {
            Ok(mut caller) => {
                // Per call (a verified token is cached): recorded on the
                // access log, never logged.
                caller.purpose = Purpose::read(
                    headers
                        .get(access_log::PURPOSE_HEADER)
                        .map(|v| v.as_bytes()),
                );
                tracing::Span::current().record("authority", caller.authority.as_str());
                Ok(caller)
            }
            Err(reason) => {
                // Operators see why; callers learn only that the token was refused.
                tracing::info!(%reason, "token refused");
                Err(Status::unauthenticated("the bearer token is not valid"))
            }
        }
    }
}

/// A service with the bearer-token check in front: the verified [`Caller`]
/// goes on the request's extensions, where [`crate::api::caller::identify`]
/// finds it; a call without a valid token is answered UNAUTHENTICATED and
/// never reaches the service. (tonic's interceptors cannot wait, and a token
/// naming a new key waits for the provider's keys.)
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S> Authenticated<S> {
    pub fn new(inner: S, verifier: Arc<Verifier>) -> Self {
        Self { inner, verifier }
    }
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service made ready is the one that takes the call.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verifier.authenticate(request.headers()).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
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
            getrandom::fill(&mut seed)
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
        let keys = KeySet::fixed(vec![Key {
            alg: Algorithm::EdDSA,
            kid: None,
            key,
        }]);
        Verifier::with_keys(Keys::Fixed(Arc::new(keys)), issuer, audience)
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
    getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
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

    #[tokio::test]
    async fn keys_load_from_a_pem_file_and_from_a_jwks_file() {
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
            .await
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
        assert!(verifier.verify(&token(&key, "iss")).await.is_ok());
        assert!(
            verifier.verify(&token(&key, "other")).await.is_err(),
            "issuer checked"
        );

        fs::write(&jwks, "not a key").unwrap();
        assert!(Verifier::from_file(&jwks, "iss", "aud").is_err());
    }

    #[tokio::test]
    async fn not_yet_valid_future_issued_and_critical_tokens_are_refused() {
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
        assert!(verifier.verify(&with(Some(now - 60), now)).await.is_ok());
        assert!(
            verifier.verify(&with(Some(now + 10), now)).await.is_ok(),
            "within the leeway"
        );
        let err = verifier
            .verify(&with(Some(now + 3600), now))
            .await
            .unwrap_err();
        assert!(err.contains("ImmatureSignature"), "{err}");
        let err = verifier.verify(&with(None, now + 3600)).await.unwrap_err();
        assert!(err.contains("issued in the future"), "{err}");
        let strict = key.verifier("iss", "aud").with_leeway(Duration::ZERO);
        assert!(
            strict.verify(&with(Some(now + 10), now)).await.is_err(),
            "no leeway"
        );
        assert!(
            strict.verify(&with(None, now + 10)).await.is_err(),
            "no leeway"
        );

        let mut header = Header::new(Algorithm::EdDSA);
        header.crit = Some(vec!["exp-ext".into()]);
        header.extras.insert("exp-ext", true);
        let err = verifier
            .verify(&key.sign_with_header(&header, &base))
            .await
            .unwrap_err();
        assert!(err.contains("critical"), "{err}");
        // `"crit": null` reads as no crit through `Header`; it is refused too.
        let mut header = Header::new(Algorithm::EdDSA);
        header.extras.insert("crit", serde_json::Value::Null);
        let token = key.sign_with_header(&header, &base);
        assert!(jsonwebtoken::decode_header(&token).unwrap().crit.is_none());
        assert!(verifier.verify(&token).await.is_err(), "a null crit");
    }

    /// An accepted token is remembered, and a remembered one is still held to
    /// its times: it stops working when it expires as an unseen one would.
    #[tokio::test]
    async fn a_remembered_token_proves_the_same_caller_and_still_expires() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let verifier = key.verifier("iss", "aud");
        let good = token(&key, "iss");
        let first = verifier.verify(&good).await.unwrap();
        assert_eq!(verifier.verified.len(), 1);
        assert_eq!(verifier.verify(&good).await.unwrap(), first);
        // A token differing in one character is not the remembered one.
        let at = good.len() - 10; // inside the signature, clear of its padding bits
        let swapped = if &good[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &good[..at], &good[at + 1..]);
        assert!(verifier.verify(&forged).await.is_err());
        assert!(
            verifier
                .verify(&token(&key, "another issuer"))
                .await
                .is_err()
        );
        assert_eq!(verifier.verified.len(), 1, "only accepted tokens are kept");

        let known = Verified {
            caller: first,
            exp: 1_000,
            nbf: Some(500),
            generation: 0,
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
