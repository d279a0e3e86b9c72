//! Compiles `proto/` without `protoc`: protox parses the files into a descriptor
//! set, which is written out for gRPC reflection and handed to tonic-prost-build.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "lea/notices/v1/common.proto",
    "lea/notices/v1/policy.proto",
    "lea/notices/v1/attendance.proto",
    "lea/notices/v1/notice.proto",
    "lea/notices/v1/payment.proto",
    "lea/notices/v1/report.proto",
    "lea/notices/v1/audit.proto",
    "lea/notices/v1/school.proto",
    "lea/notices/v1/worklist.proto",
    "lea/notices/v1/events.proto",
    "lea/notices/v1/measures.proto",
    "lea/notices/v1/data_protection.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // sqlx::migrate! embeds these folders; a new file must rebuild the crate.
    println!("cargo:rerun-if-changed=src/store/postgres/migrations");
    println!("cargo:rerun-if-changed=src/store/sqlite/migrations");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let fds = protox::compile(PROTOS, ["proto"])?;
    fs::write(
        out_dir.join("lea_notices_descriptor.bin"),
        fds.encode_to_vec(),
    )?;

    // Type names (`prost::Name`) let request limits find each message's descriptor.
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        // A method added to the protocol answers UNIMPLEMENTED until it is built.
        .generate_default_stubs(true)
        .include_file("proto_modules.rs")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
