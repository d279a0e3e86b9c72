//! The verified identity a use case acts for, and the checks every call makes
//! of it. The authentication layer builds it from a bearer token.

use crate::domain::{
    access::{self, Operation},
    access_log::Purpose,
    actor::{Actor, Role},
    identifiers::{LaCode, Urn},
    names,
    notice::Notice,
};

use super::error::{ServiceError, ServiceResult};

/// A request as the adapter read it (converted and validated, or why not). A
/// use case takes its request in this form and answers its errors only after
/// deciding the caller may make it, so authorisation is decided once, here in
/// `app`, and a caller learns nothing from a request it may not make.
pub type Read<T> = ServiceResult<T>;

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub authority: LaCode,
    pub role: Role,
    pub schools: Vec<Urn>,
    /// Why the caller says it reads (the `x-access-purpose` header), recorded
    /// on its access-log entries.
    pub purpose: Purpose,
}

impl Caller {
    /// PERMISSION_DENIED unless the caller's role may perform `operation` at all.
    pub fn check_allowed(&self, operation: Operation) -> ServiceResult<()> {
        if access::allowed(self.role, operation) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "the {} role may not {operation:?}",
                self.role.as_str()
            )))
        }
    }

    /// A request naming `authority` as the parent of a collection: only the caller's own.
    pub fn check_parent(&self, authority: &LaCode) -> ServiceResult<()> {
        if *authority == self.authority {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "a caller of authority {} may not act for authority {authority}",
                self.authority
            )))
        }
    }

    /// A resource of `authority`: another authority's is answered exactly as if it
    /// did not exist.
    pub fn check_resource(&self, authority: &LaCode, name: &str) -> ServiceResult<()> {
        if *authority == self.authority {
            Ok(())
        } else {
            Err(ServiceError::NotFound(name.to_string()))
        }
    }

    /// As [`Self::check_parent`], for a parent as sent (one that does not parse is
    /// left to request validation).
    pub fn check_parent_name(&self, parent: &str) -> ServiceResult<()> {
        match names::parse_authority("parent", parent) {
            Ok(authority) => self.check_parent(&authority),
            Err(_) => Ok(()),
        }
    }

    /// As [`Self::check_resource`], for a resource name as sent.
    pub fn check_resource_name(&self, name: &str) -> ServiceResult<()> {
        let la = name
            .strip_prefix("authorities/")
            .and_then(|rest| rest.split('/').next());
        match la.map(LaCode::parse) {
            Some(Ok(authority)) => self.check_resource(&authority, name),
            _ => Ok(()),
        }
    }

    /// Whether the caller acts for every school of its authority.
    pub fn covers_all_schools(&self) -> bool {
        self.role != Role::SchoolStaff
    }

    /// School staff act only for their own schools.
    pub fn covers_school(&self, urn: &Urn) -> bool {
        access::covers_school(self.role, &self.schools, urn)
    }

    /// Whether the caller may see `notice`; others are answered as if it did not exist.
    pub fn may_see(&self, notice: &Notice) -> bool {
        access::may_see_notice(self.role, &self.schools, &self.actor.subject, notice)
    }

    /// The notices this caller may see, as a store filters them.
    pub fn notice_scope(&self) -> access::NoticeScope<'_> {
        access::notice_scope(self.role, &self.schools, &self.actor.subject)
    }
}
