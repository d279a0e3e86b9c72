//! The school register's SQL (migration 0011), shared by both backends: one
//! current row per school, replaced versions in `school_history`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::identifiers::{LaCode, Urn};
use crate::domain::notice::Address;
use crate::domain::school::{Phase, School, SchoolChange, SchoolStatus, school_change};

/// What a load of schools did to the register.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchoolCounts {
    pub added: i64,
    pub changed: i64,
    pub unchanged: i64,
}

/// The columns of a school's row, in [`SchoolRow`]'s order.
macro_rules! school_columns {
    () => {
        "urn, version, la_code, establishment_number, name, address_lines, postcode, phase, \
         establishment_type, status, open_date, close_date"
    };
}

#[derive(sqlx::FromRow)]
struct SchoolRow {
    urn: String,
    version: i32,
    la_code: String,
    establishment_number: String,
    name: String,
    address_lines: String,
    postcode: String,
    phase: Option<String>,
    establishment_type: String,
    status: String,
    open_date: Option<NaiveDate>,
    close_date: Option<NaiveDate>,
}

impl SchoolRow {
    fn into_school(self) -> StoreResult<(School, i32)> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("school {}: {what}", self.urn));
        let school = School {
            urn: Urn::parse(&self.urn).map_err(|e| corrupt(&e))?,
            la_code: LaCode::parse(&self.la_code).map_err(|e| corrupt(&e))?,
            establishment_number: self.establishment_number.clone(),
            name: self.name.clone(),
            address: Address {
                lines: serde_json::from_str(&self.address_lines)
                    .map_err(|e| corrupt(&format!("address_lines: {e}")))?,
                postcode: self.postcode.clone(),
            },
            phase: match &self.phase {
                None => None,
                Some(p) => Some(Phase::parse(p).ok_or_else(|| corrupt(&format!("phase {p}")))?),
            },
            establishment_type: self.establishment_type.clone(),
            status: SchoolStatus::parse(&self.status)
                .ok_or_else(|| corrupt(&format!("status {}", self.status)))?,
            open_date: self.open_date,
            close_date: self.close_date,
        };
        Ok((school, self.version))
    }
}

/// The authority's register of schools, versioned.
#[async_trait]
pub trait SchoolStore: Send {
    /// One school of the authority's register.
    async fn school(&mut self, authority: &LaCode, urn: &Urn) -> StoreResult<Option<School>>;

    /// A school as it stands (`version` `None`) or one of its earlier versions,
    /// with its version number.
    async fn school_version(
        &mut self,
        authority: &LaCode,
        urn: &Urn,
        version: Option<i32>,
    ) -> StoreResult<Option<(School, i32)>>;

