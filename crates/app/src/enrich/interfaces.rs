//! Exporter and interface names: from the configuration (`exporters`),
//! and from what exporters say in IPFIX / NetFlow v9 options data
//! (interfaceName, interfaceDescription); then classified by
//! `interface_rules` (boundary, connectivity, provider). Learned names are
//! kept in `meta.sqlite` so stored flows keep their names after a restart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;

use flowlens_store::Store;
use serde::Serialize;

use super::limits::{MAX_INTERFACES, MAX_INTERFACE_TEXT};
use crate::config::{Boundary, ExporterConfig, InterfaceConfig, InterfaceRule};

/// Everything known of one interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InterfaceInfo {
    pub name: Option<String>,
    pub description: Option<String>,
    pub speed_bps: Option<u64>,
    pub boundary: Option<&'static str>,
    pub connectivity: Option<String>,
    pub provider: Option<String>,
}

impl InterfaceInfo {
    pub fn is_empty(&self) -> bool {
        *self == InterfaceInfo::default()
    }
}

/// `*` any run, `?` one character, without regard to case. Iterative with
/// one backtrack point: linear in practice, never exponential.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(MAX_INTERFACE_TEXT).collect()
}

/// Names learned from exporters: (exporter, ifIndex) → (name, description).
type Learned = HashMap<(IpAddr, u32), (Option<String>, Option<String>)>;

pub struct Interfaces {
    exporter_names: HashMap<IpAddr, String>,
    configured: HashMap<(IpAddr, u32), InterfaceConfig>,
    rules: Vec<InterfaceRule>,
    learned: RwLock<Learned>,
    /// Learned since the last save.
    dirty: RwLock<Vec<(IpAddr, u32)>>,
}

impl Interfaces {
    pub fn new(exporters: &[ExporterConfig], rules: &[InterfaceRule]) -> Interfaces {
        let mut exporter_names = HashMap::new();
        let mut configured = HashMap::new();
        for e in exporters {
            let a = e.address.to_canonical();
            if let Some(n) = &e.name {
                exporter_names.insert(a, n.clone());
            }
            for (i, c) in &e.interfaces {
                configured.insert((a, *i), c.clone());
            }
        }
        Interfaces {
            exporter_names,
            configured,
            rules: rules.to_vec(),
            learned: RwLock::new(HashMap::new()),
            dirty: RwLock::new(Vec::new()),
        }
    }

    /// Adds the names kept from earlier runs.
    pub fn load(&self, store: &Store) -> Result<(), flowlens_store::StoreError> {
        let mut l = self.learned.write().unwrap_or_else(|p| p.into_inner());
        for (a, i, n, d) in store.interface_names()?.into_iter().take(MAX_INTERFACES) {
            l.insert((a.to_canonical(), i), (n, d));
        }
        Ok(())
    }

    /// The configured exporter names, for the store's exporter table.
    pub fn configured_exporter_names(&self) -> Vec<(IpAddr, String)> {
        self.exporter_names.iter().map(|(a, n)| (*a, n.clone())).collect()
    }

