//! Who acts: the verified identity behind a call, recorded on every audit event.

use std::fmt;

/// The roles a caller can act in, inside its own authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    SchoolStaff,
    LaOfficer,
    Police,
    Finance,
    Auditor,
    Admin,
}

super::all_variants!(Role {
    SchoolStaff,
    LaOfficer,
    Police,
    Finance,
    Auditor,
    Admin
});

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SchoolStaff => "school_staff",
            Role::LaOfficer => "la_officer",
            Role::Police => "police",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The identity an action is recorded against: a verified token's subject and
/// role. `role` is `None` only for a stored record whose role this build no
/// longer knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub role: Option<Role>,
}

impl Actor {
    pub fn role_str(&self) -> &'static str {
        self.role.map_or("unauthenticated", Role::as_str)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.subject, self.role_str())
    }
}
