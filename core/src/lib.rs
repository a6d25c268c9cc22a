//! vsync-core: everything the runtime libraries and the CLI decide, in one crate.
//!
//! Bindings (Python, Node, Java, the C ABI for Go) only map names, errors and lifecycles; the
//! formats, the S3 fetch, the lookup order and the error classes live here.
//!
//! The write side (`writer`, `corpus`, sealing, encoding, S3 PUT/DELETE) is compiled only with
//! the `writer` feature: the CLI enables it, the runtime libraries never do.

pub mod ambient;
pub mod bootstrap;
pub mod config;
#[cfg(feature = "writer")]
pub mod corpus;
pub mod envelope;
pub mod error;
#[cfg(feature = "testing-hooks")]
pub mod hooks;
pub mod limits;
pub mod payload;
pub mod proxy;
pub mod s3;
pub mod vault;
#[cfg(feature = "writer")]
pub mod writer;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use vault::{open, open_with, Layout, OpenOptions, Resolved, Source, Vault};
