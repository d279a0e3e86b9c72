//! The `lea.notices.v1` gRPC services, as thin adapters: each RPC identifies the
//! caller, reads the request (`convert`, errors kept as a [`crate::app::Read`]),
//! calls its use case in [`crate::app`], which decides whether the caller may
//! make the call before answering the request's errors, and converts the answer
//! back; every failure leaves through one mapping ([`error`]).

pub mod attendance;
pub mod audit;
pub mod caller;
pub mod convert;
pub mod data_protection;
pub mod error;
pub mod events;
pub mod layers;
pub mod measures;
pub mod mutation;
pub mod notice;
pub mod pagination;
pub mod payment;
pub mod policy;
pub mod report;
pub mod school;
pub mod worklist;
