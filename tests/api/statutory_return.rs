//! The full DfE return through the API for a hand-worked authority: notices
//! of each main reason and each outcome (every reason for withdrawal, a
//! prosecution from a case and one recorded on the notice), and cases of
//! each other measure with every prosecution outcome. Every count of the
//! return and the CSV's text are checked against figures worked by hand
//! (the same authority as `domain::report`'s unit test `hand_worked`).

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::notices::{Penalty, d, issue, proto_date, sessions, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::{As, TestApp, on_both_backends};

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// A penalty notice to "mum" for `pupil`, issued (and received: by hand) on
/// `issued`, for one week of absence from the Monday a week before.
async fn notice(
    app: &TestApp,
    pupil: u32,
    reason: pb::OffenceReason,
    issued: NaiveDate,
) -> pb::Notice {
    let monday = issued - chrono::Duration::days(7);
    let mut p = Penalty::holiday(pupil, &["mum"], monday, issued);
    p.reason = reason;
    p.sessions = sessions(
        monday,
        5,
        match reason {
            pb::OffenceReason::Late => "U",
            pb::OffenceReason::Other => "O",
            _ => "G",
        },
    );
    issue(app, p.request(&format!("n{pupil}")))
        .await
        .unwrap()
        .remove(0)
}

async fn paid(app: &TestApp, n: &pb::Notice, pence: i64, on: NaiveDate) {
    let id = format!("pay-{}", n.notice_number);
    pay(app, payment("850", &id, pence, on, &n.notice_number, &[])).await;
}

async fn withdraw(app: &TestApp, n: &pb::Notice, ground: pb::WithdrawalGround, on: NaiveDate) {
    officer(app)
        .notices()
        .withdraw_notice(pb::WithdrawNoticeRequest {
            name: n.name.clone(),
            request_id: format!("w-{}", n.notice_number),
            withdrawal: Some(pb::Withdrawal {
                ground: ground as i32,
                reason: "As found".into(),
                withdrawal_date: proto_date(on),
            }),
        })
        .await
        .unwrap();
}

/// Opens a case for `pupil` following `follows` (or a breach when empty).
async fn open(
    app: &TestApp,
    id: &str,
    kind: pb::MeasureKind,
    pupil: u32,
    on: NaiveDate,
    follows: Option<&pb::Notice>,
    section: pb::ProsecutionSection,
) -> String {
    officer(app)
        .measures()
        .open_case(pb::OpenCaseRequest {
            parent: "authorities/850".into(),
            request_id: id.into(),
            kind: kind as i32,
            upn: upn(pupil),
            school_urn: "116439".into(),
            parents: vec![pb::CaseParent {
                person_id: "mum".into(),
                given_name: "Jo".into(),
                family_name: "Taylor".into(),
            }],
            follows: vec![follows.map_or_else(
                || format!("authorities/850/breaches/{pupil}"),
                |n| n.name.clone(),
            )],
            opened_on: proto_date(on),
            section: section as i32,
            order_basis: if kind == pb::MeasureKind::ParentingOrder {
                pb::ParentingOrderBasis::FreeStanding as i32
            } else {
                0
            },
        })
        .await
        .unwrap()
        .into_inner()
        .measure_case
        .unwrap()
        .name
}

async fn record(app: &TestApp, case: &str, id: &str, details: pb::CaseEventDetails) {
    officer(app)
        .measures()
        .record_case_event(pb::RecordCaseEventRequest {
            name: case.into(),
            request_id: id.into(),
            event: Some(details),
        })
        .await
        .unwrap();
}

fn event(kind: pb::CaseEventKind, on: NaiveDate) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        kind: kind as i32,
        date: proto_date(on),
        ..Default::default()
    }
}

fn listed(on: NaiveDate, hearing: NaiveDate) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        court: "Winchester Magistrates' Court".into(),
        hearing_date: proto_date(hearing),
        ..event(pb::CaseEventKind::HearingListed, on)
    }
}

