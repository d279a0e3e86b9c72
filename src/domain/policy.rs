//! Per-authority policy: the local code of conduct within the national framework,
//! as versions with an effective-from date, and the national regimes that apply
//! where an authority has no later version of its own.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::FieldViolation;
use super::actor::Actor;
use super::register_codes::{CodeCategory, CodeSet};

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid date constant"),
    }
}

/// The first national regime (SI 2004/181): no penalty notices before it.
pub const FIRST_REGIME_FROM: NaiveDate = date(2004, 2, 27);
/// The national framework of SI 2024/210: second-notice flat rate and the limit of
/// two notices per parent per child in three years (counting only notices issued
/// under it).
pub const FRAMEWORK_2024_FROM: NaiveDate = date(2024, 8, 19);
/// The statutory ceiling on notices per parent per child under the 2024 framework.
pub const STATUTORY_MAX_NOTICES: i32 = 2;
/// The statutory rolling period for that ceiling, in years.
pub const STATUTORY_LIMIT_PERIOD_YEARS: i32 = 3;
/// A notice to improve sets an improvement period of 3 to 6 school weeks.
pub const IMPROVEMENT_PERIOD_WEEKS: std::ops::RangeInclusive<i32> = 3..=6;

/// Bounds of sense on a local policy's numbers, beyond what the law fixes: no
/// local code comes near them, and every date and count worked out from a policy
/// stays far inside what the arithmetic can hold.
/// The most a penalty amount may be: £1,000, the level 3 fine for the offence.
pub const MAX_PENALTY_AMOUNT_PENCE: i64 = 100_000;
/// The longest payment period: a year.
pub const MAX_PERIOD_DAYS: i32 = 366;
/// The longest threshold window: a school year and more.
pub const MAX_WINDOW_SCHOOL_WEEKS: i32 = 52;
/// The longest rolling period for a limit on notices.
pub const MAX_LIMIT_PERIOD_YEARS: i32 = 10;
/// The most notices a local limit may allow per parent per child.
pub const MAX_LOCAL_NOTICE_LIMIT: i32 = 10;
/// The longest deadline for a school's request: a school year.
pub const MAX_REQUEST_DEADLINE_SCHOOL_DAYS: i32 = 195;
/// The most qualifying codes a threshold may list.
pub const MAX_QUALIFYING_CODES: usize = 20;
/// How many days before a notice's lower period ends it goes on the worklist,
/// unless the local code says otherwise: a week, time for a reminder to reach
/// the parent by post (second-class post takes up to three working days).
pub const DEFAULT_LOWER_RATE_WARNING_DAYS: i32 = 7;

/// Who may issue a penalty notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerRole {
    HeadTeacher,
    LaOfficer,
    Police,
}

/// The reason behind a s444 offence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenceReason {
    Holiday,
    Late,
    Other,
}
super::all_variants!(OffenceReason {
    Holiday,
    Late,
    Other
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffenceType {
    /// Education Act 1996 s444: failure to secure regular attendance.
    S444Attendance,
    /// Education and Inspections Act 2006 s103: excluded pupil in a public place.
    S103ExcludedInPublic,
}
string_names!(OffenceType { S444Attendance => "s444_attendance", S103ExcludedInPublic => "s103_excluded_in_public" });

string_names!(IssuerRole { HeadTeacher => "head_teacher", LaOfficer => "la_officer", Police => "police" });
string_names!(OffenceReason { Holiday => "holiday", Late => "late", Other => "other" });

/// What a notice's claimed sessions must rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRule {
    /// A claimed session in a week for which the pupil's schools sent registers
    /// must be held there with a qualifying code (the national default).
    #[default]
    RegisterRequired,
    /// A claimed session the registers do not hold is accepted (and recorded as
    /// not matched); a held mark must still qualify.
    ClaimsAllowed,
}
string_names!(EvidenceRule { RegisterRequired => "register_required", ClaimsAllowed => "claims_allowed" });

/// Whether a version is the authority's own or a national regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    National,
    Authority,
}

