//! The breach search: the pupils at the unauthorised-absence threshold on a
//! date (pending breaches found on the registers) and the decided ones,
//! listed in one order, with whether notices already cover them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use super::attendance::check_school_scope;
use super::data_protection::{record_reads, returned};
use super::policy::policy_in_force;
use super::{App, Caller, Read, ServiceResult};
use crate::domain::{
    access::Operation,
    access_log::Accessed,
    actor::Actor,
    attendance::{self, Breach, PupilMark},
    breach::{BreachState, DecidedBreach, Decision},
    calendar::week_start,
    identifiers::{LaCode, Upn, Urn},
    names,
    notice::{self, Notice},
    policy::Threshold,
    sen::SenProvision,
};
use crate::store::{DecidedBreachFilter, QualifyingFilter, StoreTx};

/// A pupil at the threshold: a pending breach found on the registers, or a
/// decided one (a case), and whether notices already cover it.
#[derive(Debug, Clone)]
pub struct FoundBreach {
    pub upn: String,
    /// The school of the latest qualifying session.
    pub school_urn: String,
    pub breach: Breach,
    pub covered_by_notice_to_improve: bool,
    pub covered_by_penalty_notice: bool,
    pub policy_version: String,
    /// The date it was found on.
    pub as_of: NaiveDate,
    /// The decision, once made.
    pub decided: Option<RecordedDecision>,
    /// The pupil's SEN status on the listing's date (set by the listing).
    pub sen_provision: Option<SenProvision>,
}

/// What a decided breach adds.
#[derive(Debug, Clone)]
pub struct RecordedDecision {
    pub breach_id: i64,
    pub decision: Decision,
    pub decided_at: DateTime<Utc>,
    pub decided_by: Actor,
}

impl FoundBreach {
    pub fn state(&self) -> BreachState {
        self.decided
            .as_ref()
            .map_or(BreachState::Pending, |d| d.decision.state)
    }

    /// Where it comes in a listing: by UPN, then a pupil's decided breaches by
    /// case id, then their pending one.
    pub fn position(&self) -> BreachPosition {
        BreachPosition {
            upn: self.upn.clone(),
            breach_id: self.decided.as_ref().map_or(i64::MAX, |d| d.breach_id),
        }
    }

    pub(super) fn of_decided(decided: DecidedBreach) -> Self {
        FoundBreach {
            upn: decided.upn,
            school_urn: decided.school_urn,
            breach: decided.breach,
            covered_by_notice_to_improve: false,
            covered_by_penalty_notice: false,
            policy_version: decided.policy_version,
            as_of: decided.as_of,
            decided: Some(RecordedDecision {
                breach_id: decided.breach_id,
                decision: decided.decision,
                decided_at: decided.decided_at,
                decided_by: decided.decided_by,
            }),
            sen_provision: None,
        }
    }
}

/// A place in a listing of breaches (see [`FoundBreach::position`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct BreachPosition {
    pub upn: String,
    /// A decided breach's case id; `i64::MAX` for a pending one.
    pub breach_id: i64,
}

/// Which breaches a listing returns.
#[derive(Debug, Clone)]
pub struct BreachQuery {
    pub school: Option<Urn>,
    pub as_of: NaiveDate,
    /// Only these states; empty for every state.
    pub states: Vec<BreachState>,
}

impl App {
    /// Breaches on `query.as_of` after `after`, in listing order, until
    /// `wanted` are found or none is left.
    pub async fn threshold_breaches(
        &self,
        caller: Caller,
        asked: Read<(BreachQuery, BreachPosition, usize)>,
    ) -> ServiceResult<Vec<FoundBreach>> {
        caller.check_allowed(Operation::ReadAttendance)?;
        let (query, after, wanted) = asked?;
        check_school_scope(&caller, query.school.as_ref())?;
        self.read_replica(move |app, mut tx| async move {
            let result = async {
                let (policy, policy_name) =
                    policy_in_force(&mut *tx, &caller.authority, query.as_of).await?;
                let search = BreachSearch {
                    authority: &caller.authority,
                    school: query.school.as_ref(),
                    as_of: query.as_of,
                    threshold: &policy.rules.threshold,
                    policy_name: &policy_name,
                };
                let mut found = search.list(&mut *tx, &query.states, &after, wanted).await?;
                // Each pupil's SEN status on the listing's date, for the breakdown.
                let statuses = super::sen::statuses_on(
                    &mut *tx,
                    &caller.authority,
                    found.iter().map(|b| b.upn.clone()),
                    query.as_of,
                )
                .await?;
                for b in &mut found {
                    b.sen_provision = statuses.get(&b.upn).copied();
                }
                let attendance = names::attendance_name(&caller.authority);
                let accessed = returned(&found, i64::try_from(wanted).unwrap_or(i64::MAX))
                    .iter()
                    .map(|b| Accessed::pupil(&b.upn, &attendance))
                    .collect();
                let at = app.now();
                record_reads(&mut *tx, &caller, at, "ListThresholdBreaches", accessed).await?;
                Ok(found)
            }
            .await;
            (tx, result)
        })
        .await
    }
}

