//! The notice as a letter: what a penalty notice (or a notice to improve) says,
//! worked out from the notice, the school and the authority's own details.
//!
//! Regulation 3 of the Education (Penalty Notices) (England) Regulations 2007
//! prescribes the contents of a penalty notice (`docs/domain.md`, "What a notice must
//! say"). [`penalty_notice_letter`] writes every item as plain text blocks; the
//! layout (PDF) is elsewhere, so what the law requires is tested here without it.

use chrono::NaiveDate;

use super::actor::Actor;
use super::notice::{Address, Charges, Notice, NoticeKind, OffenceType};
use super::{FieldViolation, RuleViolation};

/// An authority's details as printed on its letters (name, address, how to pay,
/// whom to ask), versioned like the policy: the version in force on a notice's
/// issue date is printed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthoritySettings {
    pub effective_from: NaiveDate,
    pub details: AuthorityDetails,
    /// Who published the version, and when.
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub published_by: Actor,
}

/// What an authority prints on its letters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthorityDetails {
    /// The authority as named to parents, for example "Hampshire County Council".
    pub name: String,
    /// Where to pay and write to (regulation 3).
    pub address: Address,
    /// The web address at which a penalty is paid (https).
    pub payment_url: String,
    /// The telephone number on which a penalty is paid.
    pub payment_telephone: String,
    /// Whom to contact with questions: a team, a telephone number, an email address.
    pub questions_contact: String,
}

/// Longest text of one setting, in characters.
pub const MAX_SETTING_CHARS: usize = 200;
/// At most this many address lines (the postcode apart).
pub const MAX_ADDRESS_LINES: usize = 6;

impl AuthorityDetails {
    /// Every problem with the details, named by the protocol's field paths
    /// (relative to the settings message).
    pub fn validate(&self) -> Vec<FieldViolation> {
        let mut v = Vec::new();
        let mut required = |field: &str, value: &str| {
            if value.trim().is_empty() {
                v.push(FieldViolation::new(field, "is required"));
            } else if value.chars().any(char::is_control) {
                v.push(FieldViolation::new(field, "must be one line"));
            } else if value.chars().count() > MAX_SETTING_CHARS {
                v.push(FieldViolation::new(
                    field,
                    format!("is longer than {MAX_SETTING_CHARS} characters"),
                ));
            }
        };
        required("authority_name", &self.name);
        required("address.postcode", &self.address.postcode);
        required("payment_url", &self.payment_url);
        required("payment_telephone", &self.payment_telephone);
        required("questions_contact", &self.questions_contact);
        if self.address.lines.is_empty() || self.address.lines.len() > MAX_ADDRESS_LINES {
            v.push(FieldViolation::new(
                "address.lines",
                format!("must have 1 to {MAX_ADDRESS_LINES} lines"),
            ));
        }
        for (i, line) in self.address.lines.iter().enumerate() {
            if line.trim().is_empty()
                || line.chars().any(char::is_control)
                || line.chars().count() > MAX_SETTING_CHARS
            {
                v.push(FieldViolation::new(
                    format!("address.lines[{i}]"),
                    format!("must be one line of 1 to {MAX_SETTING_CHARS} characters"),
                ));
            }
        }
        if !self.payment_url.is_empty()
            && (!self.payment_url.starts_with("https://")
                || self.payment_url.len() <= "https://".len()
                || self.payment_url.contains(char::is_whitespace))
        {
            v.push(FieldViolation::new(
                "payment_url",
                "must be an https:// web address without spaces",
            ));
        }
        let phone_ok = self
            .payment_telephone
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '+')
            && self.payment_telephone.chars().any(|c| c.is_ascii_digit());
        if !self.payment_telephone.is_empty() && !phone_ok {
            v.push(FieldViolation::new(
                "payment_telephone",
                "must be digits, spaces and an optional leading +",
            ));
        }
        v
    }
}