/// The threshold at which a penalty notice must be considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    pub sessions: i32,
    pub window_school_weeks: i32,
    pub qualifying_codes: Vec<String>,
}

/// The rules one policy version sets. Field names are the protocol's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRules {
    pub lower_amount_pence: i64,
    pub lower_period_days: i32,
    pub higher_amount_pence: i64,
    pub higher_period_days: i32,
    /// 0 when the regime has no second-notice rule.
    pub second_notice_amount_pence: i64,
    pub threshold: Threshold,
    /// 0 for no limit (before the 2024 framework).
    pub max_notices_per_parent_per_child: i32,
    pub notice_limit_period_years: i32,
    pub notice_to_improve_min_school_weeks: i32,
    pub notice_to_improve_max_school_weeks: i32,
    pub notice_to_improve_required_for: Vec<OffenceReason>,
    pub permitted_issuers: Vec<IssuerRole>,
    /// 0 when the authority sets no deadline.
    pub request_deadline_school_days: i32,
    pub part_payments_accepted: bool,
    pub evidence: EvidenceRule,
    /// Whether schools may ask the authority for penalty notices
    /// (RequestPenaltyNotice); the national default is yes.
    pub school_requests_accepted: bool,
    /// A live notice goes on the worklist this many days before its lower
    /// period ends (a local choice; [`DEFAULT_LOWER_RATE_WARNING_DAYS`] unless
    /// the authority sets another, 1 to the lower period's length).
    pub lower_rate_warning_days: i32,
}

/// Who published an authority's version, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub at: DateTime<Utc>,
    pub by: Actor,
}

/// One version of a policy: the rules in force from `effective_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub effective_from: NaiveDate,
    pub source: PolicySource,
    pub rules: PolicyRules,
    /// Set for an authority's own versions.
    pub published: Option<Publication>,
}

/// One row of docs/domain.md's table of national amounts and periods.
struct NationalRegime {
    from: NaiveDate,
    lower_pence: i64,
    lower_days: i32,
    higher_pence: i64,
    higher_days: i32,
}

const NATIONAL_REGIMES: [NationalRegime; 4] = [
    // SI 2004/181
    NationalRegime {
        from: FIRST_REGIME_FROM,
        lower_pence: 5_000,
        lower_days: 28,
        higher_pence: 10_000,
        higher_days: 42,
    },
    // 2012 amendment
    NationalRegime {
        from: date(2012, 9, 1),
        lower_pence: 6_000,
        lower_days: 28,
        higher_pence: 12_000,
        higher_days: 42,
    },
    // 2013 amendment
    NationalRegime {
        from: date(2013, 9, 1),
        lower_pence: 6_000,
        lower_days: 21,
        higher_pence: 12_000,
        higher_days: 28,
    },
    // SI 2024/210
    NationalRegime {
        from: FRAMEWORK_2024_FROM,
        lower_pence: 8_000,
        lower_days: 21,
        higher_pence: 16_000,
        higher_days: 28,
    },
];

