//! The event feed: watching it, reading the audit log it must equal, and a mix
//! of mutations of every kind that feed it.

#![allow(dead_code)]

use std::collections::BTreeMap;

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::As;
use crate::helpers::TestApp;
use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, issue, withdraw};
use crate::helpers::payments::{pay, payment};
use crate::helpers::policy::{create, local_version};

/// Every event type starts with this.
pub(crate) const TYPE_PREFIX: &str = "uk.gov.lea-notices.v1.";

pub(crate) fn watch(parent: &str, start_after: i64, types: &[&str]) -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        parent: parent.into(),
        start_after,
        event_types: types.iter().map(|t| t.to_string()).collect(),
        stop_when_caught_up: false,
    }
}

/// The events after `start_after` up to the end of the log when the call
/// began (`stop_when_caught_up`), and the last cursor received.
pub(crate) async fn caught_up(
    who: &As,
    la: &str,
    start_after: i64,
    types: &[&str],
) -> Result<(Vec<pb::FeedEvent>, i64), tonic::Status> {
    let mut request = watch(&format!("authorities/{la}"), start_after, types);
    request.stop_when_caught_up = true;
    let mut stream = who.events().watch_events(request).await?.into_inner();
    let (mut events, mut cursor) = (Vec::new(), start_after);
    while let Some(response) = stream.message().await? {
        assert!(
            response.cursor >= cursor,
            "cursors never move back: {} after {cursor}",
            response.cursor
        );
        if let Some(last) = response.events.last() {
            assert!(
                last.sequence <= response.cursor,
                "a cursor covers its events"
            );
        }
        cursor = response.cursor;
        events.extend(response.events);
    }
    Ok((events, cursor))
}

/// The authority's whole audit log, oldest first (as an auditor lists it).
pub(crate) async fn audit_log(app: &TestApp, la: &str) -> Vec<pb::AuditEvent> {
    let auditor = app.as_role(la, Role::Auditor);
    audit_log_as(&auditor, la).await
}

