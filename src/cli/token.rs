//! `token`: a short-lived bearer token signed with the development key (the
//! embedded default's; production tokens come from the identity provider).

use anyhow::Context;

use super::connect::ConfigArgs;
use crate::api::layers::auth::{self, DevKey};
use crate::app::clock::{Clock, SystemClock};
use crate::domain::{actor::Role, identifiers::LaCode};

#[derive(clap::Args)]
pub struct Args {
    /// The caller's authority (LA code).
    #[arg(long)]
    authority: String,
    /// school_staff, la_officer, police, finance, auditor, admin or
    /// data_protection_officer.
    #[arg(long)]
    role: String,
    /// The token's subject.
    #[arg(long, default_value = "dev-user")]
    subject: String,
    /// For school staff: a school's URN (repeat for several).
    #[arg(long = "school")]
    schools: Vec<String>,
    /// Minutes until the token expires.
    #[arg(long, default_value_t = 60)]
    ttl_minutes: i64,
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let authority = LaCode::parse(&args.authority).map_err(anyhow::Error::msg)?;
    let role = Role::parse(&args.role).with_context(|| format!("unknown role '{}'", args.role))?;
    let key = DevKey::load_or_create(&config.data_dir)?;
    let claims = auth::claims(
        &args.subject,
        &authority,
        role,
        &args.schools,
        (&config.jwt_issuer, &config.jwt_audience),
        chrono::Duration::minutes(args.ttl_minutes),
        SystemClock.now(),
    );
    println!("{}", key.sign(&claims));
    Ok(())
}
