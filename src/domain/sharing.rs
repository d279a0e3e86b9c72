//! Sharing penalty notices between the authorities of one deployment for the
//! limit of notices per parent per child (docs/domain.md: two in three years, the
//! second at the flat amount, wherever issued): which authorities share (each
//! authority's agreement, versioned by effective date, off by default; both
//! must name each other), and how a parent on another authority's notice is
//! matched to the parent of a new one.

use chrono::{DateTime, NaiveDate, Utc};

use super::actor::Actor;
use super::identifiers::LaCode;
use super::notice::Parent;

/// One version of an authority's sharing agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingAgreementVersion {
    pub effective_from: NaiveDate,
    /// The other authorities it shares with, sorted, each once.
    pub shares_with: Vec<LaCode>,
    pub published_at: DateTime<Utc>,
    pub published_by: Actor,
}

/// The most authorities one version may name.
pub const MAX_SHARES_WITH: usize = 50;

/// The version in force on `date`: the latest effective on or before it
/// (`versions` in any order); `None`: the authority shares with nobody.
pub fn in_force(
    versions: &[SharingAgreementVersion],
    date: NaiveDate,
) -> Option<&SharingAgreementVersion> {
    versions
        .iter()
        .filter(|v| v.effective_from <= date)
        .max_by_key(|v| v.effective_from)
}

/// Whether `version` (one authority's, in force) names `other`.
pub fn shares_with(version: Option<&SharingAgreementVersion>, other: &LaCode) -> bool {
    version.is_some_and(|v| v.shares_with.contains(other))
}

/// Whether a look-up between `mine` (of `me`) and `theirs` (of `them`) may
/// happen on `date`: both versions in force then name the other.
pub fn both_agree(
    (me, mine): (&LaCode, &[SharingAgreementVersion]),
    (them, theirs): (&LaCode, &[SharingAgreementVersion]),
    date: NaiveDate,
) -> bool {
    me != them && shares_with(in_force(mine, date), them) && shares_with(in_force(theirs, date), me)
}

/// A name as compared across authorities: case-folded (Unicode lower case),
/// every run of characters that are neither letters nor digits (spaces,
/// hyphens, apostrophes, full stops) one space, trimmed. Diacritics are kept:
/// "Zoë" and "Zoe" differ, and such a pair is a doubtful match (see
/// [`match_parent`]), not a match.
pub fn normalised_name(given: &str, family: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in format!("{given} {family}").chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// How another authority's parent (of a notice for the same UPN) compares
/// with the parent of a new notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentMatch {
    /// The same normalised name and the same person id: the notice counts.
    Same,
    /// The same name with another person id, the same person id with another
    /// name, or a name within two edits: reported to the officer, not counted.
    Doubtful,
    /// Someone else (the child's other parent): neither counted nor reported.
    Different,
}

/// Compares `theirs` (on another authority's notice for the same child) with
/// `mine` (a parent of the new notice).
pub fn match_parent(mine: &Parent, theirs: &Parent) -> ParentMatch {
    let (a, b) = (
        normalised_name(&mine.given_name, &mine.family_name),
        normalised_name(&theirs.given_name, &theirs.family_name),
    );
    let same_id = mine.person_id == theirs.person_id;
    match (a == b, same_id) {
        (true, true) => ParentMatch::Same,
        (true, false) | (false, true) => ParentMatch::Doubtful,
        (false, false) if edit_distance(&a, &b) <= 2 => ParentMatch::Doubtful,
        (false, false) => ParentMatch::Different,
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// Another authority's penalty notice to a parent of the new notice, as the
/// issuing authority learns of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OtherAuthorityNotice {
    /// The parent of the new notice it concerns (the request's person id).
    pub person_id: String,
    pub la_code: String,
    pub issue_date: NaiveDate,
    /// A match: it counts towards the limit and the second amount.
    pub counted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notice::Address;

    fn la(code: &str) -> LaCode {
        LaCode::parse(code).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn version(from: NaiveDate, with: &[&str]) -> SharingAgreementVersion {
        SharingAgreementVersion {
            effective_from: from,
            shares_with: with.iter().map(|c| la(c)).collect(),
            published_at: DateTime::UNIX_EPOCH,
            published_by: Actor {
                subject: "admin".into(),
                role: None,
            },
        }
    }

    fn parent(id: &str, given: &str, family: &str) -> Parent {
        Parent {
            person_id: id.into(),
            given_name: given.into(),
            family_name: family.into(),
            address: Address::default(),
            liability: None,
        }
    }

    #[test]
    fn both_sides_must_agree_on_the_date() {
        let hampshire = [version(d(2025, 1, 1), &["852"])];
        let southampton = [
            version(d(2025, 2, 1), &["850"]),
            version(d(2025, 6, 1), &[]),
        ];
        let on = |day| both_agree((&la("850"), &hampshire), (&la("852"), &southampton), day);
        assert!(!on(d(2025, 1, 15)), "Southampton had not agreed yet");
        assert!(on(d(2025, 2, 1)));
        assert!(on(d(2025, 5, 31)));
        assert!(!on(d(2025, 6, 1)), "Southampton stopped sharing");
        assert!(
            !both_agree((&la("850"), &hampshire), (&la("852"), &[]), d(2025, 3, 1)),
            "off by default"
        );
        assert!(!both_agree(
            (&la("850"), &hampshire),
            (&la("850"), &hampshire),
            d(2025, 3, 1)
        ));
    }

    #[test]
    fn names_are_compared_case_folded_with_punctuation_collapsed() {
        assert_eq!(
            normalised_name("  Mary-Jane ", "O'Neill"),
            "mary jane o neill"
        );
        assert_eq!(normalised_name("MARY JANE", "o neill"), "mary jane o neill");
        assert_eq!(
            normalised_name("Zoë", "Brontë"),
            "zoë brontë",
            "diacritics are kept"
        );
    }

    #[test]
    fn a_parent_matches_on_name_and_person_id_and_near_misses_are_doubtful() {
        let mine = parent("p-1", "Mary-Jane", "O'Neill");
        assert_eq!(
            match_parent(&mine, &parent("p-1", "MARY JANE", "O NEILL")),
            ParentMatch::Same
        );
        assert_eq!(
            match_parent(&mine, &parent("p-9", "Mary-Jane", "O'Neill")),
            ParentMatch::Doubtful
        );
        assert_eq!(
            match_parent(&mine, &parent("p-1", "Jo", "Smith")),
            ParentMatch::Doubtful
        );
        assert_eq!(
            match_parent(&mine, &parent("p-2", "Mary-Jane", "ONeil")),
            ParentMatch::Doubtful
        );
        assert_eq!(
            match_parent(
                &parent("p-1", "Zoe", "Taylor"),
                &parent("p-2", "Zoë", "Taylor")
            ),
            ParentMatch::Doubtful
        );
        assert_eq!(
            match_parent(&mine, &parent("p-2", "Patrick", "O'Neill")),
            ParentMatch::Different
        );
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("zoë", "zoe"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
