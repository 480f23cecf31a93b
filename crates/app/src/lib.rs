//! The FlowLens application: everything between the wire decoders and the
//! `flowlens` binary: reading captures, the `decode` and `query` commands.

pub mod analysis;
pub mod api;
pub mod auth;
pub mod capture;
pub mod config;
pub mod console;
pub mod decode;
pub mod demo;
pub mod enrich;
pub mod flowjson;
pub mod import;
pub mod metrics;
pub mod query;
pub mod scenario;
pub mod serve;
pub mod simulate;
pub mod timespec;
pub use flowlens_wire::Timestamp;