/// One threshold search: the policy's threshold on a date, optionally one school.
pub(super) struct BreachSearch<'a> {
    pub(super) authority: &'a LaCode,
    pub(super) school: Option<&'a Urn>,
    pub(super) as_of: NaiveDate,
    pub(super) threshold: &'a Threshold,
    pub(super) policy_name: &'a str,
}

/// Each school's latest school weeks of a search's window, by school.
type WeeksBySchool = HashMap<String, BTreeSet<NaiveDate>>;

/// The school weeks of each school within the search's window, and what the
/// marks query reads.
struct Window<'a> {
    weeks_by_school: HashMap<String, BTreeSet<NaiveDate>>,
    filter: QualifyingFilter<'a>,
}

impl<'a> BreachSearch<'a> {
    /// The school weeks the search counts over: every school's, or with `pupil`
    /// only those of the pupil's own schools (all that pupil's breach reads).
    async fn window(
        &self,
        tx: &mut dyn StoreTx,
        pupil: Option<&str>,
    ) -> ServiceResult<Option<Window<'a>>> {
        let mut weeks_by_school: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
        let window = i64::from(self.threshold.window_school_weeks);
        for (school, monday) in tx
            .latest_school_weeks(self.authority, week_start(self.as_of), window, pupil)
            .await?
        {
            weeks_by_school.entry(school).or_default().insert(monday);
        }
        // No pupil's window starts before the earliest school's: its school weeks
        // are the union of its schools' (see attendance::threshold_breach).
        let Some(earliest) = weeks_by_school.values().filter_map(|w| w.first()).min() else {
            return Ok(None);
        };
        let filter = QualifyingFilter {
            codes: &self.threshold.qualifying_codes,
            from: *earliest,
            to: self.as_of,
        };
        Ok(Some(Window {
            weeks_by_school,
            filter,
        }))
    }

    /// Pending and decided breaches in `states` (empty: all) after `after`, in
    /// listing order, at most `wanted`.
    pub(super) async fn list(
        &self,
        tx: &mut dyn StoreTx,
        states: &[BreachState],
        after: &BreachPosition,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let Some(window) = self.window(tx, None).await? else {
            return Ok(vec![]);
        };
        let mut found = Vec::new();
        if states.is_empty() || states.contains(&BreachState::Pending) {
            // The cursor's pupil may still have its pending breach to come.
            if !after.upn.is_empty() && after.breach_id < i64::MAX {
                found.extend(self.pending_in(tx, &window, &after.upn).await?);
            }
            found.extend(self.pending_after(tx, &window, &after.upn, wanted).await?);
        }
        let decided: Vec<BreachState> = if states.is_empty() {
            BreachState::decided()
        } else {
            states.iter().copied().filter(|s| s.is_decided()).collect()
        };
        if !decided.is_empty() {
            let cases = tx
                .decided_breaches(
                    self.authority,
                    &DecidedBreachFilter {
                        after: (&after.upn, after.breach_id),
                        upn: None,
                        school: self.school.map(Urn::as_str),
                        last_session_from: window.filter.from,
                        last_session_to: self.as_of,
                        states: &decided,
                        limit: wanted as i64,
                    },
                )
                .await?;
            let cases = cases.into_iter().map(FoundBreach::of_decided).collect();
            found.extend(self.with_coverage(tx, cases).await?);
        }
        found.sort_by_key(FoundBreach::position);
        found.truncate(wanted);
        Ok(found)
    }

    /// The same search for one pupil: their pending breach, if they have one
    /// (what a notice from a breach is issued for).
    pub(super) async fn for_pupil(
        &self,
        tx: &mut dyn StoreTx,
        upn: &Upn,
    ) -> ServiceResult<Option<FoundBreach>> {
        self.pending_of(tx, upn.as_str()).await
    }

    /// The pupil's pending breach on the search's date, if any: what a decision
    /// or a notice closes.
    pub(super) async fn pending_of(
        &self,
        tx: &mut dyn StoreTx,
        upn: &str,
    ) -> ServiceResult<Option<FoundBreach>> {
        let Some(window) = self.window(tx, Some(upn)).await? else {
            return Ok(None);
        };
        self.pending_in(tx, &window, upn).await
    }

    async fn pending_in(
        &self,
        tx: &mut dyn StoreTx,
        window: &Window<'_>,
        upn: &str,
    ) -> ServiceResult<Option<FoundBreach>> {
        let upns = [upn.to_string()];
        if let Some(school) = self.school {
            let enrolled = tx
                .enrolments_between(self.authority, &upns, window.filter.from, self.as_of)
                .await?;
            if !enrolled.iter().any(|(_, s)| s == school.as_str()) {
                return Ok(None);
            }
        }
        let breaches = self
            .breaches_among(tx, &upns, &window.filter, &window.weeks_by_school, 1)
            .await?;
        Ok(self.with_coverage(tx, breaches).await?.pop())
    }

    /// Pending breaches of pupils after `after_upn`, at most `wanted`.
    async fn pending_after(
        &self,
        tx: &mut dyn StoreTx,
        window: &Window<'_>,
        after_upn: &str,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let mut after = after_upn.to_string();
        let mut found = Vec::new();
        let mut read = 0_i64;
        while found.len() < wanted {
            // Usually almost every candidate breaches: ask for what is still
            // wanted and a few more, scaled by how many candidates each breach
            // has taken so far on this page. Spare candidates are read again by
            // the next page, and a page's cost is its candidates' (at county
            // size, a quarter spare cost 15% of a listing; BENCHMARKS.md,
            // session 10).
            let still = (wanted - found.len()) as i64;
            let per_breach = if read == 0 {
                1
            } else if found.is_empty() {
                // A whole chunk without a breach: look further at once.
                4
            } else {
                let n = found.len() as i64;
                (read + n - 1) / n
            };
            let chunk = (still * per_breach + still / 16 + 4).min(2_000);
            let at_least = i64::from(self.threshold.sessions);
            let candidates = tx
                .threshold_candidates(
                    self.authority,
                    &window.filter,
                    self.school,
                    at_least,
                    &after,
                    chunk,
                )
                .await?;
            let Some(last) = candidates.last() else { break };
            after = last.clone();
            read += candidates.len() as i64;
            let breaches = self
                .breaches_among(
                    tx,
                    &candidates,
                    &window.filter,
                    &window.weeks_by_school,
                    wanted - found.len(),
                )
                .await?;
            found.extend(self.with_coverage(tx, breaches).await?);
            if (candidates.len() as i64) < chunk {
                break;
            }
        }
        Ok(found)
    }

    /// The breaches among `candidates`, at most `wanted`. The store reads only
    /// each pupil's unconsumed qualifying marks (after their latest decided case).
    async fn breaches_among(
        &self,
        tx: &mut dyn StoreTx,
        candidates: &[String],
        filter: &QualifyingFilter<'_>,
        weeks_by_school: &WeeksBySchool,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let mut marks: BTreeMap<String, Vec<(PupilMark, String)>> = BTreeMap::new();
        for m in tx
            .qualifying_marks(self.authority, candidates, filter)
            .await?
        {
            marks.entry(m.upn).or_default().push((m.mark, m.school_urn));
        }
        let mut schools: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (upn, school) in tx
            .enrolments_between(self.authority, candidates, filter.from, self.as_of)
            .await?
        {
            schools.entry(upn).or_default().push(school);
        }
        let mut breaches = Vec::new();
        for upn in candidates {
            let Some(pupil_marks) = marks.get(upn) else {
                continue;
            };
            let school_weeks: BTreeSet<NaiveDate> = schools
                .get(upn)
                .into_iter()
                .flatten()
                .filter_map(|s| weeks_by_school.get(s))
                .flatten()
                .copied()
                .collect();
            let just_marks: Vec<PupilMark> = pupil_marks.iter().map(|(m, _)| m.clone()).collect();
            let Some(breach) = attendance::threshold_breach(
                &just_marks,
                &school_weeks,
                self.as_of,
                self.threshold,
            ) else {
                continue;
            };
            let latest = breach.sessions.last().expect("a breach has sessions");
            let school_urn = pupil_marks
                .iter()
                .filter(|(m, _)| m.date == latest.date && m.session == latest.session)
                .map(|(_, s)| s.clone())
                .max()
                .unwrap_or_default();
            breaches.push(FoundBreach {
                upn: upn.clone(),
                school_urn,
                breach,
                covered_by_notice_to_improve: false,
                covered_by_penalty_notice: false,
                policy_version: self.policy_name.to_string(),
                as_of: self.as_of,
                decided: None,
                sen_provision: None,
            });
            if breaches.len() == wanted {
                break;
            }
        }
        Ok(breaches)
    }

    /// Says of each breach whether notices already cover it.
    async fn with_coverage(
        &self,
        tx: &mut dyn StoreTx,
        breaches: Vec<FoundBreach>,
    ) -> ServiceResult<Vec<FoundBreach>> {
        with_coverage(tx, self.authority, breaches).await
    }
}

/// Says of each breach whether notices already cover it.
pub(super) async fn with_coverage(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    mut breaches: Vec<FoundBreach>,
) -> ServiceResult<Vec<FoundBreach>> {
    let upns: Vec<String> = breaches.iter().map(|b| b.upn.clone()).collect();
    let notices: Vec<Notice> = if upns.is_empty() {
        vec![]
    } else {
        tx.notices_of_pupils(authority, &upns).await?
    };
    for b in &mut breaches {
        let theirs: Vec<Notice> = notices
            .iter()
            .filter(|n| n.pupil.upn.as_str() == b.upn)
            .cloned()
            .collect();
        let (nti, penalty) = notice::breach_coverage(&b.breach, &theirs);
        b.covered_by_notice_to_improve = nti;
        b.covered_by_penalty_notice = penalty;
    }
    Ok(breaches)
}
