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
    /// The authority's data protection officer: reads the access log and the
    /// audit log, and exports what is held about a pupil or parent; changes
    /// nothing.
    DataProtectionOfficer,
}

super::all_variants!(Role {
    SchoolStaff,
    LaOfficer,
    Police,
    Finance,
    Auditor,
    Admin,
    DataProtectionOfficer
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
            Role::DataProtectionOfficer => "data_protection_officer",
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

/// The role recorded for the service itself acting (the scheduler of the
/// statutory dates): no token carries it, and [`Role::parse`] never yields it.
pub const SERVICE_ROLE: &str = "service";

impl Actor {
    /// The service itself, acting on its own schedule as `subject` (for
    /// example `lea-notices/scheduler`): recorded with the role `service`.
    pub fn service(subject: &str) -> Actor {
        Actor {
            subject: subject.to_string(),
            role: None,
        }
    }

    /// Whether this is the service itself (see [`Actor::service`]).
    pub fn is_service(&self) -> bool {
        self.role.is_none() && self.subject.starts_with("lea-notices/")
    }

    pub fn role_str(&self) -> &'static str {
        match self.role {
            Some(role) => role.as_str(),
            None if self.is_service() => SERVICE_ROLE,
            None => "unauthenticated",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.subject, self.role_str())
    }
}
