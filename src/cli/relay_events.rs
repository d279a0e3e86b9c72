//! `relay-events`: publishes every authority's event feed to a RabbitMQ
//! exchange (AMQP 0-9-1), the same CloudEvents JSON `WatchEvents` sends
//! (`domain::events`), resuming from the last sequence the broker confirmed.
//!
//! It reads the database directly, as `verify-audit` does (an operator's
//! process, no token to expire), and keeps its cursor there too
//! (`relay_cursors`, one row per relay name and authority): next to the events
//! it counts, in the database that is already backed up, with no file to lose.
//!
//! One round per authority with events it has not published: read up to
//! `--batch` events after its cursor (up to the chain head, see `app::events`),
//! publish them in order on a channel in confirm mode (persistent messages on a
//! durable topic exchange, routing key the event type, message id the event
//! id, structured content mode), wait until the broker has confirmed every one,
//! and only then move the cursor on. Killed at any moment it starts again from
//! the cursor: the events published since are published again (at least once,
//! never out of order; consumers deduplicate by message id). A nack, a broker
//! or database error ends the round, and the relay connects again and resumes
//! from the stored cursors.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::connect::{ConfigArgs, open_store, start_telemetry};
use crate::app::App;
use crate::app::clock::SystemClock;
use crate::domain::events::FeedEvent;
use crate::domain::identifiers::LaCode;

/// After a round that read no full page (it caught up with a trickle of
/// events), the relay waits this long (or `--poll-ms`, if shorter) before the
/// next. Going round at once published a steady write load's events a few at
/// a time, each round two reads, a cursor written and committed, and a wait
/// for the broker's confirms; now at most ten such rounds a second (its effect
/// on the writers was within the bench's noise: BENCHMARKS.md, session 17).
pub const GATHER: Duration = Duration::from_millis(100);

/// The content type of a CloudEvent in structured mode, JSON format.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";

#[derive(clap::Args)]
pub struct Args {
    /// The broker (amqp:// or amqps://; the password is never logged).
    #[arg(
        long,
        env = "LEA_NOTICES_AMQP_URL",
        hide_env_values = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// The durable topic exchange the events are published to (declared if
    /// missing).
    #[arg(long, default_value = "lea-notices.events")]
    exchange: String,
    /// The name its cursors are kept under: two relays to two brokers need
    /// two names.
    #[arg(long, default_value = "rabbitmq")]
    relay_name: String,
    /// Only these authorities (LA codes; repeat the flag); default every
    /// authority with events.
    #[arg(long = "authority", value_name = "LA_CODE")]
    authorities: Vec<String>,
    /// Events published per round (each round waits for its confirms, then
    /// stores the cursor).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(i64).range(1..=5000))]
    batch: i64,
    /// Milliseconds between two looks at the database once every event is
    /// published.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    poll_ms: u64,
    /// Exit once every event committed so far is published and confirmed,
    /// instead of following new ones.
    #[arg(long)]
    until_caught_up: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    let only: BTreeSet<LaCode> = args
        .authorities
        .iter()
        .map(|la| LaCode::parse(la).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let store = open_store(&config).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let relay = Relay {
        app,
        args: &args,
        only,
    };
    let result = tokio::select! {
        result = relay.run() => result,
        () = super::serve::shutdown_signal() => Ok(()),
    };
    store.close().await;
    telemetry.shutdown().await;
    result
}

struct Relay<'a> {
    app: App,
    args: &'a Args,
    only: BTreeSet<LaCode>,
}

impl Relay<'_> {
    /// Relays until stopped (or caught up, with `--until-caught-up`),
    /// connecting again after each failure.
    async fn run(&self) -> anyhow::Result<()> {
        let mut failures = 0u32;
        loop {
            match self.connected().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    failures += 1;
                    let wait = Duration::from_millis(250 * u64::from(failures.min(20)));
                    tracing::warn!(
                        error = %format!("{e:#}"),
                        ?wait,
                        "relay interrupted: resuming from the stored cursors"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One connection to the broker: rounds until caught up (with
    /// `--until-caught-up`) or an error.
    async fn connected(&self) -> anyhow::Result<()> {
        let connection = Connection::connect(&self.args.amqp_url, ConnectionProperties::default())
            .await
            .context("connecting to the broker")?;
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                self.args.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("declaring exchange {}", self.args.exchange))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        tracing::info!(exchange = %self.args.exchange, relay = %self.args.relay_name, "relaying events");
        // Read from the database on (re)connecting, then kept here: only this
        // relay moves them.
        let mut cursors: HashMap<LaCode, i64> = HashMap::new();
        loop {
            let (mut moved, mut full) = (false, false);
            for (authority, head) in self.app.event_heads().await? {
                if !self.only.is_empty() && !self.only.contains(&authority) {
                    continue;
                }
                let cursor = match cursors.get(&authority) {
                    Some(c) => *c,
                    None => {
                        let c = self
                            .app
                            .relay_cursor(self.args.relay_name.clone(), authority.clone())
                            .await?;
                        cursors.insert(authority.clone(), c);
                        c
                    }
                };
                if head <= cursor {
                    continue;
                }
                let page = self
                    .app
                    .relay_events_page(authority.clone(), cursor, self.args.batch)
                    .await?;
                full |= page.cursor < page.head;
                publish(&channel, &self.args.exchange, &page.events).await?;
                self.app
                    .set_relay_cursor(self.args.relay_name.clone(), authority.clone(), page.cursor)
                    .await?;
                tracing::info!(
                    authority = %authority,
                    published = page.events.len(),
                    cursor = page.cursor,
                    "events confirmed"
                );
                cursors.insert(authority, page.cursor);
                moved = true;
            }
            let poll = Duration::from_millis(self.args.poll_ms);
            if !moved {
                if self.args.until_caught_up {
                    let _ = connection.close(200, "caught up".into()).await;
                    return Ok(());
                }
                tokio::time::sleep(poll).await;
            } else if !full {
                tokio::time::sleep(GATHER.min(poll)).await;
            }
        }
    }
}

/// The AMQP message of `event`: persistent, its id the message id, its type the
/// routing key and the message type, the whole CloudEvent as the body
/// (structured content mode).
pub fn message_properties(event: &FeedEvent) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(CONTENT_TYPE.into())
        .with_message_id(event.id().into())
        .with_type(event.event_type().into())
        .with_timestamp(u64::try_from(event.time.timestamp()).unwrap_or(0))
        .with_app_id("lea-notices".into())
}

/// Publishes `events` in order and waits until the broker has confirmed every
/// one; a nack is an error (the round is not counted, and is published again).
async fn publish(channel: &Channel, exchange: &str, events: &[FeedEvent]) -> anyhow::Result<()> {
    let mut confirms = Vec::with_capacity(events.len());
    for event in events {
        let confirm = channel
            .basic_publish(
                exchange.into(),
                event.event_type().into(),
                BasicPublishOptions::default(),
                event.cloud_event_json().as_bytes(),
                message_properties(event),
            )
            .await
            .with_context(|| format!("publishing event {}", event.id()))?;
        confirms.push(confirm);
    }
    for (event, confirm) in events.iter().zip(confirms) {
        let confirmation = confirm
            .await
            .with_context(|| format!("the broker's confirm of event {}", event.id()))?;
        anyhow::ensure!(
            confirmation.is_ack(),
            "the broker refused event {} (nack)",
            event.id()
        );
    }
    Ok(())
}
