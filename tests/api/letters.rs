//! Letters through the real API: the authority's letter settings, versioned by
//! issue date, and `RenderNotice`, whose PDF's extracted text (poppler's
//! `pdftotext`) must state every item regulation 3 requires.

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, by_hand, d, issue, issuer, parent, proto_date, pupil};
use crate::helpers::{TestApp, broken_rules, on_both_backends, violated_fields};

const SCHOOL_NAME: &str = "St Mary’s Church of England Primary School";

/// Puts school 116439 in authority 850's register, as `import-schools` does.
pub(crate) async fn register_school(app: &TestApp) {
    let officer = crate::helpers::Bearer::new(&app.token("850", Role::LaOfficer));
    let mut schools = pb::school_service_client::SchoolServiceClient::with_interceptor(
        app.channel.clone(),
        officer,
    );
    schools
        .import_schools(pb::ImportSchoolsRequest {
            parent: "authorities/850".into(),
            request_id: "schools-1".into(),
            schools: vec![pb::School {
                urn: "116439".into(),
                la_code: "850".into(),
                establishment_number: "3001".into(),
                establishment_name: SCHOOL_NAME.into(),
                address: Some(pb::PostalAddress {
                    lines: vec![
                        "Church Lane".into(),
                        "Kings Worthy".into(),
                        "Winchester".into(),
                    ],
                    postcode: "SO23 7QA".into(),
                }),
                phase: pb::SchoolPhase::Primary as i32,
                establishment_type: "Voluntary aided school".into(),
                status: pb::SchoolStatus::Open as i32,
                ..Default::default()
            }],
        })
        .await
        .unwrap();
}

pub(crate) fn settings(
    effective_from: NaiveDate,
    name: &str,
    telephone: &str,
) -> pb::AuthoritySettings {
    pb::AuthoritySettings {
        effective_from: proto_date(effective_from),
        authority_name: name.into(),
        address: Some(pb::PostalAddress {
            lines: vec![
                "Children's Services, Elizabeth II Court North".into(),
                "The Castle".into(),
                "Winchester".into(),
            ],
            postcode: "SO23 8UG".into(),
        }),
        payment_url: "https://pay.example.gov.uk/penalty-notices".into(),
        payment_telephone: telephone.into(),
        questions_contact: "the Attendance Enforcement Team, 0300 555 1384".into(),
        ..Default::default()
    }
}

pub(crate) async fn create_settings(
    app: &TestApp,
    request_id: &str,
    s: pb::AuthoritySettings,
) -> Result<pb::AuthoritySettings, tonic::Status> {
    app.policy()
        .create_authority_settings(pb::CreateAuthoritySettingsRequest {
            parent: "authorities/850".into(),
            request_id: request_id.into(),
            settings: Some(s),
        })
        .await
        .map(|r| r.into_inner().settings.unwrap())
}

