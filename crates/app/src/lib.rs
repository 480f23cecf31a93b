//! The FlowLens application: everything between the wire decoders and the
//! `flowlens` binary. For now: reading captures and the `decode` command.

pub mod capture;
pub mod decode;
pub mod flowjson;