/// The national regimes as policy versions, oldest first.
///
/// Amounts and periods are statutory. The other fields are the national framework
/// where it sets one (threshold, second notice and limit from 19 Aug 2024) and
/// otherwise the most permissive reading, for an authority to narrow: every issuer
/// role, no notice to improve required, no request deadline, no part payments
/// (most councils refuse them). Before 2024 the threshold was local practice; the
/// 2024 threshold is used for those regimes too (unconfirmed, kept here only).
pub fn national_regimes() -> Vec<PolicyVersion> {
    NATIONAL_REGIMES
        .iter()
        .map(|r| {
            let framework_2024 = r.from >= FRAMEWORK_2024_FROM;
            PolicyVersion {
                effective_from: r.from,
                source: PolicySource::National,
                published: None,
                rules: PolicyRules {
                    lower_amount_pence: r.lower_pence,
                    lower_period_days: r.lower_days,
                    higher_amount_pence: r.higher_pence,
                    higher_period_days: r.higher_days,
                    second_notice_amount_pence: if framework_2024 { r.higher_pence } else { 0 },
                    threshold: Threshold {
                        sessions: 10,
                        window_school_weeks: 10,
                        qualifying_codes: ["G", "N", "O", "U"].map(String::from).to_vec(),
                    },
                    max_notices_per_parent_per_child: if framework_2024 {
                        STATUTORY_MAX_NOTICES
                    } else {
                        0
                    },
                    notice_limit_period_years: STATUTORY_LIMIT_PERIOD_YEARS,
                    notice_to_improve_min_school_weeks: *IMPROVEMENT_PERIOD_WEEKS.start(),
                    notice_to_improve_max_school_weeks: *IMPROVEMENT_PERIOD_WEEKS.end(),
                    notice_to_improve_required_for: vec![],
                    permitted_issuers: vec![
                        IssuerRole::HeadTeacher,
                        IssuerRole::LaOfficer,
                        IssuerRole::Police,
                    ],
                    request_deadline_school_days: 0,
                    part_payments_accepted: false,
                    evidence: EvidenceRule::RegisterRequired,
                    school_requests_accepted: true,
                    lower_rate_warning_days: DEFAULT_LOWER_RATE_WARNING_DAYS,
                },
            }
        })
        .collect()
}

/// The version in force on `on`: the latest of the authority's own versions and
/// the national regimes that starts on or before that day. On a day both start,
/// the authority's own version wins. `None` before the first national regime.
pub fn in_force(own: &[PolicyVersion], on: NaiveDate) -> Option<PolicyVersion> {
    let national = national_regimes();
    national
        .iter()
        .chain(own)
        .filter(|v| v.effective_from <= on)
        .max_by_key(|v| (v.effective_from, v.source == PolicySource::Authority))
        .cloned()
}

impl PolicyRules {
    /// Every problem with a version taking effect on `effective_from`, one per
    /// problem, named by the protocol's field paths (relative to the version).
    pub fn validate(&self, effective_from: NaiveDate) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        let framework_2024 = effective_from >= FRAMEWORK_2024_FROM;

        require(
            &mut v,
            effective_from >= FIRST_REGIME_FROM,
            "effective_from",
            format!("penalty notices exist only from {FIRST_REGIME_FROM} (SI 2004/181)"),
        );

        require(
            &mut v,
            (1..=MAX_PENALTY_AMOUNT_PENCE).contains(&self.lower_amount_pence),
            "lower_amount_pence",
            format!("must be from 1 to {MAX_PENALTY_AMOUNT_PENCE}"),
        );
        require(
            &mut v,
            self.higher_amount_pence <= MAX_PENALTY_AMOUNT_PENCE,
            "higher_amount_pence",
            format!("must be at most {MAX_PENALTY_AMOUNT_PENCE}"),
        );
        require(
            &mut v,
            self.higher_amount_pence >= self.lower_amount_pence,
            "higher_amount_pence",
            format!(
                "must not be less than lower_amount_pence ({})",
                self.lower_amount_pence
            ),
        );
        require(
            &mut v,
            (1..=MAX_PERIOD_DAYS).contains(&self.lower_period_days),
            "lower_period_days",
            format!("must be from 1 to {MAX_PERIOD_DAYS} days"),
        );
        require(
            &mut v,
            self.higher_period_days <= MAX_PERIOD_DAYS,
            "higher_period_days",
            format!("must be at most {MAX_PERIOD_DAYS} days"),
        );
        require(
            &mut v,
            self.higher_period_days >= self.lower_period_days,
            "higher_period_days",
            format!(
                "must not be shorter than lower_period_days ({})",
                self.lower_period_days
            ),
        );
        require(
            &mut v,
            (0..=self.higher_amount_pence).contains(&self.second_notice_amount_pence),
            "second_notice_amount_pence",
            format!(
                "must be from 0 to higher_amount_pence ({})",
                self.higher_amount_pence
            ),
        );
        require(
            &mut v,
            !framework_2024 || self.second_notice_amount_pence > 0,
            "second_notice_amount_pence",
            format!(
                "from {FRAMEWORK_2024_FROM} a second notice has a flat amount; 0 is not allowed"
            ),
        );

