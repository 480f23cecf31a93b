//! The flow store: DuckDB for flows and rollups, SQLite for metadata, the
//! filter language, and the query engine. Only this crate touches the data
//! directory.

pub mod filter;
pub mod flow;
pub mod limits;

pub use filter::{Filter, FilterError};
pub use flow::Flow;
