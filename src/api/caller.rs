//! The identity behind a call.

use crate::domain::actor::Actor;

/// The verified identity an authentication layer attached to the request, or the
/// anonymous actor when the server runs without authentication.
pub fn actor<T>(request: &tonic::Request<T>) -> Actor {
    request
        .extensions()
        .get::<Actor>()
        .cloned()
        .unwrap_or_else(Actor::anonymous)
}

use crate::domain::actor::Role;
use crate::proto::v1 as pb;

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
