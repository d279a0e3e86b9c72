//! What differs between the backends, as a trait both sqlx database types
//! implement: a few statements and how a list is bound. What an aggregate alone
//! needs of a backend is that aggregate's own trait, beside its SQL
//! (`marks::MarkSql`, `notices::NoticeSql`). Everything else is shared, generic
//! code in each aggregate's file, over the bounds `tx::sql_impl!` writes.

use sqlx::{Database, Decode, Encode, IntoArguments, Type};

/// A sqlx database the shared SQL runs on, with what is its own.
pub(super) trait Dialect: Database<Arguments: IntoArguments<Self>> {
    /// Takes a per-pupil transaction lock, binding `$1` (a key); `None` where the
    /// write transaction already excludes other writers.
    const LOCK_PUPIL: Option<&'static str>;

    /// One notice by (`$1` authority, `$2` number), locked until the transaction ends.
    const SELECT_NOTICE_FOR_UPDATE: &'static str;

    /// Takes a per-payment transaction lock, binding `$1` (a key); `None` where
    /// the write transaction already excludes other writers. Not a row lock:
    /// `SELECT … FOR UPDATE` needs the UPDATE privilege, which the service's
    /// role does not have on `payments`.
    const LOCK_PAYMENT: Option<&'static str>;

    /// Appends all of a unit's audit events of an authority (`$1` the
    /// authority, `$2`..`$13` arrays of the plain INSERT's other columns in
    /// its order) and makes the last one's hash (`$14`) the chain head's, in
    /// one statement; `None` where each event takes its own INSERT and the head
    /// an UPDATE. Every statement between taking the head's row lock and the
    /// COMMIT is a round trip the authority's other writers wait for.
    const INSERT_AUDIT_EVENTS: Option<&'static str>;

    /// Each school's latest `$3` school weeks up to Monday `$2` in authority
    /// `$1`, as `(school_urn, week_start)`: the window of every breach search.
    const LATEST_SCHOOL_WEEKS: &'static str;

    /// Whether the register (`attendance_marks` and its history) is partitioned
    /// by school year (see `partitions`); where not, there is nothing to drop.
    const PARTITIONED_REGISTERS: bool;

    /// How a list of strings is bound where a query asks "is one of the list
    /// bound as `$n`" (each backend's `any_of!`).
    type ListArg: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn list_arg(items: &[String]) -> Self::ListArg;

    /// The rows a statement inserted, updated or deleted.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A Rust type the shared SQL binds and reads as a column value on `DB`.
pub(super) trait Column<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

impl<DB: Database, T> Column<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}
