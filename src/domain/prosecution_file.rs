//! The prosecution file: what a court bundle needs for a prosecution case, as
//! a [`Letter`] the letter PDF machinery prints (docs/measures.md). The
//! chronology comes from the case's events; the register extract from the
//! evidence its notices recorded at issue (school, date, session, code: the
//! core exhibit); the notices with their dates of service; the payments; and a
//! draft witness statement for the officer with the declaration of s9 Criminal
//! Justice Act 1967 (docs/domain.md, "After the notice"). Pure: the facts in,
//! the document out.

use chrono::NaiveDate;

use super::letter::{Block, Letter, long_date, pounds};
use super::measures::{CaseEvent, MeasureCase, PaymentDecision, RecordedCaseEvent, Section};
use super::notice::{DeliveryMethod, Notice};
use super::payment::Payment;
use super::session::Session;

/// The declaration a s9 statement carries (Criminal Justice Act 1967 s9(2)(b);
/// the wording of the Criminal Procedure Rules' form).
pub const S9_DECLARATION: &str = "This statement is true to the best of my knowledge and \
     belief and I make it knowing that, if it is tendered in evidence, I shall be liable to \
     prosecution if I have wilfully stated in it anything which I know to be false, or do not \
     believe to be true.";

/// What the file is made from.
pub struct FileFacts<'a> {
    /// The authority as named to parents (or its code when it has no letter settings).
    pub authority: &'a str,
    pub case_name: &'a str,
    pub case: &'a MeasureCase,
    pub events: &'a [RecordedCaseEvent],
    /// The notices the case follows.
    pub notices: &'a [Notice],
    /// The payments allocated to them.
    pub payments: &'a [Payment],
    /// The officer the statement is drafted for.
    pub officer: &'a str,
    pub prepared_on: NaiveDate,
}

fn section_text(s: Option<Section>) -> &'static str {
    match s {
        Some(Section::S444_1) => {
            "section 444(1) Education Act 1996 (failing to secure regular attendance)"
        }
        Some(Section::S444_1A) => {
            "section 444(1A) Education Act 1996 (knowingly failing to secure regular attendance)"
        }
        None => "section 444 Education Act 1996",
    }
}

fn session_text(s: Session) -> &'static str {
    match s {
        Session::Am => "morning",
        Session::Pm => "afternoon",
    }
}

/// What an event says in the chronology.
fn event_text(e: &CaseEvent, case: &MeasureCase) -> String {
    match e {
        CaseEvent::Opened => format!(
            "Referred for prosecution under {}",
            section_text(case.facts.section)
        ),
        CaseEvent::Accepted => "Attendance contract accepted".into(),
        CaseEvent::Declined => "Attendance contract declined".into(),
        CaseEvent::Made => "Order made".into(),
        CaseEvent::Refused => "Order refused".into(),
        CaseEvent::Ended { reason } => format!("Ended ({})", reason.as_str()),
        CaseEvent::HearingListed {
            court,
            hearing_date,
        } => format!("Hearing listed at {court} on {}", long_date(*hearing_date)),
        CaseEvent::PleaEntered { plea } => format!("Plea: {}", plea.as_str().replace('_', " ")),
        CaseEvent::OutcomeRecorded { outcome } => format!(
            "Outcome: {} (fine {}, costs {}){}",
            outcome.disposal.as_str().replace('_', " "),
            pounds(outcome.fine_pence),
            pounds(outcome.costs_pence),
            if outcome.parenting_order {
                "; parenting order made"
            } else {
                ""
            }
        ),
        CaseEvent::AppealLodged => "Appeal lodged".into(),
        CaseEvent::AppealDecided { result } => format!("Appeal decided: {}", result.as_str()),
        CaseEvent::BlockedByPayment { amount_pence, .. } => format!(
            "{} received on the notice after referral: the prosecution stopped pending a decision",
            pounds(*amount_pence)
        ),
        CaseEvent::PaymentDecisionRecorded { decision, reason } => match decision {
            PaymentDecision::ProceedDespitePayment => {
                format!("Decision to proceed despite the payment: {reason}")
            }
            PaymentDecision::Discontinue => format!("Prosecution discontinued: {reason}"),
        },
    }
}

fn service_text(n: &Notice) -> String {
    match (n.delivery.method, n.delivery.posting_date) {
        (DeliveryMethod::Post, Some(posted)) => format!(
            "posted on {}, taken as served on {}",
            long_date(posted),
            long_date(n.receipt_date)
        ),
        _ => format!(
            "handed to the parent (served) on {}",
            long_date(n.receipt_date)
        ),
    }
}

