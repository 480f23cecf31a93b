//! Cisco NetFlow: the fixed formats (v1, v5, v7) and template-based v9.

pub mod legacy;
pub mod v9;
