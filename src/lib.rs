//! lea-notices: school-attendance enforcement for English local authorities.
//!
//! - [`domain`]: the statutory and local rules, pure and unit-tested;
//! - [`store`]: persistence behind one trait, on PostgreSQL or SQLite;
//! - [`api`]: the `lea.notices.v1` gRPC services (validation, conversion, errors);
//! - [`import`]: the `import-marks` command-line client;
//! - [`server`], [`config`], [`telemetry`]: wiring.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod export;
pub mod import;
pub mod import_schools;
pub mod letter_client;
pub mod letter_pdf;
pub mod metrics;
pub mod proto;
pub mod server;
pub mod store;
pub mod telemetry;
