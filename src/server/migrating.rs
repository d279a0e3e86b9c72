//! `serve` migrating PostgreSQL on start (`migrate_on_start = true`) without
//! waiting for the database: the server starts at once, and the migrations are
//! applied in the background as soon as the database answers. Until they are,
//! the store answers every unit of work and health check as an outage, so
//! calls get UNAVAILABLE and health NOT_SERVING rather than a schema that is
//! not there yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::store::{Backend, Store, StoreError, StoreResult, StoreTx, TableKeys};

/// A store that is an outage ([`StoreError::NotMigrated`]) until
/// [`MigratingStore::migrate_when_answering`] has applied its migrations.
pub struct MigratingStore {
    store: Arc<dyn Store>,
    migrated: AtomicBool,
}

impl MigratingStore {
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            store,
            migrated: AtomicBool::new(false),
        })
    }

    fn ready(&self) -> StoreResult<()> {
        if self.migrated.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(StoreError::NotMigrated)
        }
    }

    /// Pings the database every `interval` (each ping bounded by `timeout`)
    /// until it answers, then applies the migrations; while it is unreachable,
    /// or goes away again mid-way, starts over. Returns once the migrations
    /// are applied, or with the error of a migration that failed for any other
    /// reason (a migration that cannot be applied: `serve` stops with it).
    pub async fn migrate_when_answering(
        &self,
        interval: Duration,
        timeout: Duration,
    ) -> StoreResult<()> {
        let mut waiting_logged = false;
        loop {
            let failure = match self.store.ping(timeout).await {
                Ok(()) => match self.store.migrate().await {
                    Ok(()) => {
                        self.migrated.store(true, Ordering::Release);
                        tracing::info!("migrations applied");
                        return Ok(());
                    }
                    Err(e) if e.is_outage() => e,
                    Err(e) => return Err(e),
                },
                Err(e) => e,
            };
            if !waiting_logged {
                tracing::warn!(
                    error = %failure,
                    "the database does not answer: migrations not applied yet; \
                     retrying until it does (health NOT_SERVING meanwhile)"
                );
                waiting_logged = true;
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[async_trait]
impl Store for MigratingStore {
    fn backend(&self) -> Backend {
        self.store.backend()
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.store.migrate().await
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        self.ready()?;
        self.store.begin().await
    }

    async fn begin_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        self.ready()?;
        self.store.begin_read().await
    }

    async fn begin_replica_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        self.ready()?;
        self.store.begin_replica_read().await
    }

    async fn replica_lag(&self, within: Duration) -> Option<StoreResult<crate::store::ReplicaLag>> {
        self.store.replica_lag(within).await
    }

    async fn begin_single_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        self.ready()?;
        self.store.begin_single_read().await
    }

    async fn make_register_partitions(
        &self,
        first_year: i32,
        last_year: i32,
        droppable_before: i32,
    ) -> StoreResult<()> {
        self.ready()?;
        self.store
            .make_register_partitions(first_year, last_year, droppable_before)
            .await
    }

    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>> {
        self.ready()?;
        self.store.table_keys().await
    }

    fn pool_usage(&self) -> (u32, usize) {
        self.store.pool_usage()
    }

    async fn ping(&self, within: Duration) -> StoreResult<()> {
        self.ready()?;
        self.store.ping(within).await
    }

    async fn close(&self) {
        self.store.close().await;
    }
}
