//! Keys from the council's identity provider: a JWKS served over HTTP by a
//! local provider that rotates its keys while calls go on. A token signed by
//! a key the provider has just published is accepted without a restart; a
//! key the provider has removed stops working once the keys are fetched
//! again; a flood of made-up key ids costs the provider one request per
//! interval; and the provider's claims (Entra ID's `roles` and a custom
//! authority claim, Keycloak's client roles) are mapped to this service's.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::{EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lea_notices::api::layers::{
    auth::{ClaimMapping, Verifier},
    jwks::{RemoteKeys, Source},
};
use lea_notices::proto::v1 as pb;
use serde_json::{Value, json};
use tonic::Code;

use crate::child::ChildServer;
use crate::helpers::policy::{create, local_version};
use crate::helpers::{AUDIENCE, As, ISSUER, on_both_backends};

/// A provider's key: its id, and what signs with it.
#[derive(Clone)]
struct ProviderKey {
    kid: String,
    public: String,
    signing: EncodingKey,
}

impl ProviderKey {
    fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            kid: kid.into(),
            public: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            signing: EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
        }
    }

    /// A token with `claims` (and the times and names every token needs).
    fn sign(&self, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut all = json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600});
        all.as_object_mut()
            .unwrap()
            .extend(claims.as_object().unwrap().clone());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &all, &self.signing).unwrap()
    }

    /// A token in this service's own claims.
    fn token(&self, subject: &str, role: &str) -> String {
        self.sign(json!({"sub": subject, "la": "850", "role": role}))
    }
}

/// The identity provider: its JWKS on a local HTTP port, what it publishes
/// changed by the test, every request for it counted.
struct Provider {
    url: String,
    published: Arc<Mutex<Vec<ProviderKey>>>,
    requests: Arc<AtomicU64>,
}

impl Provider {
    async fn start(keys: &[&ProviderKey]) -> Provider {
        let published: Arc<Mutex<Vec<ProviderKey>>> =
            Arc::new(Mutex::new(keys.iter().map(|k| (*k).clone()).collect()));
        let requests = Arc::new(AtomicU64::new(0));
        let (keys, count) = (published.clone(), requests.clone());
        let app = axum::Router::new().route(
            "/keys",
            axum::routing::get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let set: Vec<Value> = keys
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|k: &ProviderKey| {
                        json!({"kty": "OKP", "crv": "Ed25519", "x": k.public, "kid": k.kid,
                               "alg": "EdDSA", "use": "sig"})
                    })
                    .collect();
                let body = json!({"keys": set}).to_string();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let url = format!("{base}/keys");
        // OpenID Connect discovery: the issuer is the provider's base URL.
        let discovery = json!({"issuer": base, "jwks_uri": url}).to_string();
        let app = app.route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let body = discovery.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Provider {
            url,
            published,
            requests,
        }
    }

