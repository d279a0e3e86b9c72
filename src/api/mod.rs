//! The `lea.notices.v1` gRPC services: requests are validated and converted to
//! domain values here, and every failure leaves through [`error::ApiError`].

pub mod attendance;
pub mod auth;
pub mod caller;
pub mod convert;
pub mod error;
pub mod mutation;
pub mod names;
pub mod notice;
pub mod pagination;
pub mod payment;
pub mod policy;
pub mod unimplemented;
