//! lea-notices: school-attendance enforcement for English local authorities.
//!
//! - [`domain`]: the statutory and local rules, pure and unit-tested;
//! - [`app`]: the use cases, one function each, one unit of work each;
//! - [`store`]: persistence by aggregate, on PostgreSQL or SQLite;
//! - [`api`]: the `lea.notices.v1` gRPC services (identify, convert, call, convert back)
//!   and the tower layers before them;
//! - [`server`]: wiring (configuration, telemetry, metrics);
//! - [`cli`]: the `lea-notices` command, one file per subcommand.

pub mod api;
pub mod app;
pub mod cli;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod proto;
pub mod server;
pub mod store;
