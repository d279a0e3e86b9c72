//! The breach search's queries that test "is one of a bound list", as SQL text
//! each dialect completes with its own "any of" (see [`ListQueries`]).

/// The partial index that holds a policy's qualifying codes (migration 0005):
/// unauthorised absence, lateness ("L", counted by some older local codes), or both.
#[derive(Clone, Copy)]
pub(super) enum Qualifying {
    Unauthorised,
    Late,
    Both,
}

impl Qualifying {
    pub(super) fn of(codes: &[String]) -> Self {
        let late = codes.iter().any(|c| c == "L");
        match (late, codes.len() > usize::from(late)) {
            (true, true) => Self::Both,
            (true, false) => Self::Late,
            (false, _) => Self::Unauthorised,
        }
    }
}

/// A query for each partial index of qualifying marks.
pub(in crate::store) struct ByQualifying {
    pub(in crate::store) unauthorised: &'static str,
    pub(in crate::store) late: &'static str,
    pub(in crate::store) both: &'static str,
}

impl ByQualifying {
    pub(super) fn get(&self, qualifying: Qualifying) -> &'static str {
        match qualifying {
            Qualifying::Unauthorised => self.unauthorised,
            Qualifying::Late => self.late,
            Qualifying::Both => self.both,
        }
    }
}

/// The queries that test "is one of a bound list", in one dialect: each
/// backend's `MarkSql::LIST_QUERIES` is `list_queries!` with its `any_of!`.
pub(in crate::store) struct ListQueries {
    pub(in crate::store) threshold_candidates: ByQualifying,
    /// Only pupils on one school's register in the period (bound as `$8`).
    pub(in crate::store) school_threshold_candidates: ByQualifying,
    pub(in crate::store) qualifying_marks: ByQualifying,
    pub(in crate::store) enrolments_between: &'static str,
}

/// [`ListQueries`] with `$any_of!("$n")` as the SQL for "is one of the list
/// bound as `$n`".
macro_rules! list_queries {
    ($any_of:ident) => {
        $crate::store::marks::queries::ListQueries {
            threshold_candidates: $crate::store::marks::queries::by_qualifying!(
                threshold_candidates,
                $any_of,
                ""
            ),
            school_threshold_candidates: $crate::store::marks::queries::by_qualifying!(
                threshold_candidates,
                $any_of,
                " AND upn IN ( \
                   SELECT upn FROM attendance_enrolments \
                   WHERE authority_code = $1 AND school_urn = $8 \
                     AND first_date <= $3 AND last_date >= $2)"
            ),
            qualifying_marks: $crate::store::marks::queries::by_qualifying!(qualifying_marks, $any_of),
            enrolments_between: concat!(
                "SELECT upn, school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn ",
                $any_of!("$2"),
                " AND first_date <= $4 AND last_date >= $3 ORDER BY upn, school_urn"
            ),
        }
    };
}
pub(in crate::store) use list_queries;

/// [`ByQualifying`] of `$query!(predicate, ...)` with each partial index's
/// predicate, word for word as in the migration so that the planners use them.
macro_rules! by_qualifying {
    ($query:ident $(, $arg:tt)*) => {
        $crate::store::marks::queries::ByQualifying {
            unauthorised: $crate::store::marks::queries::$query!("category = 3" $(, $arg)*),
            late: $crate::store::marks::queries::$query!("code = 'L'" $(, $arg)*),
            both: $crate::store::marks::queries::$query!("(category = 3 OR code = 'L')" $(, $arg)*),
        }
    };
}
pub(in crate::store) use by_qualifying;

// Reads the qualifying marks by pupil, then date, in UPN order and stops at the
// limit: a page of breaches costs only its own pupils' marks. `$pupils` narrows
// the pupils (to one school's) or is empty.
macro_rules! threshold_candidates {
    ($predicate:literal, $any_of:ident, $pupils:literal) => {
        concat!(
            "SELECT upn FROM attendance_marks \
             WHERE authority_code = $1 AND mark_date BETWEEN $2 AND $3 AND ",
            $predicate,
            " AND code ",
            $any_of!("$4"),
            " AND upn > $5",
            $pupils,
            $crate::store::marks::queries::unconsumed!(),
            " GROUP BY upn HAVING COUNT(*) >= $6 ORDER BY upn LIMIT $7"
        )
    };
}
pub(in crate::store) use threshold_candidates;

macro_rules! qualifying_marks {
    ($predicate:literal, $any_of:ident) => {
        concat!(
            "SELECT upn, school_urn, mark_date, session, code FROM attendance_marks \
             WHERE authority_code = $1 AND upn ",
            $any_of!("$2"),
            " AND mark_date BETWEEN $3 AND $4 AND ",
            $predicate,
            " AND code ",
            $any_of!("$5"),
            $crate::store::marks::queries::unconsumed!(),
        )
    };
}
pub(in crate::store) use qualifying_marks;

// The pupil's sessions after the last session of their latest decided case
// (`domain::breach::unconsumed`): a decided breach's sessions never count again.
// One probe of `breach_cases_by_pupil` per qualifying mark; `$1` is the authority.
macro_rules! unconsumed {
    () => {
        " AND NOT EXISTS (SELECT 1 FROM breach_cases c \
           WHERE c.authority_code = $1 AND c.upn = attendance_marks.upn \
             AND (c.last_date > attendance_marks.mark_date \
                  OR (c.last_date = attendance_marks.mark_date \
                      AND c.last_session >= attendance_marks.session)))"
    };
}
pub(in crate::store) use unconsumed;