    fn publish(&self, keys: &[&ProviderKey]) {
        *self.published.lock().unwrap() = keys.iter().map(|k| (*k).clone()).collect();
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// A verifier of this provider's tokens: unknown key ids fetch the keys
    /// again at most once per `min_refetch`.
    async fn verifier(&self, min_refetch: Duration) -> (Arc<RemoteKeys>, Verifier) {
        let keys = RemoteKeys::new(Source::jwks(&self.url).unwrap(), ISSUER, min_refetch).await;
        let verifier = Verifier::from_provider(keys.clone(), ISSUER, AUDIENCE);
        (keys, verifier)
    }
}

async fn get_policy(who: &As) -> Result<(), tonic::Status> {
    who.policy()
        .get_policy(pb::GetPolicyRequest {
            parent: "authorities/850".into(),
            date: crate::helpers::date(2025, 9, 1),
        })
        .await
        .map(|_| ())
}

on_both_backends! {
    async fn keys_rotate_at_the_provider_while_calls_go_on(app) {
        let k1 = ProviderKey::new("k1");
        let provider = Provider::start(&[&k1]).await;
        let (_, verifier) = provider.verifier(Duration::ZERO).await;
        let server = app.replica_verifying_with(Arc::new(verifier)).await;
        let old_token = k1.token("officer.jones", "la_officer");
        get_policy(&As::new(server.channel.clone(), &old_token)).await.unwrap();

        // Calls in a loop, each with a fresh token from the key the provider
        // signs with now: none may fail while the keys rotate under them.
        let signer = Arc::new(Mutex::new(k1.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let calls = {
            let (signer, stop, channel) = (signer.clone(), stop.clone(), server.channel.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, Vec::new());
                while !stop.load(Ordering::SeqCst) || ok == 0 {
                    let token = signer.lock().unwrap().token(&format!("officer.{ok}"), "la_officer");
                    match get_policy(&As::new(channel.clone(), &token)).await {
                        Ok(()) => ok += 1,
                        Err(status) => failed.push(status),
                    }
                }
                (ok, failed)
            })
        };
        let k2 = ProviderKey::new("k2");
        let k3 = ProviderKey::new("k3");
        let settle = || tokio::time::sleep(Duration::from_millis(50));
        // The provider publishes k2 beside k1, then signs with it.
        provider.publish(&[&k1, &k2]);
        settle().await;
        *signer.lock().unwrap() = k2.clone();
        settle().await;
        // It drops k1, and later brings in k3 and signs with that.
        provider.publish(&[&k2]);
        settle().await;
        provider.publish(&[&k2, &k3]);
        *signer.lock().unwrap() = k3.clone();
        settle().await;
        stop.store(true, Ordering::SeqCst);
        let (ok, failed) = calls.await.unwrap();
        assert!(failed.is_empty(), "{} of {} calls failed: {:?}", failed.len(), ok + failed.len() as u64, failed.first());

        // k3's first token has the keys fetched again (the loop's, or this one
        // if the loop made none): k1 has gone, and a token of k1's accepted
        // before is refused now, as is a new one.
        get_policy(&As::new(server.channel.clone(), &k3.token("officer.k3", "la_officer"))).await.unwrap();
        let refused = get_policy(&As::new(server.channel.clone(), &old_token)).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        let new_k1 = k1.token("officer.late", "la_officer");
        let refused = get_policy(&As::new(server.channel.clone(), &new_k1)).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        // k2, still published, goes on working; and a write by a k3 token
        // lands in the store as any other caller's.
        get_policy(&As::new(server.channel.clone(), &k2.token("officer.k2", "la_officer"))).await.unwrap();
        let admin = As::new(server.channel.clone(), &k3.token("admin.k3", "admin"));
        admin.policy().create_policy_version(create("authorities/850", "idp-1", local_version(2025, 9, 1))).await.unwrap();
    }

    async fn claims_of_entra_id_and_keycloak_map_to_authority_and_role(app) {
        let key = ProviderKey::new("entra-1");
        let provider = Provider::start(&[&key]).await;

        // Entra ID: app roles in `roles`, the authority in a custom claim.
        let entra = ClaimMapping::new(
            "extension_laCode",
            None,
            "roles",
            &BTreeMap::from([
                ("Attendance.Admin".to_string(), "admin".to_string()),
                ("Attendance.Officer".to_string(), "la_officer".to_string()),
            ]),
            "schools",
        )
        .unwrap();
        let (_, verifier) = provider.verifier(Duration::ZERO).await;
        let server = app.replica_verifying_with(Arc::new(verifier.with_claims(entra))).await;
        let as_entra = |roles: Value| {
            As::new(server.channel.clone(), &key.sign(json!({
                "sub": "3bL1o-entra-pairwise", "oid": "0000-1111", "tid": "tenant",
                "extension_laCode": "850", "roles": roles, "groups": ["g-1"]})))
        };
        let admin = as_entra(json!(["Attendance.Admin", "Unrelated.Role"]));
        admin.policy().create_policy_version(create("authorities/850", "entra-1", local_version(2025, 9, 1))).await.unwrap();
        let officer = as_entra(json!(["Attendance.Officer"]));
        get_policy(&officer).await.unwrap();
        let denied = officer.policy().create_policy_version(create("authorities/850", "entra-2", local_version(2025, 10, 1))).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "an officer changes no policy: {denied:?}");
        let nothing = get_policy(&as_entra(json!(["Unrelated.Role"]))).await.unwrap_err();
        assert_eq!(nothing.code(), Code::Unauthenticated, "no role here: {nothing:?}");
        // The service's own claim names mean nothing to this mapping.
        let ours = get_policy(&As::new(server.channel.clone(), &key.token("x", "admin"))).await.unwrap_err();
        assert_eq!(ours.code(), Code::Unauthenticated);

        // Keycloak: client roles, one authority for the whole deployment.
        let keycloak = ClaimMapping::new(
            "la",
            Some("850"),
            "resource_access.lea-notices.roles",
            &BTreeMap::from([("attendance-auditor".to_string(), "auditor".to_string())]),
            "schools",
        )
        .unwrap();
        let (_, verifier) = provider.verifier(Duration::ZERO).await;
        let kc = app.replica_verifying_with(Arc::new(verifier.with_claims(keycloak))).await;
        let auditor = As::new(kc.channel.clone(), &key.sign(json!({
            "sub": "f:5d1:auditor", "typ": "Bearer", "azp": "lea-notices",
            "realm_access": {"roles": ["offline_access", "uma_authorization"]},
            "resource_access": {"lea-notices": {"roles": ["attendance-auditor"]},
                                "account": {"roles": ["manage-account"]}}})));
        let versions = auditor.policy().list_policy_versions(pb::ListPolicyVersionsRequest {
            parent: "authorities/850".into(), page_size: 50, ..Default::default()
        }).await.unwrap().into_inner().policy_versions;
        assert_eq!(versions.len(), 1, "the Entra admin's version, read by Keycloak's auditor");
        let denied = auditor.policy().create_policy_version(create("authorities/850", "kc-1", local_version(2025, 11, 1))).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
}

/// Made-up key ids, many at once: the provider is asked once per interval,
/// and the keys in force go on working.
#[tokio::test]
async fn a_flood_of_unknown_key_ids_asks_the_provider_once_per_interval() {
    let key = ProviderKey::new("real");
    let provider = Provider::start(&[&key]).await;
    let (_, verifier) = provider.verifier(Duration::from_secs(3600)).await;
    let verifier = Arc::new(verifier);
    assert_eq!(provider.requests(), 1, "the first fetch");
    let floods: Vec<_> = (0..200)
        .map(|n| {
            let (verifier, key) = (verifier.clone(), key.clone());
            tokio::spawn(async move {
                let mut forged = key.clone();
                forged.kid = format!("made-up-{n}");
                verifier.verify(&forged.token("x", "admin")).await
            })
        })
        .collect();
    for flood in floods {
        assert!(flood.await.unwrap().is_err());
    }
    assert_eq!(
        provider.requests(),
        1,
        "within the interval of the first fetch: none"
    );
    assert!(verifier.verify(&key.token("x", "admin")).await.is_ok());

    // With the interval passed, one more fetch, whatever the flood.
    let (_, eager) = provider.verifier(Duration::from_secs(1)).await;
    let eager = Arc::new(eager);
    let before = provider.requests();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let floods: Vec<_> = (0..50)
        .map(|n| {
            let (eager, key) = (eager.clone(), key.clone());
            tokio::spawn(async move {
                let mut forged = key.clone();
                forged.kid = format!("made-up-{n}");
                eager.verify(&forged.token("x", "admin")).await
            })
        })
        .collect();
    for flood in floods {
        assert!(flood.await.unwrap().is_err());
    }
    let asked = provider.requests() - before;
    assert!(
        (1..=2).contains(&asked),
        "{asked} requests for 50 unknown key ids"
    );
}

/// The schedule fetches the keys too: a key published between two rounds is
/// in force after the next, with no token asking for it.
#[tokio::test]
async fn the_keys_are_fetched_again_on_a_schedule() {
    let first = ProviderKey::new("first");
    let provider = Provider::start(&[&first]).await;
    // Unknown key ids never fetch here: only the schedule can.
    let (keys, verifier) = provider.verifier(Duration::from_secs(3600)).await;
    let refresher = keys.keep_fresh(Duration::from_millis(50));
    let next = ProviderKey::new("next");
    assert!(verifier.verify(&next.token("x", "admin")).await.is_err());
    provider.publish(&[&first, &next]);
    let mut fetched = false;
    for _ in 0..200 {
        if keys.current().has_kid("next") {
            fetched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        fetched,
        "the schedule fetched the new key ({} requests)",
        provider.requests()
    );
    assert!(verifier.verify(&next.token("x", "admin")).await.is_ok());
    refresher.abort();
}

/// The binary as a council runs it: keys found by OpenID Connect discovery
/// from the issuer, Entra-style claims mapped by its settings, a key the
/// provider starts signing with accepted without a restart.
#[tokio::test]
async fn the_server_finds_the_providers_keys_by_discovery_and_maps_its_claims() {
    let k1 = ProviderKey::new("k1");
    let provider = Provider::start(&[&k1]).await;
    let issuer = provider.url.trim_end_matches("/keys").to_string();
    let server = ChildServer::spawn(
        lea_notices::store::Backend::Sqlite,
        &[
            ("LEA_NOTICES_JWT_OIDC_DISCOVERY", "true"),
            ("LEA_NOTICES_JWT_ISSUER", &issuer),
            ("LEA_NOTICES_JWT_AUTHORITY_CLAIM", "extension_laCode"),
            ("LEA_NOTICES_JWT_ROLE_CLAIM", "roles"),
            (
                "LEA_NOTICES_JWT_ROLE_MAP",
                "Attendance.Officer=la_officer, Attendance.Audit=auditor",
            ),
            ("LEA_NOTICES_JWT_JWKS_MIN_REFETCH_MS", "1000"),
        ],
    )
    .await;
    let token = |key: &ProviderKey| {
        key.sign(
            json!({"iss": issuer, "sub": "entra-sub", "extension_laCode": "850",
                        "roles": ["Attendance.Officer"]}),
        )
    };
    let channel = server.channel().await;
    get_policy(&As::new(channel.clone(), &token(&k1)))
        .await
        .unwrap();
    // This service's own claims mean nothing to the mapping.
    let ours = get_policy(&As::new(
        channel.clone(),
        &k1.sign(json!({"iss": issuer, "sub": "s", "la": "850", "role": "la_officer"})),
    ))
    .await
    .unwrap_err();
    assert_eq!(ours.code(), Code::Unauthenticated);
    // A new key: accepted once the server has fetched the keys again (no
    // sooner than a second after the last fetch).
    let k2 = ProviderKey::new("k2");
    provider.publish(&[&k1, &k2]);
    let mut answer = Err(tonic::Status::unknown("not asked"));
    for _ in 0..100 {
        answer = get_policy(&As::new(channel.clone(), &token(&k2))).await;
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answer.is_ok(), "{answer:?}\n{}", server.log());
}
