//! The `lea-notices` command; each subcommand is a file of `src/cli/`.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lea_notices::cli::Cli::parse().run().await
}
