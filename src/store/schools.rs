//! The school register's SQL (migration 0011), shared by both backends: one
//! current row per school, replaced versions in `school_history`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::common::Tx;
use super::dialect::{Column, Dialect};
use super::{StoreError, StoreResult};
use crate::domain::identifiers::{LaCode, Urn};
use crate::domain::notice::Address;
use crate::domain::school::{Phase, School, SchoolStatus};

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

// The bounds of `common.rs`'s `impl` of `Tx`, for the same reason.
impl<DB> Tx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    i32: Column<DB>,
    Option<i32>: Column<DB>,
    i16: Column<DB>,
    bool: Column<DB>,
    NaiveDate: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Vec<u8>: Column<DB>,
{
    pub(super) async fn select_school(
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
}
