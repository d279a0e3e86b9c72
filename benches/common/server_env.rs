//! The environment every benchmark's server runs with (included with `#[path]`).

use std::path::Path;

/// A server on `database_url` with its data (the development key) in
/// `data_dir`, listening on `port`, accepting development tokens and migrating
/// on start; `LEA_BENCH_SERVER_LOG` is its log filter (`warn` unless set:
/// `sqlx::query=debug` shows each statement's time).
pub fn server_env(database_url: String, data_dir: &Path, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url),
        ("LEA_NOTICES_DATA_DIR", data_dir.display().to_string()),
        ("LEA_NOTICES_LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("LEA_NOTICES_DEV_TOKENS", "true".into()),
        ("LEA_NOTICES_MIGRATE_ON_START", "true".into()),
        (
            "RUST_LOG",
            std::env::var("LEA_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ]
}
