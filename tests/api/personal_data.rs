//! Nothing personal where it does not belong (#29): the server binary, at its
//! default settings (`RUST_LOG=info`, text logs) with its traces exported over
//! OTLP to a collector in this test, is driven through every RPC with
//! recognisable personal data: a family's names, address, the child's UPN and
//! free text, in good requests and in bad ones. Then its log, every exported
//! span and every error a caller received are searched for each of them.

use lea_notices::domain::actor::Role;
use lea_notices::domain::identifiers::Upn;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;

use crate::access;
use crate::child::ChildServer;
use crate::helpers::attendance::{SCHOOL, at, batch};
use crate::helpers::notices::{Penalty, d, proto_date};
use crate::helpers::otlp;
use crate::helpers::{As, date};

const PUPIL_GIVEN: &str = "Xanthippe";
const PUPIL_FAMILY: &str = "Quillfeather";
const PARENT_GIVEN: &str = "Ysolde";
const PARENT_FAMILY: &str = "Marchbanks-Ortiz";
const STREET: &str = "17 Peregrine Mews";
const TOWN: &str = "Lower Zennor";
const POSTCODE: &str = "TR26 3QZ";
const FREE_TEXT: &str = "Zanzibar fortnight with grandparents";
const PAYER: &str = "Wilhelmina Fothergill";

/// The child's UPN: a valid one no other test uses.
fn the_upn() -> String {
    let body = "850200126987";
    format!("{}{body}", Upn::check_letter(body).unwrap())
}

/// Every value searched for: the UPN's digits without its check letter too, so
/// a message quoting a mistyped UPN is caught.
fn personal_values() -> Vec<String> {
    let upn = the_upn();
    vec![
        upn.clone(),
        upn[1..].to_string(),
        PUPIL_GIVEN.into(),
        PUPIL_FAMILY.into(),
        PARENT_GIVEN.into(),
        PARENT_FAMILY.into(),
        STREET.into(),
        TOWN.into(),
        POSTCODE.into(),
        "Zanzibar".into(),
        "Fothergill".into(),
    ]
}

/// A holiday mark (`G`) for `upn` on `day` November 2026.
fn g_mark(upn: &str, day: u32, session: pb::Session) -> pb::Mark {
    pb::Mark {
        school_urn: SCHOOL.into(),
        upn: upn.into(),
        date: proto_date(d(2026, 11, day)),
        session: session as i32,
        code: "G".into(),
        record_time: at(60_000_000),
    }
}

fn address() -> Option<pb::PostalAddress> {
    Some(pb::PostalAddress {
        lines: vec![STREET.into(), TOWN.into()],
        postcode: POSTCODE.into(),
    })
}

/// The family's notice, issued by hand on Monday 23 Nov 2026 for a week of
/// holiday from 9 Nov.
fn notice_request(request_id: &str) -> pb::IssuePenaltyNoticeRequest {
    let mut request =
        Penalty::holiday(1, &["p"], d(2026, 11, 9), d(2026, 11, 23)).request(request_id);
    request.pupil = Some(pb::Pupil {
        upn: the_upn(),
        school_urn: SCHOOL.into(),
        given_name: PUPIL_GIVEN.into(),
        family_name: PUPIL_FAMILY.into(),
        address: address(),
    });
    // The helper's parent, whatever else it carries, renamed and moved.
    let parent = &mut request.parents[0];
    parent.person_id = "family-1".into();
    parent.given_name = PARENT_GIVEN.into();
    parent.family_name = PARENT_FAMILY.into();
    parent.address = address();
    if let Some(offence) = request.offence.as_mut() {
        offence.description = FREE_TEXT.into();
    }
    request
}