fn outcome(
    on: NaiveDate,
    disposal: pb::Disposal,
    fine_pence: i64,
    parenting_order: bool,
) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        outcome: Some(pb::CaseOutcome {
            disposal: disposal as i32,
            fine_pence,
            costs_pence: 0,
            parenting_order,
        }),
        ..event(pb::CaseEventKind::OutcomeRecorded, on)
    }
}

/// The authority for 2024/25, as of 1 October 2025 (the clock). Notices are
/// received the day they are issued (by hand): day 21 and day 28 count from
/// the issue date.
///
/// | notice | reason  | issued      | what happened                                          | counts as                    |
/// |--------|---------|-------------|--------------------------------------------------------|------------------------------|
/// | 1      | holiday | 16 Sep 2024 | £80 paid 20 Sep (day 5)                                | paid within 21 days          |
/// | 2      | holiday | 7 Oct       | £160 paid 31 Oct (day 25; day 21 is 27 Oct)            | paid on days 22-28           |
/// | 3      | holiday | 4 Nov       | withdrawn 20 Nov: material errors                      | withdrawn, material error    |
/// | 4      | late    | 13 Jan 2025 | case P1 s444(1): fined 20 Mar, parenting order (O1)    | prosecuted (the case)        |
/// | 5      | late    | 3 Feb       | case P2 s444(1A): hearing listed for 3 Nov 2025        | unresolved                   |
/// | 6      | other   | 3 Feb       | no case; its own prosecution outcome, hearing 1 Apr    | prosecuted (the notice)      |
/// | 7      | holiday | 3 Mar       | withdrawn 15 Apr (after day 28, 30 Mar): ought not to have been issued | withdrawn, expiry no legal action |
/// | 8      | holiday | 3 Mar       | withdrawn 10 Mar: issued to the wrong person           | withdrawn, wrong issue       |
/// | 9      | other   | 7 Apr       | withdrawn 8 Apr: outside the code of conduct           | withdrawn, conduct           |
/// | 10     | holiday | 5 May       | £160 paid 3 Jun (day 30)                               | unresolved                   |
/// | 11     | late    | 13 Jan      | case P3 s444(1) 17 Feb; £160 paid 24 Feb stops it; discontinued 1 Mar | unresolved (no outcome) |
/// | 12     | holiday | 30 Aug 2024 | before the year                                        | -                            |
/// | 13     | holiday | 1 Sep 2025  | after the year                                         | -                            |
/// | 14     | notice to improve, 5 May 2025                                        | notices to improve 1         |
///
/// Notices: 11 issued (holiday 6, late 3, other 2); paid 2 (21 days 1, days
/// 22-28 1); withdrawn 4 (one of each reason); prosecuted 2; unresolved 3.
/// Holiday: paid 2 (1 + 1), withdrawn 3, unresolved 1. Late: prosecuted 1,
/// unresolved 2. Other: withdrawn 1, prosecuted 1.
///
/// Prosecutions referred in the year: P1 s444(1) fined; P2 s444(1A)
/// awaiting; P3 s444(1) discontinued; P4 s444(1) (a breach) 1 Apr,
/// conditional discharge 1 Jun; P5 s444(1A) 1 Apr, withdrawn 1 May; P6
/// s444(1) 1 May, dismissed 15 Sep 2025. P7 (20 Aug 2024) is before the
/// year. Total 6: one of each outcome; s444(1) 4 (fine, discharge, dismissed,
/// discontinued); s444(1A) 2 (withdrawn, awaiting).
///
/// Contracts: C1 offered 1 Oct 2024, accepted 8 Oct; C2 offered 10 Jan,
/// declined 17 Jan; C3 offered 20 Aug 2024 (before the year), accepted 5 Sep:
/// offered 2, accepted 1. Parenting orders: O1 (P1's, 20 Mar), O2 free-standing
/// 1 Jul; O3 10 Sep 2025 is after the year: granted 2. Supervision orders: E1
/// for notice 5's pupil (P2's), applied 1 Nov, made 1 Dec: in addition to
/// prosecution; E2 made 1 Feb: in place of; E3 refused; E4 made 5 Sep 2025,
/// after the year: made 2, in place 1, in addition 1.
async fn hand_worked_authority(app: &TestApp) {
    use pb::CaseEventKind as E;
    use pb::MeasureKind as K;
    use pb::OffenceReason::{Holiday, Late, Other};
    use pb::ProsecutionSection as S;
    use pb::WithdrawalGround as G;
    app.clock.set_day(d(2025, 10, 1));
    let none = S::Unspecified;

    let n1 = notice(app, 1, Holiday, d(2024, 9, 16)).await;
    paid(app, &n1, 8_000, d(2024, 9, 20)).await;
    let n2 = notice(app, 2, Holiday, d(2024, 10, 7)).await;
    paid(app, &n2, 16_000, d(2024, 10, 31)).await;
    let n3 = notice(app, 3, Holiday, d(2024, 11, 4)).await;
    withdraw(app, &n3, G::MaterialErrors, d(2024, 11, 20)).await;
    let n4 = notice(app, 4, Late, d(2025, 1, 13)).await;
    let n5 = notice(app, 5, Late, d(2025, 2, 3)).await;
    let n6 = notice(app, 6, Other, d(2025, 2, 3)).await;
    officer(app)
        .notices()
        .record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
            name: n6.name.clone(),
            request_id: "n6-outcome".into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome {
                hearing_date: proto_date(d(2025, 4, 1)),
                court: "Winchester Magistrates' Court".into(),
                result: pb::ProsecutionResult::Convicted as i32,
                fine_pence: 20_000,
                costs_pence: 0,
            }),
        })
        .await
        .unwrap();
    let n7 = notice(app, 7, Holiday, d(2025, 3, 3)).await;
    withdraw(app, &n7, G::OughtNotToHaveBeenIssued, d(2025, 4, 15)).await;
    let n8 = notice(app, 8, Holiday, d(2025, 3, 3)).await;
    withdraw(app, &n8, G::IssuedToWrongPerson, d(2025, 3, 10)).await;
    let n9 = notice(app, 9, Other, d(2025, 4, 7)).await;
    withdraw(app, &n9, G::OutsideCodeOfConduct, d(2025, 4, 8)).await;
    let n10 = notice(app, 10, Holiday, d(2025, 5, 5)).await;
    paid(app, &n10, 16_000, d(2025, 6, 3)).await;
    let n11 = notice(app, 11, Late, d(2025, 1, 13)).await;
    notice(app, 12, Holiday, d(2024, 8, 30)).await;
    notice(app, 13, Holiday, d(2025, 9, 1)).await;
    officer(app)
        .notices()
        .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
            parent: "authorities/850".into(),
            request_id: "nti-14".into(),
            pupil: crate::helpers::notices::pupil(14),
            parents: vec![crate::helpers::notices::parent("mum")],
            issue_date: proto_date(d(2025, 5, 5)),
            issuer: crate::helpers::notices::issuer(pb::IssuerRole::LaOfficer),
            improvement_period: Some(pb::ImprovementPeriod {
                start_date: proto_date(d(2025, 5, 5)),
                school_weeks: 4,
                end_date: None,
                reason: "Attend every session".into(),
            }),
            delivery: crate::helpers::notices::by_hand(),
            breach: None,
        })
        .await
        .unwrap();

    // Prosecutions.
    let p1 = open(
        app,
        "p1",
        K::Prosecution,
        4,
        d(2025, 2, 17),
        Some(&n4),
        S::S4441,
    )
    .await;
    record(app, &p1, "p1-listed", listed(d(2025, 3, 1), d(2025, 3, 20))).await;
    record(
        app,
        &p1,
        "p1-outcome",
        outcome(d(2025, 3, 20), pb::Disposal::Fine, 25_000, true),
    )
    .await;
    let p2 = open(
        app,
        "p2",
        K::Prosecution,
        5,
        d(2025, 3, 10),
        Some(&n5),
        S::S4441a,
    )
    .await;
    record(
        app,
        &p2,
        "p2-listed",
        listed(d(2025, 3, 20), d(2025, 11, 3)),
    )
    .await;
    let p3 = open(
        app,
        "p3",
        K::Prosecution,
        11,
        d(2025, 2, 17),
        Some(&n11),
        S::S4441,
    )
    .await;
    paid(app, &n11, 16_000, d(2025, 2, 24)).await;
    record(
        app,
        &p3,
        "p3-decision",
        pb::CaseEventDetails {
            payment_decision: pb::PaymentDecision::Discontinue as i32,
            reason: "Paid in full before the hearing".into(),
            ..event(E::PaymentDecisionRecorded, d(2025, 3, 1))
        },
    )
    .await;
    let p4 = open(app, "p4", K::Prosecution, 30, d(2025, 4, 1), None, S::S4441).await;
    record(app, &p4, "p4-listed", listed(d(2025, 4, 15), d(2025, 6, 1))).await;
    record(
        app,
        &p4,
        "p4-outcome",
        outcome(d(2025, 6, 1), pb::Disposal::ConditionalDischarge, 0, false),
    )
    .await;
    let p5 = open(
        app,
        "p5",
        K::Prosecution,
        31,
        d(2025, 4, 1),
        None,
        S::S4441a,
    )
    .await;
    record(
        app,
        &p5,
        "p5-outcome",
        outcome(d(2025, 5, 1), pb::Disposal::Withdrawn, 0, false),
    )
    .await;
    let p6 = open(app, "p6", K::Prosecution, 32, d(2025, 5, 1), None, S::S4441).await;
    record(
        app,
        &p6,
        "p6-listed",
        listed(d(2025, 5, 20), d(2025, 9, 15)),
    )
    .await;
    record(
        app,
        &p6,
        "p6-outcome",
        outcome(d(2025, 9, 15), pb::Disposal::Dismissed, 0, false),
    )
    .await;
    open(
        app,
        "p7",
        K::Prosecution,
        33,
        d(2024, 8, 20),
        None,
        S::S4441,
    )
    .await;

    // Attendance contracts.
    let c1 = open(
        app,
        "c1",
        K::AttendanceContract,
        40,
        d(2024, 10, 1),
        None,
        none,
    )
    .await;
    record(app, &c1, "c1-accepted", event(E::Accepted, d(2024, 10, 8))).await;
    let c2 = open(
        app,
        "c2",
        K::AttendanceContract,
        41,
        d(2025, 1, 10),
        None,
        none,
    )
    .await;
    record(app, &c2, "c2-declined", event(E::Declined, d(2025, 1, 17))).await;
    let c3 = open(
        app,
        "c3",
        K::AttendanceContract,
        42,
        d(2024, 8, 20),
        None,
        none,
    )
    .await;
    record(app, &c3, "c3-accepted", event(E::Accepted, d(2024, 9, 5))).await;

    // Parenting orders (O1 opened by P1's outcome).
    open(app, "o2", K::ParentingOrder, 50, d(2025, 7, 1), None, none).await;
    open(app, "o3", K::ParentingOrder, 51, d(2025, 9, 10), None, none).await;

    // Education supervision orders.
    let e1 = open(
        app,
        "e1",
        K::EducationSupervisionOrder,
        5,
        d(2024, 11, 1),
        None,
        none,
    )
    .await;
    record(app, &e1, "e1-made", event(E::Made, d(2024, 12, 1))).await;
    let e2 = open(
        app,
        "e2",
        K::EducationSupervisionOrder,
        60,
        d(2025, 1, 1),
        None,
        none,
    )
    .await;
    record(app, &e2, "e2-made", event(E::Made, d(2025, 2, 1))).await;
    let e3 = open(
        app,
        "e3",
        K::EducationSupervisionOrder,
        61,
        d(2025, 3, 1),
        None,
        none,
    )
    .await;
    record(app, &e3, "e3-refused", event(E::Refused, d(2025, 4, 1))).await;
    let e4 = open(
        app,
        "e4",
        K::EducationSupervisionOrder,
        62,
        d(2025, 6, 1),
        None,
        none,
    )
    .await;
    record(app, &e4, "e4-made", event(E::Made, d(2025, 9, 5))).await;
}

