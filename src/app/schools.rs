//! The school register: loading the DfE's establishments into an authority's
//! register, and reading it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{access::Operation, identifiers::Urn, names, school::School};
use crate::store::{NewAuditEvent, SchoolCounts, StoreTx};

const IMPORT: UseCase = UseCase::ImportSchools;

/// What a retried import answers with: what the first one did.
#[derive(Serialize, Deserialize)]
struct Imported {
    counts: SchoolCounts,
}

impl App {
    /// Loads a batch of schools (each URN once) into the caller's register.
    pub async fn import_schools(
        &self,
        caller: Caller,
        request: RequestId,
        schools: Read<Vec<School>>,
    ) -> ServiceResult<SchoolCounts> {
        caller.check_allowed(Operation::ImportSchools)?;
        let schools = schools?;
        self.write(move |app, mut tx| async move {
            let result = app
                .import_schools_in(&mut *tx, &caller, &request, &schools)
                .await;
            (tx, result)
        })
        .await
    }

    async fn import_schools_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        schools: &[School],
    ) -> ServiceResult<SchoolCounts> {
        let authority = &caller.authority;
        let now: DateTime<Utc> = self.now();
        if let Some(kept) = request
            .claim::<Imported>(tx, authority, IMPORT, now)
            .await?
        {
            return Ok(kept.counts);
        }
        let counts = tx
            .import_schools(authority, schools, &request.id, now)
            .await?;
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &caller.actor,
            action: "school_register.imported",
            resource: &names::schools_name(authority),
            request_id: &request.id,
            details: serde_json::json!({
                "schools": schools.len(),
                "first_urn": schools.iter().map(|s| s.urn.as_str()).min(),
                "last_urn": schools.iter().map(|s| s.urn.as_str()).max(),
                "added": counts.added,
                "changed": counts.changed,
                "unchanged": counts.unchanged,
            }),
        })
        .await?;
        request
            .complete(tx, authority, IMPORT, &Imported { counts })
            .await?;
        Ok(counts)
    }

    /// One school as it stands, or one of its earlier versions, with its version number.
    pub async fn school(
        &self,
        caller: Caller,
        asked: Read<(Urn, Option<i32>)>,
    ) -> ServiceResult<(School, i32)> {
        caller.check_allowed(Operation::ReadSchools)?;
        let (urn, version) = asked?;
        self.read(move |_, mut tx| async move {
            let result = tx
                .school_version(&caller.authority, &urn, version)
                .await
                .map_err(ServiceError::from)
                .and_then(|found| {
                    found.ok_or_else(|| {
                        let name = names::school_name(&caller.authority, urn.as_str());
                        ServiceError::NotFound(match version {
                            Some(v) => format!("{name} version {v}"),
                            None => name,
                        })
                    })
                });
            (tx, result)
        })
        .await
    }

    /// The register's schools after the URN `after`, by URN, at most `limit`.
    pub async fn list_schools(
        &self,
        caller: Caller,
        listing: Read<(Option<String>, i64)>,
    ) -> ServiceResult<Vec<(School, i32)>> {
        caller.check_allowed(Operation::ReadSchools)?;
        let (after, limit) = listing?;
        self.read_replica(move |_, mut tx| async move {
            let result = tx
                .list_schools(&caller.authority, after.as_deref(), limit)
                .await;
            (tx, result.map_err(ServiceError::from))
        })
        .await
    }
}