    /// The register's schools with URNs after `after`, by URN, at most `limit`,
    /// each with its version number.
    async fn list_schools(
        &mut self,
        authority: &LaCode,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(School, i32)>>;

    /// Loads schools (each URN once) into the register: new ones are added,
    /// changed ones replaced with their held version kept in the history,
    /// identical ones left alone.
    async fn import_schools(
        &mut self,
        authority: &LaCode,
        schools: &[School],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<SchoolCounts>;
}

sql_impl! {
    impl SchoolStore for Tx {
        async fn school(
            &mut self,
            authority: &LaCode,
            urn: &Urn,
        ) -> StoreResult<Option<School>> {
            let row: Option<SchoolRow> = sqlx::query_as(concat!(
                "SELECT ",
                school_columns!(),
                " FROM schools WHERE authority_code = $1 AND urn = $2"
            ))
            .bind(authority.as_str())
            .bind(urn.as_str())
            .fetch_optional(self.conn())
            .await?;
            row.map(|r| r.into_school().map(|(school, _)| school))
                .transpose()
        }

        /// A school as it stands (`version` `None`) or one of its versions, with its number.
        async fn school_version(
            &mut self,
            authority: &LaCode,
            urn: &Urn,
            version: Option<i32>,
        ) -> StoreResult<Option<(School, i32)>> {
            let current: Option<SchoolRow> = sqlx::query_as(concat!(
                "SELECT ",
                school_columns!(),
                " FROM schools WHERE authority_code = $1 AND urn = $2"
            ))
            .bind(authority.as_str())
            .bind(urn.as_str())
            .fetch_optional(self.conn())
            .await?;
            let row =
                match (current, version) {
                    (Some(row), Some(v)) if row.version != v => sqlx::query_as(concat!(
                        "SELECT ",
                        school_columns!(),
                        " FROM school_history WHERE authority_code = $1 AND urn = $2 AND version = $3"
                    ))
                    .bind(authority.as_str())
                    .bind(urn.as_str())
                    .bind(v)
                    .fetch_optional(self.conn())
                    .await?,
                    (current, _) => current,
                };
            row.map(SchoolRow::into_school).transpose()
        }

        /// The register's schools with URNs after `after`, by URN, at most `limit`.
        async fn list_schools(
            &mut self,
            authority: &LaCode,
            after: Option<&str>,
            limit: i64,
        ) -> StoreResult<Vec<(School, i32)>> {
            let rows: Vec<SchoolRow> = sqlx::query_as(concat!(
                "SELECT ",
                school_columns!(),
                " FROM schools WHERE authority_code = $1 AND ($2 IS NULL OR urn > $2) \
                 ORDER BY urn LIMIT $3"
            ))
            .bind(authority.as_str())
            .bind(after)
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(SchoolRow::into_school).collect()
        }

        /// Adds new schools, replaces changed ones (the held version moves to the
        /// history first) and leaves identical ones alone. `schools` holds each URN once.
        async fn import_schools(
            &mut self,
            authority: &LaCode,
            schools: &[School],
            request_id: &str,
            at: DateTime<Utc>,
        ) -> StoreResult<SchoolCounts> {
            let mut counts = SchoolCounts::default();
            // What is held for the batch's URNs, in one read of the URN range it
            // spans (the importer sends URNs in order, so the range is the batch's).
            let (Some(first), Some(last)) = (
                schools.iter().map(|s| s.urn.as_str()).min(),
                schools.iter().map(|s| s.urn.as_str()).max(),
            ) else {
                return Ok(counts);
            };
            let rows: Vec<SchoolRow> = sqlx::query_as(concat!(
                "SELECT ",
                school_columns!(),
                " FROM schools WHERE authority_code = $1 AND urn BETWEEN $2 AND $3"
            ))
            .bind(authority.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(self.conn())
            .await?;
            let mut held_by_urn = std::collections::HashMap::with_capacity(rows.len());
            for row in rows {
                let (school, version) = row.into_school()?;
                held_by_urn.insert(school.urn.clone(), (school, version));
            }
            for school in schools {
                let held = held_by_urn.remove(&school.urn);
                let change = school_change(held.as_ref().map(|(s, _)| s), school);
                let version = match (change, &held) {
                    (SchoolChange::Unchanged, _) => {
                        counts.unchanged += 1;
                        continue;
                    }
                    (SchoolChange::Added, _) => {
                        counts.added += 1;
                        1
                    }
                    (SchoolChange::Changed, Some((_, v))) => {
                        counts.changed += 1;
                        sqlx::query(concat!(
                            "INSERT INTO school_history (authority_code, ",
                            school_columns!(),
                            ", recorded_at, request_id) SELECT authority_code, ",
                            school_columns!(),
                            ", recorded_at, request_id FROM schools WHERE authority_code = $1 AND urn = $2"
                        ))
                        .bind(authority.as_str())
                        .bind(school.urn.as_str())
                        .execute(self.conn())
                        .await?;
                        v + 1
                    }
                    (SchoolChange::Changed, None) => {
                        return Err(StoreError::Corrupt("a changed school vanished".into()));
                    }
                };
                let lines = serde_json::to_string(&school.address.lines)
                    .map_err(|e| StoreError::Corrupt(format!("address lines: {e}")))?;
                sqlx::query(
                    "INSERT INTO schools (authority_code, urn, version, la_code, establishment_number, \
                       name, address_lines, postcode, phase, establishment_type, status, open_date, \
                       close_date, recorded_at, request_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                     ON CONFLICT (authority_code, urn) DO UPDATE SET version = excluded.version, \
                       la_code = excluded.la_code, establishment_number = excluded.establishment_number, \
                       name = excluded.name, address_lines = excluded.address_lines, \
                       postcode = excluded.postcode, phase = excluded.phase, \
                       establishment_type = excluded.establishment_type, status = excluded.status, \
                       open_date = excluded.open_date, close_date = excluded.close_date, \
                       recorded_at = excluded.recorded_at, request_id = excluded.request_id",
                )
                .bind(authority.as_str())
                .bind(school.urn.as_str())
                .bind(version)
                .bind(school.la_code.as_str())
                .bind(school.establishment_number.as_str())
                .bind(school.name.as_str())
                .bind(lines)
                .bind(school.address.postcode.as_str())
                .bind(school.phase.map(Phase::as_str))
                .bind(school.establishment_type.as_str())
                .bind(school.status.as_str())
                .bind(school.open_date)
                .bind(school.close_date)
                .bind(at)
                .bind(request_id)
                .execute(self.conn())
                .await?;
            }
            Ok(counts)
        }
    }
}