async fn statutory_return(
    app: &TestApp,
    as_of: Option<NaiveDate>,
) -> pb::GetStatutoryReturnResponse {
    app.as_role("850", Role::Auditor)
        .reports()
        .get_statutory_return(pb::GetStatutoryReturnRequest {
            parent: "authorities/850".into(),
            academic_year_start: 2024,
            as_of_date: as_of.and_then(proto_date),
        })
        .await
        .unwrap()
        .into_inner()
}

/// issued, paid within 21 days, within 28, on days 22-28, withdrawn, prosecuted, other.
fn counts(c: &Option<pb::PenaltyNoticeCounts>) -> [i64; 7] {
    let c = c.unwrap();
    [
        c.issued,
        c.paid_within_21_days,
        c.paid_within_28_days,
        c.paid_on_days_22_to_28,
        c.withdrawn,
        c.prosecuted,
        c.other_or_outstanding,
    ]
}

/// referred, fine, conditional discharge, withdrawn, dismissed, discontinued, awaiting.
fn prosecutions(c: &Option<pb::ProsecutionCounts>) -> [i64; 7] {
    let c = c.unwrap();
    [
        c.referred,
        c.fine,
        c.conditional_discharge,
        c.withdrawn,
        c.dismissed,
        c.discontinued,
        c.awaiting_outcome,
    ]
}