/// Bad requests that carry personal data: each must be refused without
/// quoting it.
async fn refusals(officer: &As) -> Vec<tonic::Status> {
    let mut refused = Vec::new();
    let wrong_check_letter = {
        let upn = the_upn();
        let other = if upn.starts_with('A') { 'B' } else { 'A' };
        format!("{other}{}", &upn[1..])
    };
    let mut bad_upn = notice_request("pd-bad-upn");
    bad_upn.pupil.as_mut().unwrap().upn = wrong_check_letter.clone();
    let mut long_name = notice_request("pd-long-name");
    long_name.parents[0].family_name = PARENT_FAMILY.repeat(40);
    let mut bad_postcode = notice_request("pd-bad-postcode");
    bad_postcode.parents[0].address.as_mut().unwrap().postcode = POSTCODE.repeat(30);
    let mut control = notice_request("pd-control");
    control.pupil.as_mut().unwrap().given_name = format!("{PUPIL_GIVEN}\u{7}");
    let mut long_text = notice_request("pd-long-text");
    long_text.offence.as_mut().unwrap().description = FREE_TEXT.repeat(200);
    for request in [bad_upn, long_name, bad_postcode, control, long_text] {
        refused.push(
            officer
                .notices()
                .issue_penalty_notice(request)
                .await
                .expect_err("a bad request is refused"),
        );
    }
    let mut marks = batch(
        "pd-bad-marks",
        vec![g_mark(&wrong_check_letter, 9, pb::Session::Am)],
    );
    marks.parent = "authorities/850".into();
    refused.push(
        officer
            .attendance()
            .record_marks(tokio_stream::iter(vec![marks]))
            .await
            .expect_err("a mistyped UPN is refused"),
    );
    refused.push(
        officer
            .attendance()
            .get_mark_history(pb::GetMarkHistoryRequest {
                parent: "authorities/850".into(),
                school_urn: SCHOOL.into(),
                upn: wrong_check_letter,
                date: proto_date(d(2026, 11, 9)),
                ..Default::default()
            })
            .await
            .expect_err("a mistyped UPN is refused"),
    );
    refused.push(
        officer
            .payments()
            .record_payment(pb::RecordPaymentRequest {
                parent: "authorities/850".into(),
                payment: Some(pb::Payment {
                    payer_name: PAYER.into(),
                    payer_reference: format!("{PAYER} {}", the_upn()),
                    ..Default::default()
                }),
            })
            .await
            .expect_err("a payment without an amount is refused"),
    );
    refused
}

