//! Integration tests: a real tonic client against a server on a random port, on
//! SQLite (a temp file) and on PostgreSQL (a fresh database per test).
//! One test binary, so the stack links once.

mod helpers;

mod abuse;
mod access;
mod attendance;
mod audit;
mod breach_decisions;
mod child;
mod clock;
mod data_protection;
mod errors;
mod events;
mod evidence;
mod fuzz_corpus;
mod grpc_surface;
mod hardening;
mod hostile;
mod identity_provider;
mod letters;
mod liability;
mod load;
mod mark_streams;
mod measures;
mod message_size;
mod mis_exports;
mod notices;
mod operations;
mod outage;
mod overload;
mod partitions;
mod payment_files;
mod payments;
mod penalty_notice_requests;
mod personal_data;
mod policy;
mod privileges;
mod rectification;
mod relay;
mod replica;
mod reports;
mod resilience;
mod retention;
mod rollups;
mod rpc_metrics;
mod schema;
mod schools;
mod sen_status;
mod sharing;
mod small_batches;
mod statutory_return;
mod store_rules;
mod transport;
mod worklist;
mod worklist_rules;