/// The CSV's header: the published file's columns, then ours (the SEN
/// breakdown last).
pub(crate) const HEADER: &str = concat!(
    "time_period,time_identifier,geographic_level,old_la_code,",
    "pn_issued,reason_pn_hols,reason_pn_late,reason_pn_other,pn_paid,pn_paid_21,pn_paid_22_28,",
    "pn_withdrawn,withdrawn_reason_conduct,withdrawn_reason_wrong_issue,",
    "withdrawn_reason_material_error,withdrawn_reason_expiry_no_legal,",
    "pn_prosecuted_non_payment,pn_unresolved,parenting_orders_granted,",
    "parenting_contracts_offered,parenting_contracts_accepted,supervision_orders_total,",
    "supervision_orders_inplaceofprosecution,supervision_orders_inadditiontoprosecution,",
    "reason_pn_hols_paid,reason_pn_hols_paid_21,reason_pn_hols_paid_22_28,reason_pn_hols_withdrawn,",
    "reason_pn_hols_prosecuted_non_payment,reason_pn_hols_unresolved,",
    "reason_pn_late_paid,reason_pn_late_paid_21,reason_pn_late_paid_22_28,reason_pn_late_withdrawn,",
    "reason_pn_late_prosecuted_non_payment,reason_pn_late_unresolved,",
    "reason_pn_other_paid,reason_pn_other_paid_21,reason_pn_other_paid_22_28,reason_pn_other_withdrawn,",
    "reason_pn_other_prosecuted_non_payment,reason_pn_other_unresolved,",
    "nti_issued,",
    "prosecutions,prosecutions_fine,prosecutions_conditional_discharge,prosecutions_withdrawn,",
    "prosecutions_dismissed,prosecutions_discontinued,prosecutions_awaiting_outcome,",
    "prosecutions_s444_1,prosecutions_s444_1_fine,prosecutions_s444_1_conditional_discharge,",
    "prosecutions_s444_1_withdrawn,prosecutions_s444_1_dismissed,prosecutions_s444_1_discontinued,",
    "prosecutions_s444_1_awaiting_outcome,",
    "prosecutions_s444_1a,prosecutions_s444_1a_fine,prosecutions_s444_1a_conditional_discharge,",
    "prosecutions_s444_1a_withdrawn,prosecutions_s444_1a_dismissed,prosecutions_s444_1a_discontinued,",
    "prosecutions_s444_1a_awaiting_outcome,",
    "pn_issued_sen_none,pn_issued_sen_support,pn_issued_sen_ehc_plan,pn_issued_sen_not_known,",
    "nti_issued_sen_none,nti_issued_sen_support,nti_issued_sen_ehc_plan,nti_issued_sen_not_known\n",
);

