//! MaxMind databases (GeoIP2 / GeoLite2 `.mmdb`): country, city and
//! coordinates, AS number and organisation. The files are read whole into
//! memory, checked for their type, and replaced as a set when one changes
//! on disk; a file that cannot be read keeps the previous version.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use maxminddb::{geoip2, Reader};
use serde::Serialize;

use super::limits::{MAX_AS_NAMES, MAX_AS_NAME_LEN, MAX_DATABASE_BYTES};
use crate::config;

/// Which database a file is, by the slot it was configured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Country,
    City,
    Asn,
}

impl Slot {
    pub const ALL: [Slot; 3] = [Slot::Country, Slot::City, Slot::Asn];

    pub fn key(self) -> &'static str {
        match self {
            Slot::Country => "enrichment.geoip.country",
            Slot::City => "enrichment.geoip.city",
            Slot::Asn => "enrichment.geoip.asn",
        }
    }

    /// Database types (metadata `database_type`) this slot takes.
    fn accepts(self, db_type: &str) -> bool {
        match self {
            Slot::Country => db_type.contains("Country") || db_type.contains("City"),
            Slot::City => db_type.contains("City"),
            Slot::Asn => db_type.contains("ASN") || db_type.contains("ISP"),
        }
    }

    fn path(self, c: &config::GeoIp) -> Option<&PathBuf> {
        match self {
            Slot::Country => c.country.as_ref(),
            Slot::City => c.city.as_ref(),
            Slot::Asn => c.asn.as_ref(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{key}: {path}: {message}")]
pub struct GeoError {
    pub key: &'static str,
    pub path: String,
    pub message: String,
}

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

/// One loaded database file.
pub struct Db {
    slot: Slot,
    path: PathBuf,
    stamp: Stamp,
    reader: Reader<Vec<u8>>,
}

impl Db {
    fn open(slot: Slot, path: &Path) -> Result<Db, GeoError> {
        let err = |message: String| GeoError {
            key: slot.key(),
            path: path.display().to_string(),
            message,
        };
        let st = stamp(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        if st.len > MAX_DATABASE_BYTES {
            return Err(err(format!(
                "{} bytes is larger than any MaxMind database ({} at most); is it the right file?",
                st.len, MAX_DATABASE_BYTES
            )));
        }
        let reader = Reader::open_readfile(path).map_err(|e| {
            err(format!(
                "not a readable MaxMind database ({e}); replace it with a .mmdb file"
            ))
        })?;
        let t = reader.metadata().database_type.clone();
        if !slot.accepts(&t) {
            return Err(err(format!(
                "is a {t} database; {} needs {}",
                slot.key(),
                match slot {
                    Slot::Country => "a Country or City database",
                    Slot::City => "a City database",
                    Slot::Asn => "an ASN or ISP database",
                }
            )));
        }
        Ok(Db {
            slot,
            path: path.to_path_buf(),
            stamp: st,
            reader,
        })
    }

    fn info(&self) -> serde_json::Value {
        let m = self.reader.metadata();
        serde_json::json!({
            "slot": self.slot,
            "path": self.path.display().to_string(),
            "type": m.database_type,
            "build_epoch": m.build_epoch,
        })
    }
}

/// Where an address is, as far as the databases know.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Location {
    pub country: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub asn: Option<u32>,
    pub as_name: Option<String>,
}

/// The databases in use, replaced as a whole on reload.
#[derive(Default)]
pub struct Databases {
    country: Option<Arc<Db>>,
    city: Option<Arc<Db>>,
    asn: Option<Arc<Db>>,
    /// AS number → organisation, from every network of the ASN database
    /// (so AS numbers from the exporters get names too).
    as_names: HashMap<u32, Arc<str>>,
}

fn iso(code: Option<&str>) -> Option<[u8; 2]> {
    let b = code?.as_bytes();
    (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
        .then(|| [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
}

impl Databases {
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.city.is_none() && self.asn.is_none()
    }

    fn get(&self, slot: Slot) -> Option<&Arc<Db>> {
        match slot {
            Slot::Country => self.country.as_ref(),
            Slot::City => self.city.as_ref(),
            Slot::Asn => self.asn.as_ref(),
        }
    }

    /// The country (ISO 3166 code) of an address: the Country database,
    /// else the City database. Lookup errors (a damaged record) are `Err`.
    pub fn country(&self, ip: IpAddr) -> Result<Option<[u8; 2]>, maxminddb::MaxMindDbError> {
        let Some(db) = self.country.as_ref().or(self.city.as_ref()) else {
            return Ok(None);
        };
        let r = db.reader.lookup(ip)?;
        Ok(r.decode::<geoip2::Country>()?.and_then(|c| iso(c.country.iso_code)))
    }

    pub fn asn(&self, ip: IpAddr) -> Result<Option<u32>, maxminddb::MaxMindDbError> {
        let Some(db) = self.asn.as_ref() else { return Ok(None) };
        let r = db.reader.lookup(ip)?;
        Ok(r.decode::<geoip2::Asn>()?.and_then(|a| a.autonomous_system_number))
    }

    /// The city of an address (City database only), for answers.
    pub fn city(&self, ip: IpAddr) -> Option<String> {
        let db = self.city.as_ref()?;
        let c = db.reader.lookup(ip).ok()?.decode::<geoip2::City>().ok()??;
        c.city.names.english.map(str::to_string)
    }

    pub fn has_city(&self) -> bool {
        self.city.is_some()
    }

    pub fn as_name(&self, asn: u32) -> Option<&Arc<str>> {
        self.as_names.get(&asn)
    }

    /// Everything known about one address (for the API; not cached).
    pub fn locate(&self, ip: IpAddr) -> Location {
        let mut l = Location {
            country: self
                .country(ip)
                .ok()
                .flatten()
                .map(|c| String::from_utf8_lossy(&c).into_owned()),
            asn: self.asn(ip).ok().flatten(),
            ..Location::default()
        };
        l.as_name = l.asn.and_then(|a| self.as_name(a)).map(|s| s.to_string());
        if let Some(db) = &self.city {
            if let Ok(Some(c)) = db.reader.lookup(ip).and_then(|r| r.decode::<geoip2::City>()) {
                l.city = c.city.names.english.map(str::to_string);
                l.latitude = c.location.latitude;
                l.longitude = c.location.longitude;
            }
        }
        l
    }

    fn build_as_names(db: &Db) -> HashMap<u32, Arc<str>> {
        let mut names: HashMap<u32, Arc<str>> = HashMap::new();
        let Ok(networks) = db.reader.networks(Default::default()) else {
            return names;
        };
        for n in networks {
            let Ok(Some(a)) = n.and_then(|n| n.decode::<geoip2::Asn>()) else {
                continue;
            };
            let (Some(num), Some(org)) = (a.autonomous_system_number, a.autonomous_system_organization) else {
                continue;
            };
            if names.len() >= MAX_AS_NAMES && !names.contains_key(&num) {
                break;
            }
            names
                .entry(num)
                .or_insert_with(|| org.chars().take(MAX_AS_NAME_LEN).collect::<String>().into());
        }
        names
    }
}

/// The databases of the configuration, reloaded when their files change.
pub struct GeoIp {
    config: config::GeoIp,
    current: RwLock<Arc<Databases>>,
    /// Bumped on every reload: workers drop their caches when it moves.
    generation: AtomicU64,
    /// The last error per slot (shown in the status until it clears).
    errors: RwLock<HashMap<Slot, (Option<Stamp>, String)>>,
    pub reloads: AtomicU64,
    pub reload_errors: AtomicU64,
}

impl GeoIp {
    /// Opens every configured database. One that cannot be read is an
    /// error when `required`; otherwise it is left out (and logged), and
    /// tried again when its file changes.
    pub fn open(c: &config::GeoIp) -> Result<GeoIp, GeoError> {
        let g = GeoIp {
            config: c.clone(),
            current: RwLock::new(Arc::new(Databases::default())),
            generation: AtomicU64::new(0),
            errors: RwLock::new(HashMap::new()),
            reloads: AtomicU64::new(0),
            reload_errors: AtomicU64::new(0),
        };
        let mut dbs = Databases::default();
        for slot in Slot::ALL {
            let Some(path) = slot.path(c) else { continue };
            match Db::open(slot, path) {
                Ok(db) => g.put(&mut dbs, db),
                Err(e) if c.required => return Err(e),
                Err(e) => {
                    tracing::warn!("{e}; running without it (set enrichment.geoip.required to refuse to start)");
                    g.set_error(slot, stamp(path).ok(), e.to_string());
                }
            }
        }
        *g.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(dbs);
        Ok(g)
    }

    /// No database configured: nothing to enrich or watch.
    pub fn disabled() -> GeoIp {
        GeoIp::open(&config::GeoIp::default()).unwrap_or_else(|_| unreachable!("nothing to open"))
    }

    fn put(&self, dbs: &mut Databases, db: Db) {
        tracing::info!(
            slot = db.slot.key(),
            path = %db.path.display(),
            r#type = %db.reader.metadata().database_type,
            "GeoIP database loaded"
        );
        let slot = db.slot;
        if slot == Slot::Asn {
            dbs.as_names = Databases::build_as_names(&db);
        }
        let db = Arc::new(db);
        match db.slot {
            Slot::Country => dbs.country = Some(db),
            Slot::City => dbs.city = Some(db),
            Slot::Asn => dbs.asn = Some(db),
        }
        self.errors.write().unwrap_or_else(|p| p.into_inner()).remove(&slot);
    }

    fn set_error(&self, slot: Slot, st: Option<Stamp>, message: String) {
        self.errors
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(slot, (st, message));
    }

    pub fn current(&self) -> Arc<Databases> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn watching(&self) -> bool {
        Slot::ALL.iter().any(|s| s.path(&self.config).is_some())
    }

    /// Checks every configured file; when one changed, loads the new
    /// version and swaps the set in at once. A new version that cannot be
    /// read keeps the old one (logged once per version). True when swapped.
    pub fn check_reload(&self) -> bool {
        let cur = self.current();
        let mut next: Option<Databases> = None;
        for slot in Slot::ALL {
            let Some(path) = slot.path(&self.config) else { continue };
            let Ok(st) = stamp(path) else { continue };
            if cur.get(slot).is_some_and(|db| db.stamp == st) {
                continue;
            }
            let failed_before = self
                .errors
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&slot)
                .is_some_and(|(s, _)| *s == Some(st));
            if failed_before {
                continue;
            }
            let n = next.get_or_insert_with(|| Databases {
                country: cur.country.clone(),
                city: cur.city.clone(),
                asn: cur.asn.clone(),
                as_names: cur.as_names.clone(),
            });
            match Db::open(slot, path) {
                Ok(db) => self.put(n, db),
                Err(e) => {
                    self.reload_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("{e}; keeping the version loaded before");
                    self.set_error(slot, Some(st), e.to_string());
                }
            }
        }
        let Some(n) = next else { return false };
        let changed = Slot::ALL.iter().any(|&s| match (n.get(s), cur.get(s)) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (a, b) => a.is_some() != b.is_some(),
        });
        if !changed {
            return false;
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(n);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// For the status: each database and the last error of each slot.
    pub fn status(&self) -> serde_json::Value {
        let cur = self.current();
        let loaded: Vec<serde_json::Value> = Slot::ALL.iter().filter_map(|&s| cur.get(s)).map(|d| d.info()).collect();
        let errors: serde_json::Map<String, serde_json::Value> = self
            .errors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, (_, m))| (s.key().to_string(), serde_json::Value::String(m.clone())))
            .collect();
        serde_json::json!({
            "databases": loaded,
            "errors": errors,
            "as_names": cur.as_names.len(),
            "reloads": self.reloads.load(Ordering::Relaxed),
            "reload_errors": self.reload_errors.load(Ordering::Relaxed),
        })
    }
}