        self.validate_threshold(effective_from, &mut v);

        let max = self.max_notices_per_parent_per_child;
        if framework_2024 {
            require(
                &mut v,
                (1..=STATUTORY_MAX_NOTICES).contains(&max),
                "max_notices_per_parent_per_child",
                format!(
                    "from {FRAMEWORK_2024_FROM} the law allows 1 or 2 notices per parent per child"
                ),
            );
            require(
                &mut v,
                self.notice_limit_period_years >= STATUTORY_LIMIT_PERIOD_YEARS,
                "notice_limit_period_years",
                format!(
                    "from {FRAMEWORK_2024_FROM} the limit period is at least {STATUTORY_LIMIT_PERIOD_YEARS} years"
                ),
            );
        } else {
            require(
                &mut v,
                (0..=MAX_LOCAL_NOTICE_LIMIT).contains(&max),
                "max_notices_per_parent_per_child",
                format!("must be from 0 (no limit) to {MAX_LOCAL_NOTICE_LIMIT}"),
            );
            require(
                &mut v,
                max == 0 || self.notice_limit_period_years >= 1,
                "notice_limit_period_years",
                "must be at least 1 year when there is a limit".into(),
            );
        }

        require(
            &mut v,
            self.notice_limit_period_years <= MAX_LIMIT_PERIOD_YEARS,
            "notice_limit_period_years",
            format!("must be at most {MAX_LIMIT_PERIOD_YEARS} years"),
        );

        let (min_w, max_w) = (
            self.notice_to_improve_min_school_weeks,
            self.notice_to_improve_max_school_weeks,
        );
        for (field, weeks) in [
            ("notice_to_improve_min_school_weeks", min_w),
            ("notice_to_improve_max_school_weeks", max_w),
        ] {
            require(
                &mut v,
                IMPROVEMENT_PERIOD_WEEKS.contains(&weeks),
                field,
                format!("an improvement period is 3 to 6 school weeks, not {weeks}"),
            );
        }
        require(
            &mut v,
            min_w <= max_w,
            "notice_to_improve_max_school_weeks",
            format!("must not be less than notice_to_improve_min_school_weeks ({min_w})"),
        );

        push_duplicates(
            &mut v,
            "notice_to_improve_required_for",
            self.notice_to_improve_required_for
                .iter()
                .map(|r| r.as_str()),
        );
        if self.permitted_issuers.is_empty() {
            v.push(FieldViolation::new(
                "permitted_issuers",
                "at least one issuer role is required",
            ));
        }
        push_duplicates(
            &mut v,
            "permitted_issuers",
            self.permitted_issuers.iter().map(|r| r.as_str()),
        );
        if !(0..=MAX_REQUEST_DEADLINE_SCHOOL_DAYS).contains(&self.request_deadline_school_days) {
            v.push(FieldViolation::new(
                "request_deadline_school_days",
                format!("must be from 0 (no deadline) to {MAX_REQUEST_DEADLINE_SCHOOL_DAYS}"),
            ));
        }
        // Against a lower period that is itself valid (else that is the problem).
        require(
            &mut v,
            !(1..=MAX_PERIOD_DAYS).contains(&self.lower_period_days)
                || (1..=self.lower_period_days).contains(&self.lower_rate_warning_days),
            "lower_rate_warning_days",
            format!(
                "must be from 1 to lower_period_days ({})",
                self.lower_period_days
            ),
        );
        v
    }

    fn validate_threshold(&self, effective_from: NaiveDate, v: &mut Vec<FieldViolation>) {
        let t = &self.threshold;
        if t.sessions < 1 {
            v.push(FieldViolation::new(
                "threshold.sessions",
                "must be at least 1",
            ));
        }
        if !(1..=MAX_WINDOW_SCHOOL_WEEKS).contains(&t.window_school_weeks) {
            v.push(FieldViolation::new(
                "threshold.window_school_weeks",
                format!("must be from 1 to {MAX_WINDOW_SCHOOL_WEEKS}"),
            ));
        } else if t.sessions > t.window_school_weeks * 10 {
            v.push(FieldViolation::new(
                "threshold.sessions",
                format!(
                    "{} school weeks hold at most {} sessions",
                    t.window_school_weeks,
                    t.window_school_weeks * 10
                ),
            ));
        }
        if t.qualifying_codes.is_empty() {
            v.push(FieldViolation::new(
                "threshold.qualifying_codes",
                "at least one code is required",
            ));
        } else if t.qualifying_codes.len() > MAX_QUALIFYING_CODES {
            v.push(FieldViolation::new(
                "threshold.qualifying_codes",
                format!("at most {MAX_QUALIFYING_CODES} codes"),
            ));
        }
        let set = CodeSet::for_date(effective_from);
        for (i, code) in t.qualifying_codes.iter().enumerate() {
            let field = format!("threshold.qualifying_codes[{i}]");
            match set.category(code) {
                None => v.push(FieldViolation::new(
                    field,
                    format!("'{code}' is not a register code"),
                )),
                // Late arrival before the register closed ("L") is present, but earlier
                // local practice counted it; any unauthorised absence code may count.
                Some(CodeCategory::UnauthorisedAbsence) => {}
                Some(_) if code == "L" => {}
                Some(category) => v.push(FieldViolation::new(
                    field,
                    format!("'{code}' is {category:?}, not unauthorised absence or lateness"),
                )),
            }
        }
        push_duplicates(
            v,
            "threshold.qualifying_codes",
            t.qualifying_codes.iter().map(String::as_str),
        );
    }
}

