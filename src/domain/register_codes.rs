//! Attendance register codes and their statistical categories, by the code set
//! in force on a session's date (docs/domain.md, "Sessions and register codes").

use chrono::NaiveDate;

/// The statistical category of a register code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeCategory {
    Present,
    /// Attending approved educational activity: counts as present.
    ApprovedActivity,
    AuthorisedAbsence,
    UnauthorisedAbsence,
    /// Not a possible session: excluded from every measure.
    NotPossible,
}

impl CodeCategory {
    /// The number a stored mark keeps its category as.
    pub fn as_i16(self) -> i16 {
        match self {
            Present => 0,
            ApprovedActivity => 1,
            AuthorisedAbsence => 2,
            UnauthorisedAbsence => 3,
            NotPossible => 4,
        }
    }

    pub fn from_i16(n: i16) -> Option<Self> {
        [
            Present,
            ApprovedActivity,
            AuthorisedAbsence,
            UnauthorisedAbsence,
            NotPossible,
        ]
        .into_iter()
        .find(|c| c.as_i16() == n)
    }
}

/// Which regulations' codes govern a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSet {
    /// The 2006 regulations as amended: sessions before 19 Aug 2024.
    Regs2006,
    /// The School Attendance (Pupil Registration) (England) Regulations 2024.
    Regs2024,
}

/// The first session date governed by the 2024 codes.
pub const REGS_2024_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2024, 8, 19) {
    Some(d) => d,
    None => panic!("valid date"),
};

use CodeCategory::*;

const CODES_2024: &[(&str, CodeCategory)] = &[
    ("/", Present),
    ("\\", Present),
    ("L", Present),
    ("K", ApprovedActivity),
    ("V", ApprovedActivity),
    ("P", ApprovedActivity),
    ("W", ApprovedActivity),
    ("B", ApprovedActivity),
    ("C", AuthorisedAbsence),
    ("C1", AuthorisedAbsence),
    ("C2", AuthorisedAbsence),
    ("M", AuthorisedAbsence),
    ("J1", AuthorisedAbsence),
    ("S", AuthorisedAbsence),
    ("T", AuthorisedAbsence),
    ("R", AuthorisedAbsence),
    ("I", AuthorisedAbsence),
    ("E", AuthorisedAbsence),
    ("G", UnauthorisedAbsence),
    ("N", UnauthorisedAbsence),
    ("O", UnauthorisedAbsence),
    ("U", UnauthorisedAbsence),
    ("D", NotPossible),
    ("X", NotPossible),
    // Q: MIS vendors have not confirmed it is non-statistical (docs/domain.md: unconfirmed).
    ("Q", NotPossible),
    ("Y1", NotPossible),
    ("Y2", NotPossible),
    ("Y3", NotPossible),
    ("Y4", NotPossible),
    ("Y5", NotPossible),
    ("Y6", NotPossible),
    ("Y7", NotPossible),
    ("Z", NotPossible),
    ("#", NotPossible),
];

// Categories as DfE's pre-2024 guidance gave them (docs/domain.md: unconfirmed in detail).
const CODES_2006: &[(&str, CodeCategory)] = &[
    ("/", Present),
    ("\\", Present),
    ("L", Present),
    ("B", ApprovedActivity),
    ("J", ApprovedActivity),
    ("P", ApprovedActivity),
    ("V", ApprovedActivity),
    ("W", ApprovedActivity),
    ("C", AuthorisedAbsence),
    ("E", AuthorisedAbsence),
    ("H", AuthorisedAbsence),
    ("I", AuthorisedAbsence),
    ("M", AuthorisedAbsence),
    ("R", AuthorisedAbsence),
    ("S", AuthorisedAbsence),
    ("T", AuthorisedAbsence),
    ("G", UnauthorisedAbsence),
    ("N", UnauthorisedAbsence),
    ("O", UnauthorisedAbsence),
    ("U", UnauthorisedAbsence),
    ("D", NotPossible),
    ("X", NotPossible),
    ("Y", NotPossible),
    ("Z", NotPossible),
    ("#", NotPossible),
];

impl CodeSet {
    pub fn for_date(date: NaiveDate) -> CodeSet {
        if date >= REGS_2024_FROM {
            CodeSet::Regs2024
        } else {
            CodeSet::Regs2006
        }
    }

    fn table(self) -> &'static [(&'static str, CodeCategory)] {
        match self {
            CodeSet::Regs2006 => CODES_2006,
            CodeSet::Regs2024 => CODES_2024,
        }
    }

    pub fn category(self, code: &str) -> Option<CodeCategory> {
        self.table()
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(_, cat)| cat)
    }

    /// The category of `code` on `date`, or why it cannot be used that day.
    pub fn categorise(date: NaiveDate, code: &str) -> Result<CodeCategory, String> {
        let set = CodeSet::for_date(date);
        set.category(code).ok_or_else(|| match set {
            CodeSet::Regs2024 if CodeSet::Regs2006.category(code).is_some() => format!(
                "code '{code}' was withdrawn on 19 Aug 2024 and cannot be used for a session on {date}"
            ),
            CodeSet::Regs2024 => format!("'{code}' is not a register code"),
            CodeSet::Regs2006 => {
                format!("'{code}' is not a register code for a session before 19 Aug 2024")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn code_set_switches_on_19_august_2024() {
        assert_eq!(CodeSet::for_date(d(2024, 8, 18)), CodeSet::Regs2006);
        assert_eq!(CodeSet::for_date(d(2024, 8, 19)), CodeSet::Regs2024);
    }

    #[test]
    fn withdrawn_codes_are_refused_from_2024_with_a_clear_reason() {
        for code in ["H", "J", "Y"] {
            assert!(CodeSet::categorise(d(2024, 8, 18), code).is_ok());
            let err = CodeSet::categorise(d(2024, 8, 19), code).unwrap_err();
            assert!(err.contains("withdrawn"), "{err}");
        }
    }

    #[test]
    fn new_2024_codes_are_refused_before_2024() {
        for code in ["K", "C1", "C2", "J1", "Q", "Y1", "Y7"] {
            assert!(CodeSet::categorise(d(2024, 8, 19), code).is_ok());
            assert!(CodeSet::categorise(d(2024, 8, 18), code).is_err());
        }
    }

    #[test]
    fn unauthorised_codes_are_the_same_in_both_sets() {
        for set in [CodeSet::Regs2006, CodeSet::Regs2024] {
            let unauthorised: Vec<_> = set
                .table()
                .iter()
                .filter(|(_, c)| *c == UnauthorisedAbsence)
                .map(|(code, _)| *code)
                .collect();
            assert_eq!(unauthorised, ["G", "N", "O", "U"]);
        }
    }

    #[test]
    fn categories_of_common_codes() {
        let set = CodeSet::Regs2024;
        assert_eq!(set.category("/"), Some(Present));
        assert_eq!(set.category("L"), Some(Present));
        assert_eq!(set.category("V"), Some(ApprovedActivity));
        assert_eq!(set.category("I"), Some(AuthorisedAbsence));
        assert_eq!(set.category("G"), Some(UnauthorisedAbsence));
        assert_eq!(set.category("#"), Some(NotPossible));
        assert_eq!(set.category("g"), None);
    }
}
