//! Token keys from the identity provider: its JWKS, fetched from a URL (or
//! found by OpenID Connect discovery from the issuer), kept in memory, and
//! fetched again on a schedule and when a token names a key (`kid`) the set
//! does not hold, at most once per interval, so a flood of made-up `kid`s
//! costs the provider one request per interval and this server nothing more.
//!
//! Plain HTTP only to a loopback address (a local provider, tests): a key
//! fetched over an unprotected network would let anyone on it sign tokens.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::auth::KeyError;

/// One verification key.
#[derive(Clone)]
pub struct Key {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub key: DecodingKey,
}

/// The keys in force, and which set they are: a token remembered as verified
/// under another generation is verified again (its key may have gone).
#[derive(Clone)]
pub struct KeySet {
    pub keys: Vec<Key>,
    pub generation: u64,
    /// The JWKS as fetched: a fetch that finds the same keys changes nothing.
    fingerprint: Option<serde_json::Value>,
}

impl KeySet {
    pub fn fixed(keys: Vec<Key>) -> Self {
        Self {
            keys,
            generation: 0,
            fingerprint: None,
        }
    }

    /// Whether the set holds a key named `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// The signing keys of a JWKS: every key for signatures of a kind this server
/// verifies (Ed25519, RSA, ECDSA P-256 and P-384); encryption keys and others
/// are left out.
pub fn keys_of(set: &JwkSet) -> Result<Vec<Key>, KeyError> {
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let Some(alg) = algorithm_of(jwk) else {
            continue;
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Invalid(format!("JWK: {e}")))?;
        keys.push(Key {
            alg,
            kid: jwk.common.key_id.clone(),
            key,
        });
    }
    Ok(keys)
}

/// The algorithm a JWK's signatures use: its `alg` when it gives one this
/// server verifies, else the usual one of its key type.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let named = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
        Some(KeyAlgorithm::PS384) => Some(Algorithm::PS384),
        Some(KeyAlgorithm::PS512) => Some(Algorithm::PS512),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        // RSA-OAEP and the like: not for signatures.
        Some(_) => return None,
    };
    let usual = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        // Shared secrets (oct) are never a provider's public keys.
        _ => return None,
    };
    Some(named.unwrap_or(usual))
}

/// Where the JWKS is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The JWKS's own URL (`jwks_uri`).
    Jwks(http::Uri),
    /// The issuer: its `/.well-known/openid-configuration` names the JWKS.
    Discovery(http::Uri),
}

impl Source {
    /// `jwks_url`, checked: https, or http to a loopback address.
    pub fn jwks(url: &str) -> Result<Self, KeyError> {
        Ok(Self::Jwks(checked_uri(url)?))
    }

    /// Discovery from `issuer` (as tokens carry it in `iss`).
    pub fn discovery(issuer: &str) -> Result<Self, KeyError> {
        let base = issuer.trim_end_matches('/');
        checked_uri(base)?;
        Ok(Self::Discovery(checked_uri(&format!(
            "{base}/.well-known/openid-configuration"
        ))?))
    }
}

fn checked_uri(url: &str) -> Result<http::Uri, KeyError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| KeyError::Invalid(format!("{url}: {e}")))?;
    let host = uri
        .host()
        .ok_or_else(|| KeyError::Invalid(format!("{url}: no host")))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        _ => Err(KeyError::Invalid(format!(
            "{url}: token keys are fetched over https (http only from a loopback address)"
        ))),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The identity provider's keys, as last fetched.
pub struct RemoteKeys {
    source: Source,
    /// The issuer discovery must name (OpenID Connect Discovery §4.3).
    issuer: String,
    current: RwLock<Arc<KeySet>>,
    /// When the last fetch began; held while one is under way, so callers
    /// asking together share it.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// Least time between two fetches asked for by unknown `kid`s.
    min_interval: Duration,
    fetches: AtomicU64,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

/// The most a JWKS or discovery document may weigh.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// How long one request to the provider may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

impl RemoteKeys {
    /// Keys from `source`, fetched once now: a provider that does not answer
    /// leaves the set empty (every token refused) until a later fetch works.
    pub async fn new(source: Source, issuer: &str, min_interval: Duration) -> Arc<Self> {
        let remote = Arc::new(Self {
            source,
            issuer: issuer.into(),
            current: RwLock::new(Arc::new(KeySet::fixed(Vec::new()))),
            last_fetch: tokio::sync::Mutex::new(None),
            min_interval,
            fetches: AtomicU64::new(0),
            tls: Arc::new(tls_config()),
        });
        if let Err(e) = remote.refresh().await {
            tracing::warn!(error = %e, "token keys not fetched: every token is refused until they are");
        }
        remote
    }

    /// The keys in force.
    pub fn current(&self) -> Arc<KeySet> {
        self.current.read().expect("not poisoned").clone()
    }

    /// Requests made of the provider for its keys so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the keys now (the schedule), and installs them if they differ.
    pub async fn refresh(&self) -> Result<(), KeyError> {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_install().await
    }

