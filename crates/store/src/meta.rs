//! Metadata in SQLite (`meta.sqlite` beside the flows): small,
//! transactional things — users, rules, assets — as later issues add them.
//! Opening it creates the file and records the schema version.

use std::path::Path;

use crate::StoreError;

/// Schema version of `meta.sqlite`; migrations key off it.
pub const META_SCHEMA_VERSION: i64 = 1;

pub fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let c = rusqlite::Connection::open(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
    c.pragma_update(None, "journal_mode", "WAL").map_err(meta)?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
         INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
    )
    .map_err(meta)?;
    let v: i64 = c
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .map_err(meta)?;
    if v > META_SCHEMA_VERSION {
        return Err(StoreError::Meta(format!(
            "{} has schema version {v}, newer than this flowlens understands ({META_SCHEMA_VERSION}); \
             run a newer flowlens or point storage.data_dir elsewhere",
            path.display()
        )));
    }
    Ok(c)
}
