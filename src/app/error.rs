//! What a use case can answer besides success; `src/api/error.rs` maps it to a
//! gRPC status, once.

use std::collections::HashMap;

use crate::domain::{FieldViolation, RuleViolation, issuing::Refusal};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("the request breaks a rule")]
    FailedPrecondition(Vec<RuleViolation>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists {
        message: String,
        reason: &'static str,
        metadata: HashMap<String, String>,
    },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("unauthenticated")]
    Unauthenticated,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller left, or its deadline passed, before the unit of work began:
    /// nothing was done.
    #[error("not started: {0:?}")]
    NotStarted(super::call::Abandoned),
    /// A use case that failed in a way no caller can act on (it panicked).
    #[error("internal: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<FieldViolation> for ServiceError {
    fn from(v: FieldViolation) -> Self {
        ServiceError::InvalidArgument(vec![v])
    }
}

impl From<RuleViolation> for ServiceError {
    fn from(r: RuleViolation) -> Self {
        ServiceError::FailedPrecondition(vec![r])
    }
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(v) => ServiceError::InvalidArgument(v),
            Refusal::Rules(r) => ServiceError::FailedPrecondition(r),
        }
    }
}