    /// A token names a key the set does not hold: fetches the keys unless a
    /// fetch began less than the interval ago (then the set as it is).
    pub async fn refresh_for_unknown_kid(&self) -> Arc<KeySet> {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.min_interval) {
            return self.current();
        }
        *last = Some(Instant::now());
        if let Err(e) = self.fetch_and_install().await {
            tracing::warn!(error = %e, "fetching token keys");
        }
        self.current()
    }

    /// Fetches on `interval` (every few seconds while no key has been
    /// fetched yet), until the verifier holding these keys is dropped.
    pub fn keep_fresh(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let wait = match weak.upgrade() {
                    Some(keys) if keys.current().keys.is_empty() => interval.min(RETRY_EMPTY),
                    Some(_) => interval,
                    None => return,
                };
                tokio::time::sleep(wait).await;
                let Some(keys) = weak.upgrade() else { return };
                if let Err(e) = keys.refresh().await {
                    tracing::warn!(error = %e, "fetching token keys: keeping the ones in force");
                }
            }
        })
    }

    async fn fetch_and_install(&self) -> Result<(), KeyError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let jwks_uri = match &self.source {
            Source::Jwks(uri) => uri.clone(),
            Source::Discovery(uri) => {
                let document = get_json(uri, &self.tls).await?;
                let named = document.get("issuer").and_then(|v| v.as_str());
                if named.map(|n| n.trim_end_matches('/')) != Some(self.issuer.trim_end_matches('/'))
                {
                    return Err(KeyError::Invalid(format!(
                        "{uri}: names issuer {named:?}, not {:?}",
                        self.issuer
                    )));
                }
                let jwks = document
                    .get("jwks_uri")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| KeyError::Invalid(format!("{uri}: no jwks_uri")))?;
                checked_uri(jwks)?
            }
        };
        let document = get_json(&jwks_uri, &self.tls).await?;
        let set: JwkSet = serde_json::from_value(document.clone())
            .map_err(|e| KeyError::Invalid(format!("{jwks_uri}: JWKS: {e}")))?;
        let keys = keys_of(&set)?;
        if keys.is_empty() {
            return Err(KeyError::Invalid(format!("{jwks_uri}: no signing keys")));
        }
        let mut current = self.current.write().expect("not poisoned");
        if current.fingerprint.as_ref() == Some(&document) {
            return Ok(());
        }
        let kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        tracing::info!(keys = keys.len(), ?kids, "token keys installed");
        let generation = current.generation + 1;
        *current = Arc::new(KeySet {
            keys,
            generation,
            fingerprint: Some(document),
        });
        Ok(())
    }
}

/// How soon to try again while no key has been fetched.
const RETRY_EMPTY: Duration = Duration::from_secs(5);

/// TLS to the provider: the Mozilla roots (webpki-roots), on ring.
fn tls_config() -> tokio_rustls::rustls::ClientConfig {
    use tokio_rustls::rustls;
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// GETs `uri` and reads its body as JSON: 200 only, at most
/// [`MAX_DOCUMENT_BYTES`], within [`FETCH_TIMEOUT`].
async fn get_json(
    uri: &http::Uri,
    tls: &Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<serde_json::Value, KeyError> {
    let failed = |e: String| KeyError::Invalid(format!("{uri}: {e}"));
    let body = tokio::time::timeout(FETCH_TIMEOUT, async {
        let host = uri.host().ok_or("no host")?.to_string();
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = tokio::net::TcpStream::connect((
            host.trim_start_matches('[').trim_end_matches(']'),
            port,
        ))
        .await
        .map_err(|e| e.to_string())?;
        if https {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            get_over(stream, uri).await
        } else {
            get_over(tcp, uri).await
        }
    })
    .await
    .map_err(|_| failed(format!("no answer within {FETCH_TIMEOUT:?}")))?
    .map_err(failed)?;
    serde_json::from_slice(&body).map_err(|e| failed(format!("not JSON: {e}")))
}

async fn get_over<S>(stream: S, uri: &http::Uri) -> Result<Bytes, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    let connection = tokio::spawn(connection);
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "lea-notices")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != http::StatusCode::OK {
        connection.abort();
        return Err(format!("answered {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    connection.abort();
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fetched_over_https_or_from_this_machine_only() {
        assert!(Source::jwks("https://login.microsoftonline.com/t/discovery/v2.0/keys").is_ok());
        assert!(Source::jwks("http://127.0.0.1:8080/jwks").is_ok());
        assert!(Source::jwks("http://localhost/jwks").is_ok());
        assert!(Source::jwks("http://[::1]:9/jwks").is_ok());
        assert!(Source::jwks("http://idp.example.org/jwks").is_err());
        assert!(Source::jwks("ftp://idp.example.org/jwks").is_err());
        assert_eq!(
            Source::discovery("https://kc.example.org/realms/lea/").unwrap(),
            Source::Discovery(
                "https://kc.example.org/realms/lea/.well-known/openid-configuration"
                    .parse()
                    .unwrap()
            )
        );
    }

    #[test]
    fn encryption_keys_and_shared_secrets_are_left_out() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": "enc",
             "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
             "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "sig"}
        ]}))
        .unwrap();
        let keys = keys_of(&set).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].alg, keys[0].kid.as_deref()),
            (Algorithm::EdDSA, Some("sig"))
        );
    }
}
