//! Schools as the DfE register ("Get Information About Schools", GIAS) describes
//! them: URN, name, address, phase, type, status and dates. An authority keeps
//! its own register (usually its own establishments, loaded from GIAS's
//! all-establishments file), read by the notices' letters and the attendance
//! figures by phase.

use chrono::NaiveDate;
use serde::Serialize;

use super::identifiers::{LaCode, Urn};
use super::notice::Address;

/// Phase of education, GIAS's `PhaseOfEducation (name)` folded into the phases
/// councils report by: both "Middle deemed primary" and "Middle deemed
/// secondary" are middle schools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Nursery,
    Primary,
    Middle,
    Secondary,
    AllThrough,
    SixteenPlus,
    NotApplicable,
}

super::all_variants!(Phase {
    Nursery,
    Primary,
    Middle,
    Secondary,
    AllThrough,
    SixteenPlus,
    NotApplicable,
});

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Nursery => "nursery",
            Phase::Primary => "primary",
            Phase::Middle => "middle",
            Phase::Secondary => "secondary",
            Phase::AllThrough => "all_through",
            Phase::SixteenPlus => "sixteen_plus",
            Phase::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// GIAS's `PhaseOfEducation (name)`; `None` for a value it does not use
    /// (the phase is then unknown, never guessed).
    pub fn from_gias(name: &str) -> Option<Self> {
        match name.trim() {
            "Nursery" => Some(Phase::Nursery),
            "Primary" => Some(Phase::Primary),
            "Middle deemed primary" | "Middle deemed secondary" => Some(Phase::Middle),
            "Secondary" => Some(Phase::Secondary),
            "All-through" => Some(Phase::AllThrough),
            "16 plus" => Some(Phase::SixteenPlus),
            "Not applicable" => Some(Phase::NotApplicable),
            _ => None,
        }
    }
}

/// Whether an establishment is open, GIAS's `EstablishmentStatus (name)`
/// folded: "Open, but proposed to close" is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolStatus {
    Open,
    Closed,
    /// Proposed to open.
    Proposed,
}

impl SchoolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SchoolStatus::Open => "open",
            SchoolStatus::Closed => "closed",
            SchoolStatus::Proposed => "proposed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(SchoolStatus::Open),
            "closed" => Some(SchoolStatus::Closed),
            "proposed" => Some(SchoolStatus::Proposed),
            _ => None,
        }
    }

    /// GIAS's `EstablishmentStatus (name)`.
    pub fn from_gias(name: &str) -> Option<Self> {
        match name.trim() {
            "Open" | "Open, but proposed to close" => Some(SchoolStatus::Open),
            "Closed" => Some(SchoolStatus::Closed),
            "Proposed to open" => Some(SchoolStatus::Proposed),
            _ => None,
        }
    }
}

/// One establishment of an authority's school register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct School {
    #[serde(serialize_with = "as_display")]
    pub urn: Urn,
    /// The establishment's own local authority (GIAS `LA (code)`), which for a
    /// school another authority maintains differs from the register's.
    #[serde(serialize_with = "as_display")]
    pub la_code: LaCode,
    /// The DfE establishment number within its LA (GIAS `EstablishmentNumber`),
    /// empty where GIAS gives none.
    pub establishment_number: String,
    pub name: String,
    /// Street, locality, address 3, town and county as lines, then the postcode.
    pub address: Address,
    /// `None` where GIAS gives no phase the service knows.
    pub phase: Option<Phase>,
    /// GIAS `TypeOfEstablishment (name)`, as written there ("Academy converter").
    pub establishment_type: String,
    pub status: SchoolStatus,
    pub open_date: Option<NaiveDate>,
    pub close_date: Option<NaiveDate>,
}

fn as_display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// What loading one school does to the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchoolChange {
    Added,
    /// Some detail differs: the held version goes to the history.
    Changed,
    Unchanged,
}

/// How `new` changes the register that holds `held` for its URN.
pub fn school_change(held: Option<&School>, new: &School) -> SchoolChange {
    match held {
        None => SchoolChange::Added,
        Some(held) if held == new => SchoolChange::Unchanged,
        Some(_) => SchoolChange::Changed,
    }
}

/// GIAS dates are `DD-MM-YYYY`; an empty field is no date.
pub fn parse_gias_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%d-%m-%Y")
        .map(Some)
        .map_err(|_| format!("'{s}' is not a date (DD-MM-YYYY)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gias_phases() {
        assert_eq!(Phase::from_gias("Primary"), Some(Phase::Primary));
        assert_eq!(
            Phase::from_gias("Middle deemed secondary"),
            Some(Phase::Middle)
        );
        assert_eq!(Phase::from_gias("16 plus"), Some(Phase::SixteenPlus));
        assert_eq!(Phase::from_gias(""), None);
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn gias_statuses() {
        assert_eq!(
            SchoolStatus::from_gias("Open, but proposed to close"),
            Some(SchoolStatus::Open)
        );
        assert_eq!(
            SchoolStatus::from_gias("Proposed to open"),
            Some(SchoolStatus::Proposed)
        );
        assert_eq!(
            SchoolStatus::from_gias("Closed"),
            Some(SchoolStatus::Closed)
        );
        assert_eq!(SchoolStatus::from_gias("Shut"), None);
    }

    #[test]
    fn gias_dates() {
        assert_eq!(
            parse_gias_date("01-09-2011").unwrap(),
            NaiveDate::from_ymd_opt(2011, 9, 1)
        );
        assert_eq!(parse_gias_date("").unwrap(), None);
        assert!(parse_gias_date("2011-09-01").is_err());
    }
}