/// Good calls that read and write the family's data.
async fn the_family_through_the_service(server: &ChildServer) {
    let officer = server.as_role("850", Role::LaOfficer).await;
    let admin = server.as_role("850", Role::Admin).await;
    // What the letter prints besides the family: the school and the authority.
    officer
        .schools()
        .import_schools(pb::ImportSchoolsRequest {
            parent: "authorities/850".into(),
            request_id: "pd-school".into(),
            schools: vec![pb::School {
                urn: SCHOOL.into(),
                la_code: "850".into(),
                establishment_name: "Fixture School".into(),
                status: pb::SchoolStatus::Open as i32,
                ..Default::default()
            }],
        })
        .await
        .expect("the school");
    admin
        .policy()
        .create_authority_settings(pb::CreateAuthoritySettingsRequest {
            parent: "authorities/850".into(),
            request_id: "pd-settings".into(),
            settings: Some(pb::AuthoritySettings {
                effective_from: date(2024, 9, 1),
                authority_name: "Authority 850".into(),
                address: Some(pb::PostalAddress {
                    lines: vec!["1 Council Street".into()],
                    postcode: "SO23 8UG".into(),
                }),
                payment_url: "https://pay.example.gov.uk".into(),
                payment_telephone: "0300 555 0000".into(),
                questions_contact: "the attendance team".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("the settings");
    let mut marks = batch(
        "pd-marks",
        (9..=13)
            .flat_map(|day| [pb::Session::Am, pb::Session::Pm].map(|s| g_mark(&the_upn(), day, s)))
            .collect(),
    );
    marks.parent = "authorities/850".into();
    officer
        .attendance()
        .record_marks(tokio_stream::iter(vec![marks]))
        .await
        .expect("the family's marks");
    let notices = officer
        .notices()
        .issue_penalty_notice(notice_request("pd-notice"))
        .await
        .expect("the family's notice")
        .into_inner()
        .notices;
    let name = notices[0].name.clone();
    officer
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.clone() })
        .await
        .expect("read back");
    officer
        .notices()
        .render_notice(pb::RenderNoticeRequest { name: name.clone() })
        .await
        .expect("the letter");
    officer
        .attendance()
        .get_mark_history(pb::GetMarkHistoryRequest {
            parent: "authorities/850".into(),
            school_urn: SCHOOL.into(),
            upn: the_upn(),
            date: proto_date(d(2026, 11, 9)),
            session: pb::Session::Am as i32,
        })
        .await
        .expect("the history");
    server
        .as_role("850", Role::Finance)
        .await
        .payments()
        .record_payment(pb::RecordPaymentRequest {
            parent: "authorities/850".into(),
            payment: Some(pb::Payment {
                amount_pence: 8_000,
                paid_date: proto_date(d(2026, 11, 30)),
                receive_time: Some(prost_types::Timestamp {
                    seconds: 1_796_025_600,
                    nanos: 0,
                }),
                channel: pb::PaymentChannel::Online as i32,
                provider: "govuk-pay".into(),
                provider_payment_id: "pd-pay-1".into(),
                payer_reference: notices[0].notice_number.clone(),
                payer_name: PAYER.into(),
                ..Default::default()
            }),
        })
        .await
        .expect("the payment");
    officer
        .notices()
        .withdraw_notice(pb::WithdrawNoticeRequest {
            name,
            request_id: "pd-withdraw".into(),
            withdrawal: Some(pb::Withdrawal {
                ground: pb::WithdrawalGround::MaterialErrors as i32,
                reason: format!("{FREE_TEXT}: misspelt {PARENT_FAMILY}"),
                withdrawal_date: proto_date(d(2026, 12, 1)),
            }),
        })
        .await
        .expect("withdrawn");
}

async fn scan(backend: Backend) {
    let collector = otlp::Collector::start().await;
    let mut server = ChildServer::spawn(
        backend,
        &[
            ("RUST_LOG", "info"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    the_family_through_the_service(&server).await;
    let officer = server.as_role("850", Role::LaOfficer).await;
    let errors = refusals(&officer).await;
    // Every RPC, by every role, as the access test calls them.
    for role in Role::ALL {
        let who = server.as_role("850", role).await;
        for method in access::METHODS {
            access::call(&who, method, "850").await;
        }
    }
    server.terminate().await;
    let log = server.log();
    let spans: Vec<String> = collector.spans().iter().map(|s| format!("{s:?}")).collect();

    // The scan sees what it scans: the calls are in the log and the spans.
    assert!(
        log.contains("IssuePenaltyNotice"),
        "the log shows the calls:\n{log}"
    );
    assert!(
        spans.iter().any(|s| s.contains("IssuePenaltyNotice")),
        "{} spans exported, none of IssuePenaltyNotice",
        spans.len()
    );
    for value in personal_values() {
        assert!(
            !log.contains(&value),
            "the server log holds {value:?}:\n{log}"
        );
        if let Some(span) = spans.iter().find(|s| s.contains(&value)) {
            panic!("an exported span holds {value:?}: {span}");
        }
        for status in &errors {
            let said = format!(
                "{} {} {:?}",
                status.message(),
                String::from_utf8_lossy(status.details()),
                status.metadata()
            );
            assert!(!said.contains(&value), "an error quotes {value:?}: {said}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_value_in_logs_spans_or_errors_sqlite() {
    scan(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_value_in_logs_spans_or_errors_postgres() {
    scan(Backend::Postgres).await;
}
