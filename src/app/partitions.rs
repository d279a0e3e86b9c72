//! The register partitioned by school year (PostgreSQL; see migration 0030 and
//! `store::partitions`): partitions made ahead of the marks by the service,
//! never by hand, and a past school year dropped whole by the retention purge
//! once every mark in it is past its authority's retention.

use chrono::NaiveDate;

use super::retention::{PURGE_SUBJECT, PurgeReport, retention_in_force};
use super::{App, ServiceResult};
use crate::domain::calendar::{school_year_end, school_year_of};
use crate::domain::{
    actor::Actor, attendance::RegisterMark, identifiers::LaCode, names, retention::RecordKind,
};
use crate::store::NewAuditEvent;

/// The fewest years a register is kept: no school year ended less than this
/// long ago can be dropped, whatever an authority's periods (the database
/// refuses it too).
const SIX_YEARS: i32 = 6;

impl App {
    /// Makes the partitions a batch of marks needs before its unit of work
    /// writes it, each in a short transaction of its own.
    pub(crate) async fn make_partitions_for(&self, marks: &[RegisterMark]) -> ServiceResult<()> {
        let years = marks.iter().map(|m| school_year_of(m.date));
        let (Some(first), Some(last)) = (years.clone().min(), years.max()) else {
            return Ok(());
        };
        self.store
            .make_register_partitions(first, last, self.droppable_before())
            .await?;
        Ok(())
    }

    /// The first school year the purge cannot yet drop on the application's
    /// clock: those before it are past the registers' six years (migration
    /// 0030 refuses younger ones).
    fn droppable_before(&self) -> i32 {
        school_year_of(self.today()) - (SIX_YEARS - 1)
    }

    /// The partitions of the current and next school year (on the
    /// application's clock): made by the scheduler ahead of their marks.
    pub async fn make_partitions_ahead(&self) -> ServiceResult<()> {
        let year = school_year_of(self.today());
        self.store
            .make_register_partitions(year, year + 1, self.droppable_before())
            .await?;
        Ok(())
    }

    /// The purge's first step for registers: drops each school year's
    /// partition whose marks are all past retention on `on`, for every
    /// authority that has marks in it, with what is derived from them. One
    /// unit of work per school year, with one `retention.purged` event per
    /// authority (as a batch's, with the school year and `partition_dropped`).
    /// A year some authority still keeps, or whose drop fails (a long read
    /// holding the table past the lock timeout), is left to the batches.
    pub(crate) async fn drop_past_register_years(
        &self,
        on: NaiveDate,
    ) -> ServiceResult<PurgeReport> {
        let mut report = PurgeReport::default();
        let years = self
            .read(|_, mut tx| async move {
                let years = tx.register_partition_years().await;
                (tx, years.map_err(Into::into))
            })
            .await?;
        let oldest_cut_off = crate::domain::retention::cut_off(SIX_YEARS, on);
        for year in years {
            if school_year_end(year).is_none_or(|end| end > oldest_cut_off) {
                break;
            }
            let dropped = self
                .write(move |app, mut tx| async move {
                    let result = drop_year(&mut *tx, &app, year, on).await;
                    (tx, result)
                })
                .await;
            match dropped {
                Ok(Some(marks)) => {
                    report.batches += 1;
                    *report
                        .records
                        .entry(RecordKind::Registers.as_str())
                        .or_default() += marks;
                    tracing::info!(%on, school_year = year, "register partition past retention dropped");
                }
                // Kept by an authority's longer retention: its batches go on.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, school_year = year,
                        "register partition not dropped; the purge deletes its marks in batches");
                    break;
                }
            }
        }
        Ok(report)
    }
}

/// Drops school year `year` in `tx` if every authority with marks in it is
/// past retention for all of them on `on`: the marks it held (`None`: kept).
async fn drop_year(
    tx: &mut dyn crate::store::StoreTx,
    app: &App,
    year: i32,
    on: NaiveDate,
) -> ServiceResult<Option<i64>> {
    tx.lock_partition_drop().await?;
    if !tx.register_partition_years().await?.contains(&year) {
        // Another replica's purge dropped it first.
        return Ok(Some(0));
    }
    let Some(end) = school_year_end(year) else {
        return Ok(None);
    };
    let held = tx.register_year_marks(year).await?;
    let mut authorities = Vec::with_capacity(held.len());
    for h in &held {
        let authority = LaCode::parse(&h.authority).map_err(|_| {
            crate::store::StoreError::Corrupt("an authority code in the register".into())
        })?;
        // Batches of the same authority wait for this unit, and it for them.
        tx.lock_purge(&authority, RecordKind::Registers.as_str())
            .await?;
        let cut_off = retention_in_force(tx, &authority, on)
            .await?
            .cut_off(RecordKind::Registers, on);
        if cut_off < end {
            return Ok(None);
        }
        authorities.push((authority, cut_off));
    }
    let mut derived = Vec::with_capacity(authorities.len());
    for (authority, _) in &authorities {
        derived.push(tx.purge_register_year_derived(authority, year).await?);
    }
    tx.drop_register_school_year(year).await?;
    let now = app.now();
    for ((h, (authority, cut_off)), rows) in held.iter().zip(&authorities).zip(derived) {
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &Actor::service(PURGE_SUBJECT),
            action: "retention.purged",
            resource: &format!(
                "{}/retention/{}",
                names::authority_name(authority),
                RecordKind::Registers.as_str()
            ),
            request_id: &format!("purge-{on}"),
            details: serde_json::json!({
                "kind": RecordKind::Registers.as_str(),
                "on": on,
                "cut_off": cut_off,
                "count": h.marks,
                "rows": h.marks + rows,
                "first_key": h.first_date.to_string(),
                "last_key": h.last_date.to_string(),
                "school_year": format!("{year}/{:02}", (year + 1) % 100),
                "partition_dropped": true,
                "audit_details_erased": 0,
            }),
        })
        .await?;
    }
    Ok(Some(held.iter().map(|h| h.marks).sum()))
}
