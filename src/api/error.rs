//! The one mapping from use-case failures to gRPC statuses, with `google.rpc`
//! details, and the collector of field violations request conversions use.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::app::{ServiceError, call::Abandoned};
use crate::domain::{FieldViolation, RuleViolation};

/// The `ErrorInfo.domain` of errors this service raises.
pub const ERROR_DOMAIN: &str = "lea-notices";

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        match e {
            ServiceError::InvalidArgument(violations) => invalid_argument(&violations),
            ServiceError::FailedPrecondition(rules) => failed_precondition(&rules),
            ServiceError::NotFound(what) => plain(Code::NotFound, format!("{what} not found")),
            ServiceError::AlreadyExists {
                message,
                reason,
                metadata,
            } => Status::with_error_details(
                Code::AlreadyExists,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
            ),
            ServiceError::PermissionDenied(message) => plain(Code::PermissionDenied, message),
            ServiceError::Unauthenticated => {
                plain(Code::Unauthenticated, "a bearer token is required".into())
            }
            ServiceError::Store(e) if e.is_outage() => {
                // Retryable: every mutation carries a request id, so a retry of a
                // call whose commit was cut off learns its outcome.
                tracing::error!(error = %e, "database unavailable");
                Status::with_error_details(
                    Code::Unavailable,
                    "the database is unavailable; retry later",
                    ErrorDetails::with_error_info(
                        "DATABASE_UNAVAILABLE",
                        ERROR_DOMAIN,
                        std::collections::HashMap::new(),
                    ),
                )
            }
            ServiceError::Store(e) if e.is_conflict() => {
                // The database cancelled the unit to resolve a conflict (a replica's
                // replay, a deadlock): nothing was done, and a retry may succeed.
                tracing::warn!(error = %e, "database cancelled the unit: conflict");
                Status::with_error_details(
                    Code::Aborted,
                    "the database cancelled the call to resolve a conflict with other work; nothing was done; retry",
                    ErrorDetails::with_error_info(
                        "DATABASE_CONFLICT",
                        ERROR_DOMAIN,
                        std::collections::HashMap::new(),
                    ),
                )
            }
            ServiceError::Store(e) => {
                // Callers never see SQL or internals; operators find them in the log.
                tracing::error!(error = %e, "storage failure");
                plain(Code::Internal, "internal error".into())
            }
            ServiceError::NotStarted(why) => {
                let (code, what) = match why {
                    Abandoned::Cancelled => (Code::Cancelled, "the call was cancelled"),
                    Abandoned::DeadlineExceeded => {
                        (Code::DeadlineExceeded, "the call's deadline passed")
                    }
                };
                plain(
                    code,
                    format!("{what} before its work began; nothing was done"),
                )
            }
            ServiceError::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                plain(Code::Internal, "internal error".into())
            }
        }
    }
}

/// INVALID_ARGUMENT with a BadRequest listing every bad field.
fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(&v.field, &v.description);
    }
    let summary = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(Code::InvalidArgument, summary, details)
}

/// FAILED_PRECONDITION with a PreconditionFailure naming every rule broken.
fn failed_precondition(rules: &[RuleViolation]) -> Status {
    let mut details = ErrorDetails::new();
    for r in rules {
        details.add_precondition_failure_violation(r.rule, &r.subject, &r.description);
    }
    let summary = rules
        .iter()
        .map(|r| format!("{}: {}", r.rule, r.description))
        .collect::<Vec<_>>()
        .join("; ");
    Status::with_error_details(Code::FailedPrecondition, summary, details)
}

/// A status whose details hold only the `google.rpc.Status` (the same code and
/// message), so every error reads the same way in every standard client.
fn plain(code: Code, message: String) -> Status {
    Status::with_error_details(code, message, ErrorDetails::new())
}

/// Collects field violations so a request reports every problem at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `result`, or `None` after recording its violation.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|v| self.0.push(v)).ok()
    }

    pub fn push(&mut self, v: FieldViolation) {
        self.0.push(v);
    }

    pub fn extend(&mut self, vs: impl IntoIterator<Item = FieldViolation>) {
        self.0.extend(vs);
    }

    /// The checked values when nothing was recorded, else INVALID_ARGUMENT with
    /// every violation. `values` is the checked values zipped together; it is
    /// `None` only if some check failed, and so was recorded.
    pub fn finish<T>(self, values: Option<T>) -> Result<T, ServiceError> {
        match values {
            Some(values) if self.0.is_empty() => Ok(values),
            _ => Err(ServiceError::InvalidArgument(self.0)),
        }
    }
}