pub(crate) async fn render(
    app: &TestApp,
    role: Role,
    name: &str,
) -> Result<pb::RenderNoticeResponse, tonic::Status> {
    app.as_role("850", role)
        .notices()
        .render_notice(pb::RenderNoticeRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// The PDF's text as `pdftotext` extracts it, with every run of white space
/// (line and page breaks included) as one space.
pub(crate) fn extracted_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How the letter writes a date: "Monday 21 October 2024".
fn long(day: NaiveDate) -> String {
    day.format("%A %-d %B %Y").to_string()
}

fn assert_says(text: &str, items: &[(&str, String)]) {
    for (item, wanted) in items {
        assert!(
            text.contains(wanted.as_str()),
            "the letter lacks {item}: {wanted:?}\n---\n{text}"
        );
    }
}

on_both_backends! {
    async fn a_penalty_notice_letter_states_every_regulation_3_item_and_a_second_notice_no_lower_amount(app) {
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        // A later version is printed on later notices only.
        create_settings(&app, "s2", settings(d(2025, 1, 1), "Hampshire County Council (Education)", "0300 555 9999")).await.unwrap();

        // Issued by hand on Tuesday 1 October 2024, so received that day:
        // 21 days beginning with it end on Monday 21 October, 28 days on Monday 28 October.
        let first = issue(&app, Penalty::holiday(1, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request("n1")).await.unwrap();
        let notice = &first[0];
        assert_eq!(notice.lower_deadline, proto_date(d(2024, 10, 21)));
        assert_eq!(notice.higher_deadline, proto_date(d(2024, 10, 28)));

        let letter = render(&app, Role::LaOfficer, &notice.name).await.unwrap();
        assert_eq!(letter.content_type, "application/pdf");
        assert!(letter.content.starts_with(b"%PDF-"));
        assert!(letter.page_count >= 1);
        let text = extracted_text(&letter.content);
        assert_says(&text, &[
            ("the parent's name", "Alex Taylor".to_string()),
            ("the parent's address", "1 High Street, Winchester, SO23 8UJ".to_string()),
            ("why the parent is liable", "You are liable as a parent (section 576 of the Education Act 1996) because you have parental responsibility for the child (parent).".to_string()),
            ("the child's name and address", "Child: Sam Taylor, of 1 High Street, Winchester, SO23 8UJ".to_string()),
            ("the school's name and address", format!("School: {SCHOOL_NAME}, Church Lane, Kings Worthy, Winchester, SO23 7QA")),
            ("the issuing officer and official details", "by A. Officer, Attendance Team".to_string()),
            ("the date of issue", format!("Date of issue: {}", long(d(2024, 10, 1)))),
            ("the offence", "section 444(1) of the Education Act 1996".to_string()),
            ("the offence period", format!("between {} and {}", long(d(2024, 9, 9)), long(d(2024, 9, 13)))),
            ("the particulars", "Term-time absence".to_string()),
            ("the receipt date", format!("received on {}", long(d(2024, 10, 1)))),
            ("the lower amount and its last day", format!("£80.00 if paid within 21 days beginning with the day of receipt, that is by {}", long(d(2024, 10, 21)))),
            ("the higher amount and its last day", format!("£160.00 if paid after that but within 28 days beginning with the day of receipt, that is by {}", long(d(2024, 10, 28)))),
            ("the authority to pay, in force on the issue date", "Pay Hampshire County Council (the local authority".to_string()),
            ("the authority's address", "Children's Services, Elizabeth II Court North, The Castle, Winchester, SO23 8UG".to_string()),
            ("the notice number as the payment reference", format!("Quote the notice number {} as your payment reference", notice.notice_number)),
            ("how to pay online", "Online: https://pay.example.gov.uk/penalty-notices".to_string()),
            ("how to pay by telephone", "By telephone: 0300 555 1375".to_string()),
            ("that payment discharges liability", "Payment of the penalty in full discharges your liability to be convicted of the offence".to_string()),
            ("what happens if unpaid", format!("If the penalty is not paid in full by {}, the local authority must either prosecute you for the offence or withdraw this notice", long(d(2024, 10, 28)))),
            ("withdrawal ground 1", "it ought not to have been issued".to_string()),
            ("withdrawal ground 2", "it was issued to the wrong person".to_string()),
            ("withdrawal ground 3", "it contains material errors".to_string()),
            ("withdrawal ground 4", "it was issued outside the terms of the local code of conduct".to_string()),
            ("whom to ask", "contact the Attendance Enforcement Team, 0300 555 1384".to_string()),
        ]);
        assert!(!text.contains("0300 555 9999"), "a later settings version is not printed on an earlier notice");
        if let (Ok(path), lea_notices::store::Backend::Sqlite) = (std::env::var("LEA_NOTICES_SAMPLE_LETTER"), app.backend) {
            // How docs/sample-letter.png is made (README, Letters).
            std::fs::write(path, &letter.content).unwrap();
        }

        // `lea-notices notice-letter` writes the same document.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("letter.pdf");
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .args(["notice-letter", &notice.notice_number, "--out"])
            .arg(&out)
            .args(["--server", &format!("http://{}", app.addr)])
            .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
            .env("LEA_NOTICES_DATA_DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{stdout} {}", String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains(&format!("{} page(s)", letter.page_count)), "{stdout}");
        assert_eq!(std::fs::read(&out).unwrap(), letter.content);

        // A second notice to the same parent: the flat amount only.
        let second = issue(&app, Penalty::holiday(1, &["Alex"], d(2025, 2, 10), d(2025, 3, 3)).request("n2")).await.unwrap();
        assert!(second[0].second_notice);
        let text = extracted_text(&render(&app, Role::Finance, &second[0].name).await.unwrap().content);
        assert_says(&text, &[
            ("the flat amount and its last day", format!("£160.00 if paid within 28 days beginning with the day of receipt, that is by {}", long(d(2025, 3, 30)))),
            ("that there is no lower amount", "there is no reduced amount for early payment".to_string()),
            ("the settings in force on its issue date", "By telephone: 0300 555 9999".to_string()),
        ]);
        assert!(!text.contains("£80.00"), "a second notice shows no lower amount:\n{text}");
        assert!(!text.contains("21 days"), "a second notice shows no lower period:\n{text}");
    }

    async fn a_letter_needs_the_settings_and_the_school_and_only_admins_publish_settings(app) {
        let notice = issue(&app, Penalty::holiday(1, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request("n1")).await.unwrap().remove(0);

        let refused = render(&app, Role::LaOfficer, &notice.name).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["NO_AUTHORITY_SETTINGS"]);

        // Settings from after the issue date do not apply to it.
        create_settings(&app, "s1", settings(d(2024, 10, 2), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let refused = render(&app, Role::LaOfficer, &notice.name).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["NO_AUTHORITY_SETTINGS"]);

        create_settings(&app, "s2", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let refused = render(&app, Role::LaOfficer, &notice.name).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["SCHOOL_NOT_IN_REGISTER"]);

        register_school(&app).await;
        assert!(render(&app, Role::Auditor, &notice.name).await.is_ok());
        // Another authority's notice does not exist for Southampton's officers.
        let other = app.as_role("852", Role::LaOfficer).notices()
            .render_notice(pb::RenderNoticeRequest { name: notice.name.clone() }).await.unwrap_err();
        assert_eq!(other.code(), Code::NotFound, "{other:?}");
        let missing = render(&app, Role::LaOfficer, "authorities/850/notices/850-2024-999999").await.unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);

        // Retrying a create answers with what it created; the same date again is refused.
        let again = create_settings(&app, "s2", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        assert_eq!(again.name, "authorities/850/settings/2024-09-01");
        let duplicate = create_settings(&app, "s3", settings(d(2024, 9, 1), "Another", "0300 555 1375")).await.unwrap_err();
        assert_eq!(violated_fields(&duplicate), ["settings.effective_from"]);

        let officer = app.as_role("850", Role::LaOfficer).policy()
            .create_authority_settings(pb::CreateAuthoritySettingsRequest {
                parent: "authorities/850".into(),
                request_id: "s4".into(),
                settings: Some(settings(d(2026, 1, 1), "Hampshire County Council", "0300 555 1375")),
            }).await.unwrap_err();
        assert_eq!(officer.code(), Code::PermissionDenied);

        let mut bad = settings(d(2026, 1, 1), " ", "call us");
        bad.payment_url = "http://insecure.example".into();
        let invalid = create_settings(&app, "s5", bad).await.unwrap_err();
        assert_eq!(violated_fields(&invalid), ["settings.authority_name", "settings.payment_url", "settings.payment_telephone"]);

        let got = app.as_role("850", Role::Auditor).policy()
            .get_authority_settings(pb::GetAuthoritySettingsRequest {
                parent: "authorities/850".into(),
                date: proto_date(d(2024, 10, 1)),
            }).await.unwrap().into_inner().settings.unwrap();
        assert_eq!(got.name, "authorities/850/settings/2024-09-01");
        assert_eq!(got.payment_telephone, "0300 555 1375");
        let none = app.policy()
            .get_authority_settings(pb::GetAuthoritySettingsRequest {
                parent: "authorities/850".into(),
                date: proto_date(d(2024, 8, 31)),
            }).await.unwrap_err();
        assert_eq!(none.code(), Code::NotFound);
    }

    async fn a_notice_to_improve_letter_states_its_improvement_period(app) {
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let request = pb::IssueNoticeToImproveRequest {
            parent: "authorities/850".into(),
            request_id: "i1".into(),
            pupil: pupil(1),
            parents: vec![parent("Alex")],
            issue_date: proto_date(d(2025, 9, 8)),
            issuer: issuer(pb::IssuerRole::LaOfficer),
            improvement_period: Some(pb::ImprovementPeriod {
                start_date: proto_date(d(2025, 9, 8)),
                school_weeks: 4,
                end_date: None,
                reason: "Sam attends every session, on time.".into(),
            }),
            delivery: by_hand(),
            breach: None,
        };
        let notice = app.notices().issue_notice_to_improve(request).await.unwrap().into_inner().notices.remove(0);
        let text = extracted_text(&render(&app, Role::LaOfficer, &notice.name).await.unwrap().content);
        assert_says(&text, &[
            ("the title", "Notice to improve".to_string()),
            ("the parent", "Alex Taylor".to_string()),
            ("the school", format!("School: {SCHOOL_NAME}")),
            // Four weeks beginning on Monday 8 September end on Sunday 5 October.
            ("the period", format!("4 school weeks, from {} to {}", long(d(2025, 9, 8)), long(d(2025, 10, 5)))),
            ("what is expected", "Sam attends every session, on time.".to_string()),
        ]);
        assert!(!text.contains("£"), "a notice to improve has no amount:\n{text}");
    }
}

/// A given name and a family name.
type Name = (&'static str, &'static str);

/// The names of issue 30 (parent, child): Polish, Romanian, Lithuanian, Turkish,
/// Vietnamese, Greek, Cyrillic (Ukrainian), Arabic, Urdu, Hebrew, Punjabi
/// (Gurmukhi), Hindi (Devanagari) and Bengali.
const NAMES: [(Name, Name); 10] = [
    (("Łucja", "Wiśniewska"), ("Ștefan", "Țurcanu")),
    (("Žydrūnė", "Čiurlionytė"), ("Ömer", "Çağlayan")),
    (("İlkay", "Şahin"), ("Nguyễn Thị", "Hương")),
    (("Γιώργος", "Παπαδόπουλος"), ("Олександр", "Шевченко")),
    (("محمد", "الأحمد"), ("فاطمة", "حسين")),
    (("عائشہ", "خان"), ("Yusuf", "Khan")),
    (("נועה", "כהן"), ("Noa", "Cohen")),
    (("ਹਰਪ੍ਰੀਤ", "ਸਿੰਘ"), ("अनीता", "शर्मा")),
    (("রহিম", "উদ্দিন"), ("Rahim", "Uddin")),
    (("Nguyễn", "Văn Đức"), ("Ngô", "Bảo Châu")),
];

/// A name as poppler's `pdftotext` gives it back. Right-to-left text is drawn
/// in visual order (the shaper's glyphs, left to right) and pdftotext turns
/// each right-to-left run round, so words and letters come back in logical
/// order (it also wraps the run in U+202B and U+202C, outside the name). It
/// turns round the characters of a ligature glyph with them, though: the
/// Arabic lam-alef ligature, whose ToUnicode entry is "lam, alef" (logical
/// order, as Acrobat and pdf.js read it), comes back alef first.
fn as_pdftotext_reads(name: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in name.chars() {
        if matches!(c, 'ا' | 'أ' | 'إ' | 'آ') && out.last() == Some(&'ل') {
            out.insert(out.len() - 1, c);
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

/// The subjects of a FAILED_PRECONDITION's PreconditionFailure, in order.
fn subjects(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_precondition_failure()
        .expect("PreconditionFailure details")
        .violations
        .into_iter()
        .map(|v| v.subject)
        .collect()
}

on_both_backends! {
    async fn a_letter_prints_every_familys_name_in_its_own_script(app) {
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        for (i, ((given, family), (child_given, child_family))) in NAMES.into_iter().enumerate() {
            let n = i as u32 + 1;
            let mut request = Penalty::holiday(n, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request(&format!("n{n}"));
            request.parents[0].given_name = given.into();
            request.parents[0].family_name = family.into();
            let pupil = request.pupil.as_mut().unwrap();
            pupil.given_name = child_given.into();
            pupil.family_name = child_family.into();
            let notice = issue(&app, request).await.unwrap().remove(0);
            let letter = render(&app, Role::LaOfficer, &notice.name).await.unwrap();
            assert!(letter.content.len() < 150_000, "{given}: {} bytes", letter.content.len());
            // pdftotext's embedding marks around a right-to-left run (see
            // `as_pdftotext_reads`) are not the letter's.
            let text = extracted_text(&letter.content).replace(['\u{202A}', '\u{202B}', '\u{202C}'], "");
            let parent = as_pdftotext_reads(&format!("{given} {family}"));
            let child = as_pdftotext_reads(&format!("{child_given} {child_family}"));
            assert_says(&text, &[
                ("the parent's name, at the top", format!("{parent} 1 High Street")),
                ("the parent's name, in the notice", format!("This notice is given to {parent}, of 1 High Street")),
                ("the child's name", format!("Child: {child}, of 1 High Street")),
            ]);
            assert!(!text.contains('?'), "a stand-in for a character:\n{text}");
        }
        // The helper above changes only the lam-alef ligature: the other
        // Arabic name comes back exactly as written.
        assert_eq!(as_pdftotext_reads("فاطمة حسين"), "فاطمة حسين");
        assert_eq!(as_pdftotext_reads("محمد الأحمد"), "محمد األحمد");
    }

    async fn a_name_the_letter_cannot_print_is_refused_naming_its_field(app) {
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let mut request = Penalty::holiday(1, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request("n1");
        // A private-use code point (no font has it) and a script the letter
        // has no font for (Han).
        request.parents[0].given_name = "Ali\u{E000}".into();
        request.pupil.as_mut().unwrap().family_name = "王".into();
        let notice = issue(&app, request).await.unwrap().remove(0);
        let refused = render(&app, Role::LaOfficer, &notice.name).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["CHARACTER_NOT_PRINTABLE", "CHARACTER_NOT_PRINTABLE"]);
        assert_eq!(subjects(&refused), ["parent.given_name", "pupil.family_name"]);
        assert!(refused.message().contains("character 4 of parent.given_name"), "{}", refused.message());
        for personal in ["Ali", "王", "\u{E000}"] {
            assert!(!refused.message().contains(personal), "{}", refused.message());
        }
        // The CLI says the same, and writes nothing.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("letter.pdf");
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .args(["notice-letter", &notice.notice_number, "--out"])
            .arg(&out)
            .args(["--server", &format!("http://{}", app.addr)])
            .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
            .env("LEA_NOTICES_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert!(!run.status.success());
        assert!(!out.exists());

        // An unassigned code point in the authority's own details is refused as well.
        let mut bad = settings(d(2024, 9, 2), "Hampshire County Council", "0300 555 1375");
        bad.questions_contact = "the Attendance Team \u{0378}".into();
        create_settings(&app, "s2", bad).await.unwrap();
        let fine = issue(&app, Penalty::holiday(2, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request("n2")).await.unwrap().remove(0);
        let refused = render(&app, Role::LaOfficer, &fine.name).await.unwrap_err();
        assert_eq!(subjects(&refused), ["settings.questions_contact"]);
    }

    async fn a_letter_embeds_only_the_glyphs_it_uses(app) {
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let notice = issue(&app, Penalty::holiday(1, &["Alex"], d(2024, 9, 9), d(2024, 10, 1)).request("n1")).await.unwrap().remove(0);
        let letter = render(&app, Role::LaOfficer, &notice.name).await.unwrap();
        // Whole, the two DejaVu fonts made a letter of 758 KB.
        assert!(letter.content.len() < 150_000, "{} bytes", letter.content.len());
        let raw = String::from_utf8_lossy(&letter.content);
        assert!(raw.contains("/Subtype /Type0"), "Type0 fonts");
        assert!(raw.contains("/Identity-H"));
        assert!(raw.contains("+DejaVuSans"), "a subset's name has a tag");
    }
}
