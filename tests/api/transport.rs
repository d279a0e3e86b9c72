//! Transport security: TLS with a certificate from a test CA, and mutual TLS that
//! refuses a client without a certificate.

use std::{net::SocketAddr, sync::Arc};

use lea_notices::api::layers::auth::DevKey;
use lea_notices::store;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, ServerTlsConfig};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A test CA, a server certificate for `localhost` and a client certificate.
struct Pki {
    ca: String,
    server: Identity,
    client: Identity,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Identity::from_pem(cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca.pem(),
        server: leaf("localhost"),
        client: leaf("mis-connector.example"),
    }
}

/// A server with `tls` on a random port; the guards keep its files alive.
async fn spawn(tls: ServerTlsConfig) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = store::sqlite_url_in(dir.path()).unwrap();
    let store = store::connect(&url, 2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let verifier = Arc::new(
        DevKey::load_or_create(dir.path())
            .unwrap()
            .verifier("i", "a"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let application = lea_notices::server::Application::new(store, verifier).with_options(
        lea_notices::server::ServeOptions {
            tls: Some(tls),
            ..Default::default()
        },
    );
    tokio::spawn(application.serve(listener, std::future::pending()));
    (addr, dir)
}

async fn health(channel: Channel) -> Result<i32, tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|r| r.into_inner().status)
}

async fn connect(
    addr: SocketAddr,
    tls: Option<ClientTlsConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://{addr}")).unwrap();
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}

#[tokio::test]
async fn a_client_trusting_the_ca_connects_over_tls() {
    let pki = pki();
    let (addr, _guard) = spawn(ServerTlsConfig::new().identity(pki.server)).await;
    let trusting = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    let channel = connect(addr, Some(trusting)).await.expect("TLS handshake");
    assert_eq!(
        health(channel).await.unwrap(),
        ServingStatus::Serving as i32
    );

    // Plaintext gets nowhere, and neither does a client that does not trust the CA.
    let plain = match connect(addr, None).await {
        Ok(channel) => health(channel).await.is_err(),
        Err(_) => true,
    };
    assert!(plain, "a plaintext client was served");
    let untrusting = ClientTlsConfig::new().domain_name("localhost");
    let refused = match connect(addr, Some(untrusting)).await {
        Ok(channel) => health(channel).await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a client that does not trust the CA was served");
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate() {
    let pki = pki();
    let tls = ServerTlsConfig::new()
        .identity(pki.server)
        .client_ca_root(Certificate::from_pem(&pki.ca));
    let (addr, _guard) = spawn(tls).await;
    let base = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca))
            .domain_name("localhost")
    };

    let anonymous = match connect(addr, Some(base())).await {
        Ok(channel) => health(channel).await.is_err(),
        Err(_) => true,
    };
    assert!(anonymous, "a client without a certificate was served");

    let channel = connect(addr, Some(base().identity(pki.client)))
        .await
        .expect("mTLS handshake");
    assert_eq!(
        health(channel).await.unwrap(),
        ServingStatus::Serving as i32
    );
}
