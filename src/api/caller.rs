//! The verified caller behind a call, and the checks every handler makes.

use super::auth::Caller;
use super::error::ApiError;
use crate::domain::{
    access::{self, Operation},
    actor::Role,
    identifiers::{LaCode, Urn},
};
use crate::proto::v1 as pb;

/// The caller the authentication layer verified, if its role may perform
/// `operation` at all; PERMISSION_DENIED otherwise.
pub fn authorize<T>(request: &tonic::Request<T>, operation: Operation) -> Result<Caller, ApiError> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ApiError::Unauthenticated)?;
    if !access::allowed(caller.role, operation) {
        return Err(ApiError::PermissionDenied(format!(
            "the {} role may not {operation:?}",
            caller.role.as_str()
        )));
    }
    Ok(caller)
}

impl Caller {
    /// A request naming `authority` as the parent of a collection: only the caller's own.
    pub fn check_parent(&self, authority: &LaCode) -> Result<(), ApiError> {
        if *authority == self.authority {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!(
                "a caller of authority {} may not act for authority {authority}",
                self.authority
            )))
        }
    }

    /// A resource of `authority`: another authority's is answered exactly as if it
    /// did not exist.
    pub fn check_resource(&self, authority: &LaCode, name: &str) -> Result<(), ApiError> {
        if *authority == self.authority {
            Ok(())
        } else {
            Err(ApiError::NotFound(name.to_string()))
        }
    }

    /// As [`Self::check_parent`], for a parent as sent (one that does not parse is
    /// left to request validation).
    pub fn check_parent_name(&self, parent: &str) -> Result<(), ApiError> {
        match super::names::parse_authority("parent", parent) {
            Ok(authority) => self.check_parent(&authority),
            Err(_) => Ok(()),
        }
    }

    /// As [`Self::check_resource`], for a resource name as sent.
    pub fn check_resource_name(&self, name: &str) -> Result<(), ApiError> {
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
}

pub fn role_to_proto(role: Option<Role>) -> pb::Role {
    match role {
        None => pb::Role::Unspecified,
        Some(Role::SchoolStaff) => pb::Role::SchoolStaff,
        Some(Role::LaOfficer) => pb::Role::LaOfficer,
        Some(Role::Police) => pb::Role::Police,
        Some(Role::Finance) => pb::Role::Finance,
        Some(Role::Auditor) => pb::Role::Auditor,
        Some(Role::Admin) => pb::Role::Admin,
    }
}