/// The settings in force on `on`: the latest version effective on or before it.
pub fn settings_in_force(
    versions: &[AuthoritySettings],
    on: NaiveDate,
) -> Option<&AuthoritySettings> {
    versions
        .iter()
        .filter(|s| s.effective_from <= on)
        .max_by_key(|s| s.effective_from)
}

/// The school as a letter names it (from the school register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolOnLetter {
    pub name: String,
    pub address: Address,
}

/// A letter as text: a title and blocks in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// The document's title (its metadata, and the first heading).
    pub title: String,
    pub blocks: Vec<Block>,
}

/// One block of a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A paragraph, wrapped to the page.
    Paragraph(String),
    /// Lines kept as they are (an address), each wrapped only if too long.
    Lines(Vec<String>),
    /// A bulleted list.
    Bullets(Vec<String>),
}

/// Pence as pounds: 8000 as "£80.00".
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    format!("{sign}£{}.{:02}", p / 100, p % 100)
}

/// A date as a letter writes it: "Monday 16 June 2025".
pub fn long_date(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}

fn address_lines(name: &str, address: &Address) -> Vec<String> {
    std::iter::once(name.to_string())
        .chain(address.lines.iter().cloned())
        .chain(std::iter::once(address.postcode.clone()))
        .filter(|l| !l.is_empty())
        .collect()
}

