//! vsync-c: a narrow C ABI over `vsync-core`. The Go binding links the static library; any C
//! or C++ program can too (`tests/abi_test.c`).
//!
//! `include/vsync.h` is generated from these modules by cbindgen (`cbindgen.toml`, which reads
//! `src/lib.rs` and follows its `mod` lines in order): the doc comments are the header's
//! documentation, and `tests/header.rs` fails when the committed header differs from what
//! cbindgen makes of the current signatures (regenerate with
//! `VSYNC_BLESS=1 cargo test -p vsync-c --test header`).
//!
//! Rules of this layer: it only converts arguments and results. Formats, the lookup order and
//! error classes (numbers and codes included) all come from the core. Every exported function
//! runs its body under `catch_unwind`, so no panic crosses the boundary (it becomes the core's
//! `Internal` kind). Every buffer handed out is allocated here, carries its length in a hidden
//! header, and is zeroed when freed with `vsync_string_free` / `vsync_bytes_free`.
//!
//! Modules, in the order the header lists their items:
//! - `types`: the ABI's constants, enums and structs;
//! - `buffer`: memory handed out (length header, zeroed on free), out-pointer writes;
//! - `out`: out parameters, cleared first and set on success;
//! - `args`: arguments coming in (C strings, buffers, key/value arrays, options);
//! - `guard`: the panic guard every export runs under, and static arrays;
//! - `api`: the exported functions that open and read a vault;
//! - `release`: `vsync_close` and the free functions;
//! - `testing`: the `vsync_testing_*` conformance hooks (private API).
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::too_many_arguments)]

mod types;
pub use types::*;

mod buffer;
mod out;

mod args;
mod guard;

mod api;
pub use api::*;

mod release;
pub use release::*;

mod testing;
pub use testing::*;

#[cfg(test)]
mod tests;
