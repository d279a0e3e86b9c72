//! The tower layers every call passes before its handler: who the caller is
//! (`auth`), the request's size and shape (`limits`, `oversize`), and load
//! shedding when the server is saturated (`shedding`).

pub mod auth;
pub mod calls;
pub mod claims;
pub mod jwks;
pub mod limits;
pub mod oversize;
pub mod prewalk;
pub mod shedding;
pub mod status_rewrite;
pub mod undecodable;