fn one_line(address: &Address) -> String {
    address
        .lines
        .iter()
        .chain(std::iter::once(&address.postcode))
        .filter(|l| !l.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Days in "N days beginning with the day of receipt" ending on `last`.
fn period_days(receipt: NaiveDate, last: NaiveDate) -> i64 {
    (last - receipt).num_days() + 1
}

/// The first and last day of the sessions a notice is for.
fn offence_period(notice: &Notice) -> Option<(NaiveDate, NaiveDate)> {
    let first = notice.sessions.iter().map(|s| s.date).min()?;
    let last = notice.sessions.iter().map(|s| s.date).max()?;
    Some((first, last))
}

fn sessions_phrase(n: usize) -> String {
    if n == 1 {
        "1 session".to_string()
    } else {
        format!("{n} sessions")
    }
}

/// The statutory withdrawal grounds, as the letter states them.
pub const WITHDRAWAL_GROUNDS: [&str; 4] = [
    "it ought not to have been issued;",
    "it was issued to the wrong person;",
    "it contains material errors;",
    "it was issued outside the terms of the local code of conduct.",
];

/// The blocks every letter starts with: the authority, the addressee, the child
/// and the school, the date and the reference.
fn opening(
    notice: &Notice,
    school: &SchoolOnLetter,
    authority: &AuthorityDetails,
    title: &str,
) -> Vec<Block> {
    let parent = &notice.parent;
    let pupil = &notice.pupil;
    let parent_name = format!("{} {}", parent.given_name, parent.family_name);
    vec![
        Block::Lines(address_lines(&authority.name, &authority.address)),
        Block::Lines(address_lines(&parent_name, &parent.address)),
        Block::Lines(vec![
            format!("Date of issue: {}", long_date(notice.issue_date)),
            format!("Notice number: {}", notice.notice_number),
        ]),
        Block::Heading(title.to_string()),
        Block::Paragraph(format!(
            "This notice is given to {parent_name}, of {}, as a parent of the child named below.",
            one_line(&parent.address)
        )),
        Block::Heading("The child and the school".to_string()),
        Block::Lines(vec![
            format!(
                "Child: {} {}, of {}",
                pupil.given_name,
                pupil.family_name,
                one_line(&pupil.address)
            ),
            match one_line(&school.address) {
                at if at.is_empty() => format!("School: {}", school.name),
                at => format!("School: {}, {at}", school.name),
            },
        ]),
    ]
}

fn issued_by(notice: &Notice, authority: &AuthorityDetails) -> Block {
    let issuer = &notice.issuer;
    let details = if issuer.official_details.is_empty() {
        String::new()
    } else {
        format!(", {}", issuer.official_details)
    };
    Block::Paragraph(format!(
        "This notice was issued on {} by {}{details}, for {}.",
        long_date(notice.issue_date),
        issuer.display_name,
        authority.name
    ))
}

fn receipt_sentence(notice: &Notice) -> String {
    match notice.delivery.posting_date {
        Some(posted) => format!(
            "This notice was posted on {}, so it is taken to be received on {}, the second \
             working day after posting.",
            long_date(posted),
            long_date(notice.receipt_date)
        ),
        None => format!(
            "This notice was delivered by hand, so it is taken to be received on {}.",
            long_date(notice.receipt_date)
        ),
    }
}

fn offence_block(notice: &Notice) -> Vec<Block> {
    let law = match notice.offence.as_ref().map(|o| o.offence_type) {
        Some(OffenceType::S103ExcludedInPublic) => {
            "section 103 of the Education and Inspections Act 2006 (a child excluded from \
             school being present in a public place during school hours in the first five \
             days of the exclusion)"
        }
        _ => {
            "section 444(1) of the Education Act 1996 (failing to secure the regular \
             attendance at school of a registered pupil)"
        }
    };
    let description = notice
        .offence
        .as_ref()
        .map(|o| o.description.as_str())
        .filter(|d| !d.is_empty());
    let mut text = format!(
        "This is a penalty notice under section 444A of the Education Act 1996. It gives you \
         the opportunity to discharge your liability to conviction for the offence under {law}."
    );
    if let Some((first, last)) = offence_period(notice) {
        text.push_str(&format!(
            " The offence is alleged to have been committed between {} and {}: {} of absence \
             without authority.",
            long_date(first),
            long_date(last),
            sessions_phrase(notice.sessions.len())
        ));
    }
    let mut blocks = vec![
        Block::Heading("The offence".to_string()),
        Block::Paragraph(text),
    ];
    if let Some(d) = description {
        blocks.push(Block::Paragraph(format!("Particulars: {d}")));
    }
    blocks
}

fn amounts_block(notice: &Notice, charges: &Charges) -> Vec<Block> {
    let receipt = notice.receipt_date;
    let higher_days = period_days(receipt, charges.higher_deadline);
    let mut lines = Vec::new();
    match charges.lower_deadline {
        Some(lower_last) if !notice.second_notice => {
            lines.push(format!(
                "{} if paid within {} days beginning with the day of receipt, that is by {}.",
                pounds(charges.lower_amount_pence),
                period_days(receipt, lower_last),
                long_date(lower_last)
            ));
            lines.push(format!(
                "{} if paid after that but within {higher_days} days beginning with the day of \
                 receipt, that is by {}.",
                pounds(charges.higher_amount_pence),
                long_date(charges.higher_deadline)
            ));
        }
        _ => {
            lines.push(format!(
                "{} if paid within {higher_days} days beginning with the day of receipt, that is \
                 by {}. This is a second penalty notice to you for this child within three years, \
                 so the penalty is a single amount: there is no reduced amount for early payment.",
                pounds(charges.higher_amount_pence),
                long_date(charges.higher_deadline)
            ));
        }
    }
    vec![
        Block::Heading("How much to pay, and by when".to_string()),
        Block::Paragraph(receipt_sentence(notice)),
        Block::Bullets(lines),
    ]
}

fn payment_block(notice: &Notice, authority: &AuthorityDetails, charges: &Charges) -> Vec<Block> {
    vec![
        Block::Heading("How to pay".to_string()),
        Block::Paragraph(format!(
            "Pay {} (the local authority to which the penalty is payable). Quote the notice \
             number {} as your payment reference.",
            authority.name, notice.notice_number
        )),
        Block::Bullets(vec![
            format!("Online: {}", authority.payment_url),
            format!("By telephone: {}", authority.payment_telephone),
            format!(
                "By post, to: {}",
                address_lines(&authority.name, &authority.address).join(", ")
            ),
        ]),
        Block::Paragraph(
            "Payment of the penalty in full discharges your liability to be convicted of the \
             offence to which this notice relates: no proceedings will then be brought against \
             you for it."
                .to_string(),
        ),
        Block::Heading("If you do not pay".to_string()),
        Block::Paragraph(format!(
            "If the penalty is not paid in full by {}, the local authority must either \
             prosecute you for the offence or withdraw this notice. Part payments are {} \
             towards the penalty.",
            long_date(charges.higher_deadline),
            if notice.part_payments_accepted {
                "counted"
            } else {
                "not counted"
            }
        )),
    ]
}

fn withdrawal_block() -> Vec<Block> {
    vec![
        Block::Heading("Withdrawal of this notice".to_string()),
        Block::Paragraph(
            "The local authority may withdraw this notice, and will refund any payment made, \
             if it considers that:"
                .to_string(),
        ),
        Block::Bullets(WITHDRAWAL_GROUNDS.iter().map(|s| s.to_string()).collect()),
    ]
}

fn questions_block(notice: &Notice, authority: &AuthorityDetails) -> Vec<Block> {
    vec![
        Block::Heading("Questions".to_string()),
        Block::Paragraph(format!(
            "Write to {} at the address above, or contact {}, quoting notice number {}.",
            authority.name, authority.questions_contact, notice.notice_number
        )),
    ]
}

/// The penalty notice as the letter a parent receives: every item regulation 3
/// requires. A second notice states its flat amount only.
pub fn penalty_notice_letter(
    notice: &Notice,
    school: &SchoolOnLetter,
    authority: &AuthorityDetails,
) -> Result<Letter, RuleViolation> {
    let charges = match (notice.kind, &notice.charges) {
        (NoticeKind::PenaltyNotice, Some(c)) => c,
        _ => {
            return Err(RuleViolation::new(
                "NOT_A_PENALTY_NOTICE",
                &notice.notice_number,
                "only a penalty notice has amounts to print",
            ));
        }
    };
    let title = format!("Penalty notice {}", notice.notice_number);
    let mut blocks = opening(notice, school, authority, "Penalty notice");
    // Who is liable, and why (s576 Education Act 1996); notices issued
    // before the basis was recorded have none to print.
    if let Some(liability) = &notice.parent.liability {
        blocks.push(Block::Paragraph(liability.sentence()));
    }
    blocks.push(issued_by(notice, authority));
    blocks.extend(offence_block(notice));
    blocks.extend(amounts_block(notice, charges));
    blocks.extend(payment_block(notice, authority, charges));
    blocks.extend(withdrawal_block());
    blocks.extend(questions_block(notice, authority));
    Ok(Letter { title, blocks })
}

/// The notice to improve as a letter: who, which child and school, who issued
/// it, and the improvement period with what it expects.
pub fn notice_to_improve_letter(
    notice: &Notice,
    school: &SchoolOnLetter,
    authority: &AuthorityDetails,
) -> Result<Letter, RuleViolation> {
    let Some(period) = notice.improvement_period.as_ref() else {
        return Err(RuleViolation::new(
            "NOT_A_NOTICE_TO_IMPROVE",
            &notice.notice_number,
            "only a notice to improve has an improvement period to print",
        ));
    };
    let title = format!("Notice to improve {}", notice.notice_number);
    let mut blocks = opening(notice, school, authority, "Notice to improve");
    blocks.push(issued_by(notice, authority));
    let mut about = String::from(
        "Your child's attendance at school has not been regular. This notice gives you the \
         chance to improve it before a penalty notice is considered.",
    );
    if let Some((first, last)) = offence_period(notice) {
        about.push_str(&format!(
            " It concerns {} of absence without authority between {} and {}.",
            sessions_phrase(notice.sessions.len()),
            long_date(first),
            long_date(last)
        ));
    }
    blocks.push(Block::Heading("Why you have this notice".to_string()));
    blocks.push(Block::Paragraph(about));
    blocks.push(Block::Heading("The improvement period".to_string()));
    blocks.push(Block::Paragraph(format!(
        "The improvement period is {} school weeks, from {} to {}. During it your child must \
         attend school regularly. What is expected: {}",
        period.school_weeks,
        long_date(period.start_date),
        long_date(period.end_date),
        period.reason
    )));
    blocks.push(Block::Paragraph(
        "If attendance does not improve sufficiently during this period, a penalty notice may \
         be issued to you, or other action taken."
            .to_string(),
    ));
    blocks.extend(questions_block(notice, authority));
    Ok(Letter { title, blocks })
}

/// Finds the first character of a text that the letter's fonts cannot print,
/// by its position in characters (`crate::app::letters::pdf::first_unprintable`).
pub type Unprintable<'a> = &'a dyn Fn(&str) -> Option<usize>;

/// Every field the letter prints that holds a character it cannot print, as
/// CHARACTER_NOT_PRINTABLE naming the field (the notice's fields by their paths
/// in `Notice`; `school.` the register's, `settings.` the authority's). The
/// message names the character's position, never the text.
pub fn unprintable_fields(
    notice: &Notice,
    school: &SchoolOnLetter,
    authority: &AuthorityDetails,
    unprintable: Unprintable,
) -> Vec<RuleViolation> {
    let (parent, pupil, issuer) = (&notice.parent, &notice.pupil, &notice.issuer);
    let mut fields: Vec<(String, &str)> = [
        ("parent.given_name", &parent.given_name),
        ("parent.family_name", &parent.family_name),
        ("pupil.given_name", &pupil.given_name),
        ("pupil.family_name", &pupil.family_name),
        ("issuer.display_name", &issuer.display_name),
        ("issuer.official_details", &issuer.official_details),
        ("school.establishment_name", &school.name),
        ("settings.authority_name", &authority.name),
        ("settings.payment_url", &authority.payment_url),
        ("settings.payment_telephone", &authority.payment_telephone),
        ("settings.questions_contact", &authority.questions_contact),
    ]
    .into_iter()
    .map(|(field, value)| (field.to_string(), value.as_str()))
    .collect();
    if let Some(o) = &notice.offence {
        fields.push(("offence.description".into(), &o.description));
    }
    if let Some(l) = &parent.liability {
        fields.push(("parent.liability.relationship".into(), &l.relationship));
    }
    if let Some(p) = &notice.improvement_period {
        fields.push(("improvement_period.reason".into(), &p.reason));
    }
    for (prefix, address) in [
        ("parent.address", &parent.address),
        ("pupil.address", &pupil.address),
        ("school.address", &school.address),
        ("settings.address", &authority.address),
    ] {
        for (i, line) in address.lines.iter().enumerate() {
            fields.push((format!("{prefix}.lines[{i}]"), line));
        }
        fields.push((format!("{prefix}.postcode"), &address.postcode));
    }
    fields
        .into_iter()
        .filter_map(|(field, value)| {
            let position = unprintable(value)?;
            let description = format!(
                "notice {}: character {} of {field} is in none of the letter's fonts (a script \
                 the letter has no font for, a private-use or unassigned code point), so the \
                 letter cannot print it",
                notice.notice_number,
                position + 1
            );
            Some(RuleViolation::new(
                "CHARACTER_NOT_PRINTABLE",
                field,
                description,
            ))
        })
        .collect()
}

/// The letter for any notice, refused if a field it prints holds a character
/// its fonts cannot print (rather than print something else in its place).
pub fn notice_letter(
    notice: &Notice,
    school: &SchoolOnLetter,
    authority: &AuthorityDetails,
    unprintable: Unprintable,
) -> Result<Letter, Vec<RuleViolation>> {
    let refused = unprintable_fields(notice, school, authority, unprintable);
    if !refused.is_empty() {
        return Err(refused);
    }
    match notice.kind {
        NoticeKind::PenaltyNotice => penalty_notice_letter(notice, school, authority),
        NoticeKind::NoticeToImprove => notice_to_improve_letter(notice, school, authority),
    }
    .map_err(|r| vec![r])
}

impl Letter {
    /// Every text of the letter in reading order, one string per line or paragraph.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.blocks
            .iter()
            .flat_map(|b| match b {
                Block::Heading(s) | Block::Paragraph(s) => std::slice::from_ref(s).iter(),
                Block::Lines(l) | Block::Bullets(l) => l.iter(),
            })
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actor::{Actor, Role};

    fn details() -> AuthorityDetails {
        AuthorityDetails {
            name: "Hampshire County Council".into(),
            address: Address {
                lines: vec!["The Castle".into(), "Winchester".into()],
                postcode: "SO23 8UG".into(),
            },
            payment_url: "https://pay.example.gov.uk/pn".into(),
            payment_telephone: "+44 300 555 1375".into(),
            questions_contact: "the Attendance Team".into(),
        }
    }

    fn version(from: NaiveDate) -> AuthoritySettings {
        AuthoritySettings {
            effective_from: from,
            details: details(),
            published_at: chrono::DateTime::UNIX_EPOCH,
            published_by: Actor {
                subject: "admin".into(),
                role: Some(Role::Admin),
            },
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn money_and_dates_read_as_a_letter_writes_them() {
        assert_eq!(pounds(8_000), "£80.00");
        assert_eq!(pounds(16_005), "£160.05");
        assert_eq!(pounds(-50), "-£0.50");
        assert_eq!(long_date(d(2024, 10, 21)), "Monday 21 October 2024");
        assert_eq!(period_days(d(2024, 10, 1), d(2024, 10, 21)), 21);
    }

    #[test]
    fn the_version_in_force_is_the_latest_starting_on_or_before_the_date() {
        let versions = [version(d(2024, 9, 1)), version(d(2025, 1, 1))];
        assert_eq!(settings_in_force(&versions, d(2024, 8, 31)), None);
        let on = |day| settings_in_force(&versions, day).map(|s| s.effective_from);
        assert_eq!(on(d(2024, 9, 1)), Some(d(2024, 9, 1)));
        assert_eq!(on(d(2024, 12, 31)), Some(d(2024, 9, 1)));
        assert_eq!(on(d(2025, 1, 1)), Some(d(2025, 1, 1)));
    }

    #[test]
    fn details_are_validated_field_by_field() {
        assert!(details().validate().is_empty());
        let mut bad = details();
        bad.name = " ".into();
        bad.address.lines.clear();
        bad.payment_url = "https://".into();
        bad.payment_telephone = "ring us".into();
        bad.questions_contact = "x".repeat(MAX_SETTING_CHARS + 1);
        let mut two_lines = details();
        two_lines.name = "Hampshire\nCounty Council".into();
        assert_eq!(two_lines.validate()[0].field, "authority_name");
        let fields: Vec<String> = bad.validate().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "authority_name",
                "questions_contact",
                "address.lines",
                "payment_url",
                "payment_telephone"
            ]
        );
    }

    #[test]
    fn a_penalty_notice_states_why_the_parent_is_liable() {
        use crate::domain::notice::{Liability, LiabilityBasis};
        let school = SchoolOnLetter {
            name: "St Mary's".into(),
            address: Address::default(),
        };
        let mut notice = crate::domain::issuing::tests_support::penalty_notice(d(2025, 3, 3));
        let paragraphs = |n: &Notice| -> Vec<String> {
            penalty_notice_letter(n, &school, &details())
                .unwrap()
                .blocks
                .into_iter()
                .filter_map(|b| match b {
                    Block::Paragraph(p) => Some(p),
                    _ => None,
                })
                .filter(|p| p.contains("liable as a parent"))
                .collect()
        };
        assert!(
            paragraphs(&notice).is_empty(),
            "none recorded, none printed"
        );
        notice.parent.liability = Some(Liability {
            basis: LiabilityBasis::CareOfChild,
            relationship: "step-father".into(),
        });
        assert_eq!(
            paragraphs(&notice),
            [
                "You are liable as a parent (section 576 of the Education Act 1996) because you \
              have care of the child (step-father)."
            ]
        );
        notice.parent.liability = Some(Liability {
            basis: LiabilityBasis::ParentalResponsibility,
            relationship: "mother".into(),
        });
        assert!(
            paragraphs(&notice)[0]
                .contains("because you have parental responsibility for the child (mother)")
        );
    }
}