/// Records a violation of `field` unless `ok`.
fn require(v: &mut Vec<FieldViolation>, ok: bool, field: &str, description: String) {
    if !ok {
        v.push(FieldViolation::new(field, description));
    }
}

fn push_duplicates<'a>(
    v: &mut Vec<FieldViolation>,
    field: &str,
    items: impl Iterator<Item = &'a str>,
) {
    let mut seen = HashSet::new();
    for (i, item) in items.enumerate() {
        if !seen.insert(item) {
            v.push(FieldViolation::new(
                format!("{field}[{i}]"),
                format!("'{item}' is listed twice"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn national_on(day: NaiveDate) -> PolicyRules {
        in_force(&[], day).unwrap().rules
    }

    #[test]
    fn national_amounts_and_periods_by_date() {
        let cases = [
            (d(2004, 2, 27), 5_000, 28, 10_000, 42),
            (d(2012, 8, 31), 5_000, 28, 10_000, 42),
            (d(2012, 9, 1), 6_000, 28, 12_000, 42),
            (d(2013, 9, 1), 6_000, 21, 12_000, 28),
            (d(2024, 8, 18), 6_000, 21, 12_000, 28),
            (d(2024, 8, 19), 8_000, 21, 16_000, 28),
        ];
        for (day, lower, lower_days, higher, higher_days) in cases {
            let r = national_on(day);
            assert_eq!(
                (
                    r.lower_amount_pence,
                    r.lower_period_days,
                    r.higher_amount_pence,
                    r.higher_period_days
                ),
                (lower, lower_days, higher, higher_days),
                "on {day}"
            );
        }
        assert!(in_force(&[], d(2004, 2, 26)).is_none());
    }

    #[test]
    fn second_notice_rule_and_limit_only_from_2024() {
        assert_eq!(national_on(d(2024, 8, 18)).second_notice_amount_pence, 0);
        assert_eq!(
            national_on(d(2024, 8, 18)).max_notices_per_parent_per_child,
            0
        );
        let r = national_on(d(2024, 8, 19));
        assert_eq!(r.second_notice_amount_pence, 16_000);
        assert_eq!(
            (
                r.max_notices_per_parent_per_child,
                r.notice_limit_period_years
            ),
            (2, 3)
        );
    }

    #[test]
    fn every_national_regime_passes_validation() {
        for regime in national_regimes() {
            assert_eq!(
                regime.rules.validate(regime.effective_from),
                vec![],
                "{}",
                regime.effective_from
            );
        }
    }

    fn own(from: NaiveDate, lower: i64) -> PolicyVersion {
        let mut v = in_force(&[], from).unwrap();
        v.effective_from = from;
        v.source = PolicySource::Authority;
        v.rules.lower_amount_pence = lower;
        v
    }

    #[test]
    fn authority_version_governs_from_its_date_and_national_before() {
        let versions = [own(d(2025, 9, 1), 7_000)];
        assert_eq!(
            in_force(&versions, d(2025, 8, 31)).unwrap().source,
            PolicySource::National
        );
        let v = in_force(&versions, d(2025, 9, 1)).unwrap();
        assert_eq!(
            (v.source, v.rules.lower_amount_pence),
            (PolicySource::Authority, 7_000)
        );
    }

    #[test]
    fn a_later_national_regime_supersedes_an_older_local_version() {
        let versions = [own(d(2020, 1, 1), 6_000)];
        assert_eq!(
            in_force(&versions, d(2024, 8, 18)).unwrap().source,
            PolicySource::Authority
        );
        assert_eq!(
            in_force(&versions, d(2024, 8, 19)).unwrap().source,
            PolicySource::National
        );
    }

    #[test]
    fn authority_version_on_a_national_start_date_wins() {
        let versions = [own(FRAMEWORK_2024_FROM, 7_500)];
        assert_eq!(
            in_force(&versions, FRAMEWORK_2024_FROM).unwrap().source,
            PolicySource::Authority
        );
    }

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn each_problem_is_reported_once_by_field() {
        let mut r = national_on(FRAMEWORK_2024_FROM);
        r.higher_amount_pence = r.lower_amount_pence - 1;
        r.notice_to_improve_max_school_weeks = 7;
        r.threshold.qualifying_codes = vec!["G".into(), "Hx".into(), "/".into(), "G".into()];
        r.max_notices_per_parent_per_child = 3;
        r.permitted_issuers.clear();
        let v = r.validate(d(2025, 1, 1));
        assert_eq!(
            fields(&v),
            [
                "higher_amount_pence",
                "second_notice_amount_pence",
                "threshold.qualifying_codes[1]",
                "threshold.qualifying_codes[2]",
                "threshold.qualifying_codes[3]",
                "max_notices_per_parent_per_child",
                "notice_to_improve_max_school_weeks",
                "permitted_issuers",
            ]
        );
    }

    #[test]
    fn lateness_may_qualify_but_authorised_absence_may_not() {
        let mut r = national_on(FRAMEWORK_2024_FROM);
        r.threshold.qualifying_codes = vec!["L".into(), "U".into()];
        assert_eq!(r.validate(d(2025, 1, 1)), vec![]);
        r.threshold.qualifying_codes = vec!["I".into()];
        assert_eq!(
            fields(&r.validate(d(2025, 1, 1))),
            ["threshold.qualifying_codes[0]"]
        );
    }

    #[test]
    fn improvement_period_range_must_be_within_3_to_6_and_ordered() {
        let mut r = national_on(FRAMEWORK_2024_FROM);
        r.notice_to_improve_min_school_weeks = 5;
        r.notice_to_improve_max_school_weeks = 4;
        assert_eq!(
            fields(&r.validate(d(2025, 1, 1))),
            ["notice_to_improve_max_school_weeks"]
        );
        r.notice_to_improve_min_school_weeks = 2;
        r.notice_to_improve_max_school_weeks = 4;
        assert_eq!(
            fields(&r.validate(d(2025, 1, 1))),
            ["notice_to_improve_min_school_weeks"]
        );
    }

    #[test]
    fn pre_2024_versions_may_have_no_limit_and_no_flat_rate() {
        let mut r = national_on(d(2020, 1, 1));
        r.max_notices_per_parent_per_child = 0;
        r.second_notice_amount_pence = 0;
        assert_eq!(r.validate(d(2020, 1, 1)), vec![]);
        assert_eq!(fields(&r.validate(d(2003, 1, 1))), ["effective_from"]);
    }
}
