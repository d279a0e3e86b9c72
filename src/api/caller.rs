//! The verified caller behind a call.

use crate::app::Caller;
use crate::app::{Read, ServiceError};
use crate::domain::actor::Role;
use crate::proto::v1 as pb;

/// The caller the authentication layer verified. Whether it may make the call
/// is the use case's decision (`app`), made before the request's own errors are
/// answered, so a caller learns nothing from a request it may not make.
pub fn identify<T>(request: &tonic::Request<T>) -> Result<Caller, ServiceError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ServiceError::Unauthenticated)
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
        Some(Role::DataProtectionOfficer) => pb::Role::DataProtectionOfficer,
    }
}

/// Reads a request for a use case: converts and validates it with `f`, keeping
/// its errors for the use case to answer once it has decided the caller may
/// make the call.
pub fn read<T>(f: impl FnOnce() -> Result<T, ServiceError>) -> Read<T> {
    f()
}
