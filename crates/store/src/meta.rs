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
         INSERT INTO schema_version (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
         CREATE TABLE IF NOT EXISTS exporter_names (
             address TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             source TEXT NOT NULL,
             updated_unix INTEGER NOT NULL
         );",
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

/// Longest exporter name kept.
pub const MAX_EXPORTER_NAME: usize = 128;

impl crate::Store {
    /// A connection to `meta.sqlite`.
    pub fn meta(&self) -> Result<rusqlite::Connection, StoreError> {
        open(&self.data_dir().join(crate::store::META_FILE))
    }

    /// Records names for exporter addresses (`source` says who named them:
    /// "ingest", later "snmp" or "config"), in one transaction.
    pub fn set_exporter_names(
        &self,
        names: &[(std::net::IpAddr, String)],
        source: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let mut c = self.meta()?;
        let tx = c.transaction().map_err(meta)?;
        for (addr, name) in names {
            let name: String = name.chars().take(MAX_EXPORTER_NAME).collect();
            tx.execute(
                "INSERT INTO exporter_names (address, name, source, updated_unix) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (address) DO UPDATE SET name = ?2, source = ?3, updated_unix = ?4",
                rusqlite::params![addr.to_string(), name, source, now_unix],
            )
            .map_err(meta)?;
        }
        tx.commit().map_err(meta)
    }

    /// Every named exporter: (address, name).
    pub fn exporter_names(&self) -> Result<Vec<(std::net::IpAddr, String)>, StoreError> {
        let meta = |e: rusqlite::Error| StoreError::Meta(e.to_string());
        let c = self.meta()?;
        let mut st = c
            .prepare("SELECT address, name FROM exporter_names ORDER BY address")
            .map_err(meta)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(meta)?;
        let mut out = Vec::new();
        for r in rows {
            let (a, n) = r.map_err(meta)?;
            if let Ok(a) = a.parse() {
                out.push((a, n));
            }
        }
        Ok(out)
    }
}
