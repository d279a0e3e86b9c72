//! The rules of school-attendance enforcement, as pure code: no I/O, no async.
//!
//! An auditor reads the law here. Every fact comes from `../shared/DOMAIN.md`;
//! rules that are local choices live in [`policy`] as per-authority versions.

pub mod access;
pub mod actor;
pub mod attendance;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod evidence;
pub mod identifiers;
pub mod letter;
pub mod names;
pub mod notice;
pub mod payment;
pub mod policy;
pub mod referral;
pub mod register_codes;
pub mod report;
pub mod school;
pub mod violation;

pub use violation::{FieldViolation, RuleViolation};
