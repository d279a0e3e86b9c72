//! A registration session, and a session's mark as a register or a notice
//! holds it: what attendance, evidence and notices all speak of.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Session {
    Am,
    Pm,
}
string_names!(Session { Am => "am", Pm => "pm" });

/// One registration session of a pupil, with its register code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionMark {
    pub date: NaiveDate,
    pub session: Session,
    pub code: String,
}

/// One session mark of one pupil.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PupilMark {
    pub date: NaiveDate,
    pub session: Session,
    pub code: String,
}
