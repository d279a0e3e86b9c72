//! The verified caller behind a call.

use crate::app::Caller;
use crate::app::ServiceError;
use crate::domain::{access::Operation, actor::Role};
use crate::proto::v1 as pb;

/// The caller the authentication layer verified, if its role may perform
/// `operation` at all; PERMISSION_DENIED otherwise. Checked before the request
/// is read, so a caller learns nothing from a request it may not make.
pub fn authorize<T>(
    request: &tonic::Request<T>,
    operation: Operation,
) -> Result<Caller, ServiceError> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ServiceError::Unauthenticated)?;
    caller.check_allowed(operation)?;
    Ok(caller)
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
