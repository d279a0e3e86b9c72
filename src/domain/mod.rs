//! The rules of school-attendance enforcement, as pure code: no I/O, no async.
//!
//! An auditor reads the law here. Every fact comes from `docs/domain.md` (each with its source);
//! rules that are local choices live in [`policy`] as per-authority versions.

/// Stable names used in storage, audit records and page filters.
macro_rules! string_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

/// `ALL`: every variant of an enum, in the order listed. The list also writes
/// an exhaustive match, so a variant left out of it fails to compile.
macro_rules! all_variants {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($ty::$variant),+].len()] = [$($ty::$variant),+];
        }
        const _: fn($ty) = |v| match v {
            $($ty::$variant)|+ => {}
        };
    };
}
pub(crate) use all_variants;

pub mod access;
pub mod access_log;
pub mod actor;
pub mod attendance;
pub mod audit;
pub mod breach;
pub mod calendar;
pub mod events;
pub mod evidence;
pub mod identifiers;
pub mod issuing;
pub mod letter;
pub mod measures;
pub mod names;
pub mod notice;
pub mod payment;
pub mod penalty_notice_request;
pub mod policy;
pub mod prosecution_file;
pub mod rectification;
pub mod register_codes;
pub mod report;
pub mod retention;
pub mod school;
pub mod sen;
pub mod session;
pub mod sharing;
pub mod statutory_dates;
pub mod violation;
pub mod worklist;

pub use violation::{FieldViolation, RuleViolation};