/// As [`audit_log`], with `auditor`'s clients.
pub(crate) async fn audit_log_as(auditor: &As, la: &str) -> Vec<pb::AuditEvent> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = auditor
            .audit()
            .list_audit_events(pb::ListAuditEventsRequest {
                parent: format!("authorities/{la}"),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListAuditEvents")
            .into_inner();
        all.extend(page.audit_events);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Checks that `event` is the CloudEvent of audit event `audit`, attribute by
/// attribute and in its JSON.
pub(crate) fn assert_is_cloud_event_of(event: &pb::FeedEvent, audit: &pb::AuditEvent, la: &str) {
    assert_eq!(event.sequence, audit.event_id);
    assert_eq!(event.id, format!("{la}-{}", audit.event_id));
    assert_eq!(event.source, format!("/lea-notices/authorities/{la}"));
    assert_eq!(event.spec_version, "1.0");
    assert_eq!(event.r#type, format!("{TYPE_PREFIX}{}", audit.action));
    assert_eq!(event.subject, audit.resource);
    assert_eq!(event.time, audit.event_time);
    assert_eq!(event.data_content_type, "application/json");
    let data: serde_json::Value = serde_json::from_str(&event.data_json).unwrap();
    let details: serde_json::Value = serde_json::from_str(&audit.details_json).unwrap();
    assert_eq!(data["details"], details, "event {}", audit.event_id);
    assert_eq!(data["action"], audit.action);
    assert_eq!(data["resource"], audit.resource);
    assert_eq!(data["request_id"], audit.request_id);
    let actor = audit.actor.as_ref().unwrap();
    assert_eq!(data["actor"]["subject"], actor.subject);
    let whole: serde_json::Value = serde_json::from_str(&event.cloud_event_json).unwrap();
    assert_eq!(whole["specversion"], "1.0");
    assert_eq!(whole["id"], event.id);
    assert_eq!(whole["source"], event.source);
    assert_eq!(whole["type"], event.r#type);
    assert_eq!(whole["subject"], event.subject);
    assert_eq!(whole["datacontenttype"], "application/json");
    assert_eq!(whole["sequence"], format!("{:019}", event.sequence));
    assert_eq!(whole["data"], data);
    let time = event.time.unwrap();
    let time = chrono::DateTime::from_timestamp(time.seconds, time.nanos as u32).unwrap();
    assert_eq!(
        whole["time"],
        time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
}

/// Events by resource kind (the action's first word), counted.
pub(crate) fn kinds(events: &[pb::FeedEvent]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in events {
        let kind = e
            .r#type
            .strip_prefix(TYPE_PREFIX)
            .and_then(|a| a.split('.').next())
            .unwrap()
            .to_string();
        *out.entry(kind).or_default() += 1;
    }
    out
}

/// A policy version, a batch of marks, two penalty notices, a payment that
/// pays one of them, and a withdrawal of the other: events about policy,
/// attendance, notices and payments in authority 850, and one policy event
/// in 852.
pub(crate) async fn mixed_events(app: &TestApp) -> Vec<pb::Notice> {
    app.policy()
        .create_policy_version(create("authorities/850", "v", local_version(2024, 9, 1)))
        .await
        .unwrap();
    app.as_role("852", Role::Admin)
        .policy()
        .create_policy_version(create("authorities/852", "v", local_version(2024, 9, 1)))
        .await
        .unwrap();
    let officer = app.as_role("850", Role::LaOfficer);
    record(
        &officer,
        vec![batch("marks", week(SCHOOL, 1, d(2025, 1, 6), "G", &[0, 1]))],
    )
    .await
    .unwrap();
    let mut notices = Vec::new();
    for pupil in 1..=2 {
        let p = Penalty::holiday(pupil, &["mum"], d(2025, 1, 13), d(2025, 2, 3));
        notices.extend(issue(app, p.request(&format!("pn-{pupil}"))).await.unwrap());
    }
    pay(
        app,
        payment(
            "850",
            "p1",
            8_000,
            d(2025, 2, 10),
            "",
            &[(&notices[0].name, 8_000)],
        ),
    )
    .await;
    officer
        .notices()
        .withdraw_notice(withdraw(&notices[1].name, "w"))
        .await
        .unwrap();
    notices
}

/// A payment quoting no notice: one `payment.recorded` event, and the same
/// provider id sent again changes nothing.
pub(crate) fn unmatched_payment(provider_id: &str) -> pb::RecordPaymentRequest {
    payment(
        "850",
        provider_id,
        1_000,
        d(2025, 2, 10),
        "no reference",
        &[],
    )
}

/// RabbitMQ as the relay's tests see it: an exchange and a queue bound to it
/// with `#`, both named for the one test, and what a consumer received.
pub(crate) struct Broker {
    pub(crate) exchange: String,
    pub(crate) queue: String,
    channel: lapin::Channel,
    connection: lapin::Connection,
    /// Every delivery, in the order received.
    pub(crate) received: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    /// The number of distinct message ids received so far.
    pub(crate) distinct: tokio::sync::watch::Receiver<usize>,
}

/// One delivery: what a consumer reads of it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) message_id: String,
    pub(crate) routing_key: String,
    pub(crate) content_type: String,
    pub(crate) delivery_mode: u8,
    pub(crate) body: String,
}

/// The broker the relay tests use (RabbitMQ on this machine, guest/guest).
pub(crate) const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

impl Broker {
    /// Declares the test's exchange (durable topic, as the relay does) and
    /// queue, binds them and starts consuming. RabbitMQ must be running.
    pub(crate) async fn start() -> Broker {
        use lapin::options::{
            BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
        };
        use lapin::types::FieldTable;
        use tokio_stream::StreamExt;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (exchange, queue) = (
            format!("lea-notices.test-events.{id}"),
            format!("lea-notices.test-consumer.{id}"),
        );
        let connection = lapin::Connection::connect(AMQP_URL, Default::default())
            .await
            .unwrap_or_else(|e| panic!("RabbitMQ at 127.0.0.1:5672 is required: {e}"));
        let channel = connection.create_channel().await.unwrap();
        channel
            .exchange_declare(
                exchange.as_str().into(),
                lapin::ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                format!("consumer-{id}").into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, distinct) = tokio::sync::watch::channel(0usize);
        let into = received.clone();
        tokio::spawn(async move {
            let mut ids = std::collections::HashSet::new();
            while let Some(Ok(delivery)) = consumer.next().await {
                let p = &delivery.properties;
                let message_id = p
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                ids.insert(message_id.clone());
                into.lock().unwrap().push(Received {
                    message_id,
                    routing_key: delivery.routing_key.to_string(),
                    content_type: p
                        .content_type()
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    delivery_mode: p.delivery_mode().unwrap_or(0),
                    body: String::from_utf8(delivery.data.clone()).unwrap(),
                });
                count.send_replace(ids.len());
            }
        });
        Broker {
            exchange,
            queue,
            channel,
            connection,
            received,
            distinct,
        }
    }

    /// The deliveries so far.
    pub(crate) fn deliveries(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Deletes the test's queue and exchange.
    pub(crate) async fn delete(self) {
        use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
        self.channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .unwrap();
        self.channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await
            .unwrap();
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// `lea-notices relay-events` on `app`'s database, publishing to `exchange`,
/// its log in `log`.
pub(crate) fn spawn_relay(
    app: &TestApp,
    exchange: &str,
    log: &std::path::Path,
    extra: &[&str],
) -> tokio::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .args([
            "relay-events",
            "--amqp-url",
            AMQP_URL,
            "--exchange",
            exchange,
            "--relay-name",
            "test",
        ])
        .args(extra)
        .env("DATABASE_URL", app.service_url())
        .env_remove("LEA_NOTICES_DATABASE_URL")
        .env_remove("LEA_NOTICES_CONFIG")
        .env_remove("LEA_NOTICES_AMQP_URL")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start lea-notices relay-events")
}

/// A transaction behind the service's back (as the tables' owner) that has
/// taken authority 850's next event id the way the store does at commit
/// (moving the chain head on, which locks it) and written its event, but not
/// committed: a unit of work that got its id first and commits last.
pub(crate) enum LateAppend {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl LateAppend {
    pub(crate) async fn begin(app: &TestApp) -> (LateAppend, i64) {
        use sqlx::Connection;
        const MOVE_HEAD: &str = "UPDATE audit_chain_heads SET last_event_id = last_event_id + 1 \
             WHERE authority_code = '850' RETURNING last_event_id";
        const INSERT: &str = "INSERT INTO audit_events (authority_code, event_id, occurred_at, \
             actor_subject, actor_role, action, resource, request_id, details) \
             VALUES ('850', $1, '2027-01-04T12:00:00+00:00', 'late.officer', 'la_officer', \
             'notice.late_commit', 'authorities/850/notices/850-2027-999999', 'late', '{}')";
        match app.backend {
            lea_notices::store::Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(app.database_url())
                    .await
                    .unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                let id: i64 = sqlx::query_scalar(MOVE_HEAD)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                sqlx::query(INSERT).bind(id).execute(&mut c).await.unwrap();
                (LateAppend::Sqlite(c), id)
            }
            lea_notices::store::Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(app.database_url())
                    .await
                    .unwrap();
                sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
                let id: i64 = sqlx::query_scalar(MOVE_HEAD)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                sqlx::query(INSERT).bind(id).execute(&mut c).await.unwrap();
                (LateAppend::Postgres(c), id)
            }
        }
    }

    pub(crate) async fn commit(self) {
        match self {
            LateAppend::Sqlite(mut c) => {
                sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
            }
            LateAppend::Postgres(mut c) => {
                sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
            }
        }
    }
}
