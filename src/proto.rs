//! Code generated from `proto/` by build.rs, and the descriptor set served by
//! gRPC reflection.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/proto_modules.rs"));
}

pub use generated::google::r#type::Date;
pub use generated::lea::notices::v1;

/// The encoded `FileDescriptorSet` of every file under `proto/` (and its imports).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/lea_notices_descriptor.bin"));