/// The prosecution file of `f.case`.
pub fn prosecution_file(f: &FileFacts<'_>) -> Letter {
    let case = f.case;
    let parents: Vec<String> = case
        .facts
        .parents
        .iter()
        .map(|p| format!("{} {} ({})", p.given_name, p.family_name, p.person_id))
        .collect();
    let pupil = f
        .notices
        .first()
        .map(|n| format!("{} {}", n.pupil.given_name, n.pupil.family_name))
        .unwrap_or_else(|| "the pupil".into());
    let title = format!("Prosecution file: case {}", f.case_name);
    let mut blocks = vec![
        Block::Heading(title.clone()),
        Block::Lines(vec![
            f.authority.to_string(),
            format!("Case {}", f.case_name),
            format!("Prepared on {}", long_date(f.prepared_on)),
        ]),
        Block::Heading("The case".into()),
        Block::Bullets(vec![
            format!("Offence: {}", section_text(case.facts.section)),
            format!("Parent(s): {}", parents.join("; ")),
            format!(
                "Pupil: {pupil}, UPN {}, school URN {}",
                case.upn, case.school_urn
            ),
            format!("Referred on {}", long_date(case.opened_on)),
            format!("State: {}", case.state.as_str().replace('_', " ")),
            match (&case.facts.court, case.facts.hearing_date) {
                (Some(court), Some(day)) => format!("Hearing: {court}, {}", long_date(day)),
                _ => "Hearing: not yet listed".into(),
            },
        ]),
        Block::Heading("Chronology".into()),
    ];
    let mut chronology: Vec<(NaiveDate, String)> = Vec::new();
    for n in f.notices {
        chronology.push((
            n.issue_date,
            format!("Penalty notice {} issued", n.notice_number),
        ));
        chronology.push((
            n.receipt_date,
            format!("Penalty notice {} served", n.notice_number),
        ));
    }
    for p in f.payments {
        chronology.push((
            p.paid_date,
            format!("Payment of {} made", pounds(p.amount_pence)),
        ));
    }
    for e in f.events {
        chronology.push((e.on, event_text(&e.event, case)));
    }
    chronology.sort_by_key(|(d, _)| *d);
    blocks.push(Block::Bullets(
        chronology
            .into_iter()
            .map(|(d, what)| format!("{}: {what}", long_date(d)))
            .collect(),
    ));

    blocks.push(Block::Heading("Register extract (exhibit 1)".into()));
    let mut extract = Vec::new();
    for n in f.notices {
        for s in &n.session_evidence {
            let (school, code) = match &s.held {
                Some(m) => (m.school_urn.clone(), m.code.clone()),
                None => (
                    n.pupil.school_urn.to_string(),
                    format!("{} (as claimed; no mark held)", s.claimed_code),
                ),
            };
            extract.push(format!(
                "School {school}, {}, {} session: code {code}",
                long_date(s.date),
                session_text(s.session)
            ));
        }
    }
    if extract.is_empty() {
        extract.push("No register evidence is recorded on the notices.".into());
    }
    blocks.push(Block::Bullets(extract));

    blocks.push(Block::Heading(
        "Notices and letters sent (exhibit 2)".into(),
    ));
    let mut sent: Vec<String> = f
        .notices
        .iter()
        .map(|n| {
            let charges = n.charges.as_ref().map_or_else(String::new, |c| {
                format!(
                    "; {} payable to {}",
                    pounds(c.higher_amount_pence),
                    long_date(c.higher_deadline)
                )
            });
            format!(
                "Penalty notice {} to {} {}, issued {}, {}{charges}",
                n.notice_number,
                n.parent.given_name,
                n.parent.family_name,
                long_date(n.issue_date),
                service_text(n)
            )
        })
        .collect();
    if sent.is_empty() {
        sent.push("No notice is recorded for this case.".into());
    }
    blocks.push(Block::Bullets(sent));

    blocks.push(Block::Heading("Payments (exhibit 3)".into()));
    let mut paid: Vec<String> = f
        .payments
        .iter()
        .map(|p| {
            let on_notices: Vec<String> = p
                .allocations
                .iter()
                .map(|a| format!("{} to notice {}", pounds(a.amount_pence), a.notice_number))
                .collect();
            format!(
                "{}: {} received ({} {}), {}; {} refunded",
                long_date(p.paid_date),
                pounds(p.amount_pence),
                p.provider,
                p.provider_payment_id,
                on_notices.join(", "),
                pounds(p.refunded_pence())
            )
        })
        .collect();
    if paid.is_empty() {
        paid.push("No payment has been received on the notices.".into());
    }
    blocks.push(Block::Bullets(paid));

    blocks.push(Block::Heading(
        "Draft witness statement (Criminal Justice Act 1967, s9)".into(),
    ));
    blocks.push(Block::Lines(vec![
        format!("Statement of: {}", f.officer),
        format!("Occupation: attendance officer, {}", f.authority),
    ]));
    blocks.push(Block::Paragraph(S9_DECLARATION.into()));
    let notices_said: Vec<String> = f
        .notices
        .iter()
        .map(|n| format!("{} ({})", n.notice_number, service_text(n)))
        .collect();
    blocks.push(Block::Paragraph(format!(
        "I am employed by {} as an attendance officer. I produce the extract of the \
         attendance register of school {} for {pupil} (exhibit 1), which records the sessions \
         of unauthorised absence set out in it. Penalty notice {} was issued to the parent \
         named in it (exhibit 2). The payments received are listed in exhibit 3. The matter \
         was referred for prosecution under {} on {}.",
        f.authority,
        case.school_urn,
        if notices_said.is_empty() {
            "(none)".to_string()
        } else {
            notices_said.join(", ")
        },
        section_text(case.facts.section),
        long_date(case.opened_on)
    )));
    blocks.push(Block::Lines(vec![
        "Signed: ................................".into(),
        "Dated: ................................".into(),
    ]));
    Letter { title, blocks }
}
