//! Integration tests: a real tonic client against a server on a random port, on
//! SQLite (a temp file) and on PostgreSQL (a fresh database per test).
//! One test binary, so the stack links once.

mod helpers;

mod abuse;
mod access;
mod attendance;
mod audit;
mod cases;
mod clock;
mod errors;
mod evidence;
mod fuzz_corpus;
mod grpc_surface;
mod hardening;
mod letters;
mod load;
mod mark_streams;
mod message_size;
mod mis_exports;
mod notices;
mod operations;
mod outage;
mod payments;
mod policy;
mod privileges;
mod referrals;
mod reports;
mod resilience;
mod rollups;
mod schema;
mod schools;
mod store_rules;
mod transport;
