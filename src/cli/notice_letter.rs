//! The `notice-letter` command: a client of `NoticeService.RenderNotice` that
//! writes the notice's PDF letter to a file.

use anyhow::Context;

use crate::proto::v1::{RenderNoticeRequest, notice_service_client::NoticeServiceClient};

#[derive(clap::Args)]
pub struct Args {
    /// The notice: `authorities/850/notices/850-2025-000001` or its number.
    notice: String,
    /// Where to write the PDF.
    #[arg(long)]
    out: std::path::PathBuf,
    #[command(flatten)]
    server: super::connect::ServerArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let telemetry = super::connect::start_telemetry(None)?;
    let options = LetterOptions {
        notice: args.notice,
        server: args.server.server,
        token: args.server.token,
        ca_file: args.server.ca_file,
        out: args.out.clone(),
    };
    let (pages, bytes) = fetch_notice_letter(&options).await?;
    println!("{}: {pages} page(s), {bytes} bytes", args.out.display());
    telemetry.shutdown().await;
    Ok(())
}

/// What `notice-letter` needs.
pub struct LetterOptions {
    /// `authorities/850/notices/850-2025-000001`, or the notice number alone
    /// (its first three digits are the authority).
    pub notice: String,
    pub server: String,
    pub token: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub out: std::path::PathBuf,
}

/// The resource name of `notice` given as a name or a notice number.
pub fn notice_resource_name(notice: &str) -> anyhow::Result<String> {
    if notice.starts_with("authorities/") {
        return Ok(notice.to_string());
    }
    let la = notice
        .split('-')
        .next()
        .filter(|la| la.len() == 3 && la.bytes().all(|b| b.is_ascii_digit()))
        .with_context(|| {
            format!("'{notice}' is neither a notice name nor a notice number like 850-2025-000001")
        })?;
    Ok(format!("authorities/{la}/notices/{notice}"))
}

/// Fetches the letter and writes it to `options.out`; its page count and size.
pub async fn fetch_notice_letter(options: &LetterOptions) -> anyhow::Result<(i32, usize)> {
    let name = notice_resource_name(&options.notice)?;
    let channel = super::connect::channel(&options.server, options.ca_file.as_deref()).await?;
    let mut client = NoticeServiceClient::with_interceptor(
        channel,
        super::connect::Bearer::new(&options.token)?,
    )
    .max_decoding_message_size(16 * 1024 * 1024);
    let letter = client
        .render_notice(RenderNoticeRequest { name: name.clone() })
        .await
        .map_err(|s| anyhow::anyhow!("RenderNotice {name}: {}: {}", s.code(), s.message()))?
        .into_inner();
    std::fs::write(&options.out, &letter.content)
        .with_context(|| format!("writing {}", options.out.display()))?;
    Ok((letter.page_count, letter.content.len()))
}