on_both_backends! {
    async fn the_return_for_a_hand_worked_authority_matches_every_count(app) {
        hand_worked_authority(&app).await;
        let r = statutory_return(&app, None).await;
        assert_eq!((r.la_code.as_str(), r.academic_year.as_str()), ("850", "2024/25"));
        assert_eq!(r.as_of_date, proto_date(d(2025, 10, 1)));
        assert_eq!(counts(&r.totals), [11, 1, 2, 1, 4, 2, 3]);
        let by: Vec<(i32, [i64; 7])> = r.by_reason.iter().map(|c| (c.reason, counts(&c.counts))).collect();
        assert_eq!(by, vec![
            (pb::OffenceReason::Holiday as i32, [6, 1, 2, 1, 3, 0, 1]),
            (pb::OffenceReason::Late as i32, [3, 0, 0, 0, 0, 1, 2]),
            (pb::OffenceReason::Other as i32, [2, 0, 0, 0, 1, 1, 0]),
        ]);
        let w = r.withdrawn_by_reason.unwrap();
        assert_eq!([w.conduct, w.wrong_issue, w.material_error, w.expiry_no_legal], [1, 1, 1, 1]);
        assert_eq!(r.notices_to_improve_issued, 1);
        assert_eq!(prosecutions(&r.prosecutions), [6, 1, 1, 1, 1, 1, 1]);
        let by_section: Vec<(i32, [i64; 7])> = r.prosecutions_by_section.iter().map(|s| (s.section, prosecutions(&s.counts))).collect();
        assert_eq!(by_section, vec![
            (pb::ProsecutionSection::S4441 as i32, [4, 1, 1, 0, 1, 1, 0]),
            (pb::ProsecutionSection::S4441a as i32, [2, 0, 0, 1, 0, 0, 1]),
        ]);
        assert_eq!((r.attendance_contracts_offered, r.attendance_contracts_accepted), (2, 1));
        assert_eq!(r.parenting_orders_granted, 2);
        assert_eq!(
            (
                r.education_supervision_orders_made,
                r.education_supervision_orders_in_place_of_prosecution,
                r.education_supervision_orders_in_addition_to_prosecution,
            ),
            (2, 1, 1)
        );
        let row = concat!(
            "202425,Academic year,Local authority,850,",
            "11,6,3,2,2,1,1,4,1,1,1,1,2,3,2,2,1,2,1,1,",
            "2,1,1,3,0,1,",
            "0,0,0,0,1,2,",
            "0,0,0,1,1,0,",
            "1,",
            "6,1,1,1,1,1,1,",
            "4,1,1,0,1,1,0,",
            "2,0,0,1,0,0,1,",
            // No pupil's SEN status was sent: every notice's is not known.
            "0,0,0,11,0,0,0,1\n",
        );
        assert_eq!(r.csv, format!("{HEADER}{row}"));

        // The command prints the same text.
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .args(["statutory-return", "--authority", "850", "--year", "2024", "--as-of", "2025-10-01", "--format", "csv"])
            .env("DATABASE_URL", app.database_url())
            .env_remove("LEA_NOTICES_CONFIG")
            .env("RUST_LOG", "error")
            .output()
            .await
            .expect("run lea-notices");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8(output.stdout).unwrap(), r.csv);

        // As of 15 March 2025: notices 9, 10 and 13 not yet issued; 7 not yet
        // withdrawn; P1 had no outcome yet (its hearing was 20 March) and 6's
        // hearing was 1 April, so 4 and 6 were still unresolved; P3 was
        // already discontinued. Only P1, P2 and P3 were referred.
        let earlier = statutory_return(&app, Some(d(2025, 3, 15))).await;
        assert_eq!(counts(&earlier.totals), [9, 1, 2, 1, 2, 0, 5]);
        assert_eq!(prosecutions(&earlier.prosecutions), [3, 0, 0, 0, 0, 1, 2]);
        assert_eq!(earlier.parenting_orders_granted, 0);
        assert_eq!((earlier.attendance_contracts_offered, earlier.attendance_contracts_accepted), (2, 1));
        assert_eq!(earlier.education_supervision_orders_in_addition_to_prosecution, 1);
    }
}
