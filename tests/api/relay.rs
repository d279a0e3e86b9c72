//! `lea-notices relay-events` (the real subcommand, as a process) against the
//! RabbitMQ on this machine: killed three times with SIGKILL while 1,000 events
//! are written, it leaves every event in the broker; a consumer that drops
//! repeated message ids sees each event exactly once, in sequence order, each
//! message the event's CloudEvent as WatchEvents sends it. On both backends:
//! the relay reads the database and keeps its cursor there.

use std::collections::HashSet;
use std::time::Duration;

use lea_notices::domain::actor::Role;

use crate::helpers::events::{Broker, caught_up, spawn_relay, unmatched_payment};
use crate::helpers::on_both_backends;

const EVENTS: usize = 1_000;
const WRITERS: usize = 4;
/// The relay is killed when this many events are written, each time once it
/// has published some of them.
const KILLS: [usize; 3] = [250, 500, 750];

on_both_backends! {
    async fn the_relay_killed_three_times_leaves_every_event_in_the_broker_once_in_order(app) {
        let broker = Broker::start().await;
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("relay.log");
        // Small rounds, so a kill lands between a publish and its cursor.
        let relay_args = ["--batch", "20", "--poll-ms", "50"];
        let mut relay = spawn_relay(&app, &broker.exchange, &log, &relay_args);

        // Writers pause at each kill point until the relay has been killed
        // and started again (`resume`), so each kill falls while writing.
        let (written_tx, written) = tokio::sync::watch::channel(0usize);
        let (resume_tx, resume) = tokio::sync::watch::channel(0usize);
        let writers = {
            let finance = app.as_role("850", Role::Finance);
            tokio::spawn(async move {
                let mut next = 0;
                while next < EVENTS {
                    // WRITERS payments at once.
                    let mut batch = tokio::task::JoinSet::new();
                    for i in next..(next + WRITERS).min(EVENTS) {
                        let mut payments = finance.payments();
                        batch.spawn(async move {
                            payments.record_payment(unmatched_payment(&format!("relay-{i}"))).await.unwrap();
                        });
                    }
                    while let Some(done) = batch.join_next().await {
                        done.unwrap();
                    }
                    next = (next + WRITERS).min(EVENTS);
                    written_tx.send_replace(next);
                    if let Some(k) = KILLS.iter().position(|&at| at == next) {
                        let mut resume = resume.clone();
                        resume.wait_for(|r| *r > k).await.unwrap();
                    }
                }
            })
        };
        for (k, at) in KILLS.into_iter().enumerate() {
            let mut w = written.clone();
            w.wait_for(|n| *n >= at).await.unwrap();
            // The relay is publishing what was written: some of it is in.
            let mut seen = broker.distinct.clone();
            let floor = at - 150;
            tokio::time::timeout(Duration::from_secs(120), seen.wait_for(|n| *n >= floor))
                .await
                .unwrap_or_else(|_| panic!("the relay published fewer than {floor} events:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()))
                .unwrap();
            relay.start_kill().unwrap();
            relay.wait().await.unwrap();
            relay = spawn_relay(&app, &broker.exchange, &log, &relay_args);
            resume_tx.send_replace(k + 1);
        }
        writers.await.unwrap();
        let mut seen = broker.distinct.clone();
        tokio::time::timeout(Duration::from_secs(120), seen.wait_for(|n| *n >= EVENTS))
            .await
            .unwrap_or_else(|_| panic!("the broker did not get every event:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()))
            .unwrap();
        relay.start_kill().unwrap();
        relay.wait().await.unwrap();

        // The feed as WatchEvents gives it: the events the relay must have published.
        let (feed, _) = caught_up(&app.as_role("850", Role::Auditor), "850", 0, &[]).await.unwrap();
        assert_eq!(feed.len(), EVENTS);
        let deliveries = broker.deliveries();
        let mut ids = HashSet::new();
        let first_seen: Vec<_> = deliveries.iter().filter(|d| ids.insert(d.message_id.clone())).collect();
        assert_eq!(first_seen.len(), EVENTS, "{} deliveries", deliveries.len());
        eprintln!("{} deliveries of {EVENTS} events (the rest published again after a kill)", deliveries.len());
        for (delivery, event) in first_seen.iter().zip(&feed) {
            assert_eq!(delivery.message_id, event.id, "in sequence order");
            assert_eq!(delivery.body, event.cloud_event_json, "the same CloudEvent as WatchEvents");
            assert_eq!(delivery.routing_key, event.r#type);
            assert_eq!(delivery.content_type, "application/cloudevents+json");
            assert_eq!(delivery.delivery_mode, 2, "persistent");
        }
        // A repeated id is a copy of the same message (published again after a kill).
        let by_id: std::collections::HashMap<&str, &str> =
            first_seen.iter().map(|d| (d.message_id.as_str(), d.body.as_str())).collect();
        for d in &deliveries {
            assert_eq!(by_id[d.message_id.as_str()], d.body);
        }
        broker.delete().await;
    }

    async fn the_relay_until_caught_up_publishes_the_log_and_stops(app) {
        crate::helpers::events::mixed_events(&app).await;
        let broker = Broker::start().await;
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("relay.log");
        let status = spawn_relay(&app, &broker.exchange, &log, &["--until-caught-up", "--authority", "850"])
            .wait()
            .await
            .unwrap();
        assert!(status.success(), "{}", std::fs::read_to_string(&log).unwrap_or_default());
        let (feed, _) = caught_up(&app.as_role("850", Role::Auditor), "850", 0, &[]).await.unwrap();
        let mut seen = broker.distinct.clone();
        tokio::time::timeout(Duration::from_secs(60), seen.wait_for(|n| *n >= feed.len()))
            .await
            .expect("every event delivered")
            .unwrap();
        let bodies: Vec<String> = broker.deliveries().into_iter().map(|d| d.body).collect();
        let expected: Vec<String> = feed.iter().map(|e| e.cloud_event_json.clone()).collect();
        assert_eq!(bodies, expected, "850's events once each, in order; none of 852's");
        // Run again: its cursor is stored, so nothing is published twice.
        let again = spawn_relay(&app, &broker.exchange, &log, &["--until-caught-up"])
            .wait()
            .await
            .unwrap();
        assert!(again.success());
        // 852's one event now comes; 850's do not again.
        let mut seen = broker.distinct.clone();
        tokio::time::timeout(Duration::from_secs(60), seen.wait_for(|n| *n > feed.len()))
            .await
            .expect("852's event delivered")
            .unwrap();
        let deliveries = broker.deliveries();
        assert_eq!(deliveries.len(), feed.len() + 1, "no event published twice");
        assert_eq!(deliveries.last().unwrap().message_id, "852-1");
        broker.delete().await;
    }
}