    /// What an exporter said of one interface (options data). Cheap when
    /// nothing changed: a read lock and a compare.
    pub fn learn(&self, exporter: IpAddr, if_index: u32, name: Option<&str>, description: Option<&str>) {
        if name.is_none() && description.is_none() {
            return;
        }
        let key = (exporter.to_canonical(), if_index);
        let value = (name.map(clip), description.map(clip));
        {
            let l = self.learned.read().unwrap_or_else(|p| p.into_inner());
            if l.get(&key) == Some(&value) {
                return;
            }
            if l.len() >= MAX_INTERFACES && !l.contains_key(&key) {
                return;
            }
        }
        self.learned
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, value);
        self.dirty.write().unwrap_or_else(|p| p.into_inner()).push(key);
    }

    /// Saves what was learned since the last call (housekeeping).
    pub fn save(&self, store: &Store, now_unix: i64) {
        let keys = std::mem::take(&mut *self.dirty.write().unwrap_or_else(|p| p.into_inner()));
        if keys.is_empty() {
            return;
        }
        let rows: Vec<(IpAddr, u32, Option<String>, Option<String>)> = {
            let l = self.learned.read().unwrap_or_else(|p| p.into_inner());
            keys.iter()
                .filter_map(|k| l.get(k).map(|(n, d)| (k.0, k.1, n.clone(), d.clone())))
                .collect()
        };
        if let Err(e) = store.set_interface_names(&rows, now_unix) {
            tracing::warn!(error = %e, "saving interface names failed; trying again later");
            self.dirty.write().unwrap_or_else(|p| p.into_inner()).extend(keys);
        }
    }

    pub fn exporter_name(&self, exporter: IpAddr) -> Option<&str> {
        self.exporter_names.get(&exporter.to_canonical()).map(String::as_str)
    }

    /// Everything known of one interface: configuration first, then what
    /// the exporter said, then the first matching rule for what is left.
    pub fn info(&self, exporter: IpAddr, if_index: u32) -> InterfaceInfo {
        let key = (exporter.to_canonical(), if_index);
        let c = self.configured.get(&key);
        let learned = self
            .learned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let mut i = InterfaceInfo {
            name: c.and_then(|c| c.name.clone()).or(learned.0),
            description: c.and_then(|c| c.description.clone()).or(learned.1),
            speed_bps: c.and_then(|c| c.speed).map(|s| s.0),
            boundary: c.and_then(|c| c.boundary).map(Boundary::name),
            connectivity: c.and_then(|c| c.connectivity.clone()),
            provider: c.and_then(|c| c.provider.clone()),
        };
        let exporter_name = self
            .exporter_name(exporter)
            .map(str::to_string)
            .unwrap_or_else(|| exporter.to_string());
        let matches = |pattern: &Option<String>, value: Option<&str>| match pattern {
            None => true,
            Some(p) => value.is_some_and(|v| glob(p, v)),
        };
        if let Some(r) = self.rules.iter().find(|r| {
            matches(&r.exporter, Some(&exporter_name))
                && matches(&r.interface, i.name.as_deref())
                && matches(&r.description, i.description.as_deref())
        }) {
            i.boundary = i.boundary.or(r.boundary.map(Boundary::name));
            i.connectivity = i.connectivity.take().or_else(|| r.connectivity.clone());
            i.provider = i.provider.take().or_else(|| r.provider.clone());
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::units::BitRate;

    #[test]
    fn globs_match_as_shells_do_without_case() {
        assert!(glob("xe-*", "XE-0/0/0"));
        assert!(glob("*transit*", "Transit: Cogent 10G"));
        assert!(glob("ae?", "ae1"));
        assert!(!glob("ae?", "ae10"));
        assert!(glob("*", ""));
        assert!(!glob("edge-*", "core-1"));
        // Many stars on a long text: still fast.
        let long = "a".repeat(10_000);
        assert!(!glob("*a*a*a*a*a*b", &long));
    }

    #[test]
    fn configuration_wins_then_the_exporter_then_the_rules() {
        let e: IpAddr = "192.0.2.1".parse().unwrap();
        let exporters = vec![ExporterConfig {
            address: e,
            name: Some("edge-1".into()),
            interfaces: [(
                1,
                InterfaceConfig {
                    name: Some("xe-0/0/0".into()),
                    speed: Some(BitRate(10_000_000_000)),
                    boundary: Some(Boundary::External),
                    ..InterfaceConfig::default()
                },
            )]
            .into(),
        }];
        let rules = vec![
            InterfaceRule {
                description: Some("*transit*".into()),
                boundary: Some(Boundary::External),
                connectivity: Some("transit".into()),
                provider: Some("cogent".into()),
                ..InterfaceRule::default()
            },
            InterfaceRule {
                exporter: Some("edge-*".into()),
                interface: Some("ae*".into()),
                boundary: Some(Boundary::Internal),
                ..InterfaceRule::default()
            },
        ];
        let ifs = Interfaces::new(&exporters, &rules);
        ifs.learn(e, 1, Some("ignored-name"), Some("Transit: Cogent"));
        ifs.learn(e, 2, Some("ae0"), Some("to core"));
        let one = ifs.info(e, 1);
        assert_eq!(one.name.as_deref(), Some("xe-0/0/0"), "configuration wins");
        assert_eq!(
            one.description.as_deref(),
            Some("Transit: Cogent"),
            "the exporter fills the rest"
        );
        assert_eq!(
            (
                one.boundary,
                one.connectivity.as_deref(),
                one.provider.as_deref(),
                one.speed_bps
            ),
            (Some("external"), Some("transit"), Some("cogent"), Some(10_000_000_000))
        );
        let two = ifs.info(e, 2);
        assert_eq!((two.name.as_deref(), two.boundary), (Some("ae0"), Some("internal")));
        assert!(ifs.info(e, 3).is_empty());
        assert!(
            ifs.info("::ffff:192.0.2.1".parse().unwrap(), 2).name.is_some(),
            "IPv4-mapped is IPv4"
        );
    }
}
