//! CIDR classification: rules that say what a network is (a name, an
//! environment, a datacenter, a location, inside or outside), from the
//! configuration file and from the API (kept in `meta.sqlite`). An address
//! takes the rule of its most specific matching network; among rules for
//! the same network, the lower priority value. Lookups walk a prefix trie.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use flowlens_store::meta::RuleRow;
use flowlens_store::{Class, Store, StoreError};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use serde::Serialize;

use super::limits::{MAX_RULES, MAX_RULE_TEXT};
use crate::config::{ClassRule, Environment};

/// Where a rule comes from: the file (read-only here) or the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Config,
    Api,
}

/// A checked rule, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// `config-N` for the file's rules (by position), the database id
    /// for the API's.
    pub id: String,
    pub origin: Origin,
    pub cidr: IpNet,
    pub name: Option<String>,
    pub environment: Option<&'static str>,
    pub datacenter: Option<String>,
    pub location: Option<String>,
    pub internal: Option<bool>,
    pub priority: i64,
}

impl Rule {
    pub fn class(&self) -> Class {
        Class {
            name: self.name.clone(),
            env: self.environment.map(str::to_string),
            datacenter: self.datacenter.clone(),
            location: self.location.clone(),
            internal: self.internal,
        }
    }

    pub fn from_config(i: usize, r: &ClassRule) -> Rule {
        Rule {
            id: format!("config-{i}"),
            origin: Origin::Config,
            cidr: r.cidr.trunc(),
            name: r.name.clone(),
            environment: r.environment.map(Environment::name),
            datacenter: r.datacenter.clone(),
            location: r.location.clone(),
            internal: r.internal,
            priority: r.priority,
        }
    }

    /// A stored rule; `None` when it no longer passes the checks (a
    /// hand-edited database): it is left out and logged.
    pub fn from_row(r: &RuleRow) -> Option<Rule> {
        let cidr: IpNet = r.cidr.parse().ok()?;
        let c = ClassRule {
            cidr,
            name: r.name.clone(),
            environment: match &r.environment {
                Some(e) => Some(Environment::parse(e)?),
                None => None,
            },
            datacenter: r.datacenter.clone(),
            location: r.location.clone(),
            internal: r.internal,
            priority: r.priority,
        };
        check_rule(&c).ok()?;
        Some(Rule {
            id: r.id.to_string(),
            origin: Origin::Api,
            ..Rule::from_config(0, &c)
        })
    }

    pub fn to_row(&self, id: i64, now_unix: i64) -> RuleRow {
        RuleRow {
            id,
            cidr: self.cidr.to_string(),
            name: self.name.clone(),
            environment: self.environment.map(str::to_string),
            datacenter: self.datacenter.clone(),
            location: self.location.clone(),
            internal: self.internal,
            priority: self.priority,
            updated_unix: now_unix,
        }
    }
}

/// Checks a rule: words the filter language can name, something to say,
/// a priority in range. The error says what is allowed.
pub fn check_rule(r: &ClassRule) -> Result<(), String> {
    for (what, v) in [
        ("name", &r.name),
        ("datacenter", &r.datacenter),
        ("location", &r.location),
    ] {
        if let Some(v) = v {
            let ok = !v.is_empty()
                && v.chars().count() <= MAX_RULE_TEXT
                && v.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !ok {
                return Err(format!(
                    "{what} \"{}\" must be 1 to {MAX_RULE_TEXT} letters, digits, '.', '_' or '-' \
                     (so a filter can name it: src netname NAME)",
                    v.chars().take(80).collect::<String>()
                ));
            }
        }
    }
    if r.name.is_none()
        && r.environment.is_none()
        && r.datacenter.is_none()
        && r.location.is_none()
        && r.internal.is_none()
    {
        return Err("a rule needs at least one of name, environment, datacenter, location, internal".into());
    }
    if !(0..=1_000_000).contains(&r.priority) {
        return Err(format!("priority {} must be 0 to 1000000 (lower wins)", r.priority));
    }
    Ok(())
}

/// The rules as a lookup structure.
#[derive(Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Per network: (priority, id order, class) sorted, first wins.
    v4: PrefixMap<Ipv4Net, Vec<(i64, usize, Arc<Class>)>>,
    v6: PrefixMap<Ipv6Net, Vec<(i64, usize, Arc<Class>)>>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        let mut s = RuleSet {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
            rules: Vec::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            let entry = (r.priority, i, Arc::new(r.class()));
            let list = match r.cidr {
                IpNet::V4(n) => s.v4.entry(n).or_default(),
                IpNet::V6(n) => s.v6.entry(n).or_default(),
            };
            list.push(entry);
            list.sort_by_key(|(p, i, _)| (*p, *i));
        }
        s.rules = rules;
        s
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The class of an address (IPv4-mapped IPv6 is looked up as IPv4).
    pub fn classify(&self, ip: IpAddr) -> Option<Arc<Class>> {
        let found = match ip.to_canonical() {
            IpAddr::V4(a) => self.v4.get_lpm(&Ipv4Net::from(a)).map(|(_, v)| v),
            IpAddr::V6(a) => self.v6.get_lpm(&Ipv6Net::from(a)).map(|(_, v)| v),
        };
        found.and_then(|v| v.first()).map(|(_, _, c)| c.clone())
    }

    /// The rule that decides an address, for `classify/{ip}`.
    pub fn rule_for(&self, ip: IpAddr) -> Option<&Rule> {
        let found = match ip.to_canonical() {
            IpAddr::V4(a) => self.v4.get_lpm(&Ipv4Net::from(a)).map(|(_, v)| v),
            IpAddr::V6(a) => self.v6.get_lpm(&Ipv6Net::from(a)).map(|(_, v)| v),
        };
        found.and_then(|v| v.first()).map(|(_, i, _)| &self.rules[*i])
    }
}

/// The rules in force, replaced as a whole when the API changes one.
pub struct Classifier {
    config: Vec<Rule>,
    current: RwLock<Arc<RuleSet>>,
    generation: AtomicU64,
}

impl Classifier {
    /// The file's rules only (tests, and a store without rules).
    pub fn from_config(rules: &[ClassRule]) -> Classifier {
        let config: Vec<Rule> = rules.iter().enumerate().map(|(i, r)| Rule::from_config(i, r)).collect();
        Classifier {
            current: RwLock::new(Arc::new(RuleSet::new(config.clone()))),
            config,
            generation: AtomicU64::new(0),
        }
    }

    /// The file's rules and the stored ones.
    pub fn open(rules: &[ClassRule], store: &Store) -> Result<Classifier, StoreError> {
        let c = Classifier::from_config(rules);
        c.reload(store)?;
        Ok(c)
    }

    /// Rebuilds from the file's rules and the store's (after an API change):
    /// new flows use the new rules from their next batch.
    pub fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let mut rules = self.config.clone();
        for row in store.rules()?.iter().take(MAX_RULES) {
            match Rule::from_row(row) {
                Some(r) => rules.push(r),
                None => {
                    tracing::warn!(id = row.id, cidr = %row.cidr, "classification rule in meta.sqlite is invalid; ignored")
                }
            }
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(RuleSet::new(rules));
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    pub fn current(&self) -> Arc<RuleSet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(cidr: &str, name: &str, priority: i64) -> ClassRule {
        ClassRule {
            cidr: cidr.parse().unwrap(),
            name: Some(name.into()),
            environment: None,
            datacenter: None,
            location: None,
            internal: Some(true),
            priority,
        }
    }

    #[test]
    fn the_most_specific_network_wins_then_the_lower_priority() {
        let c = Classifier::from_config(&[
            rule("10.0.0.0/8", "corp", 100),
            rule("10.20.0.0/16", "payments", 100),
            rule("10.20.0.0/16", "payments-override", 50),
            rule("10.20.30.0/24", "pci", 200),
            rule("2001:db8::/32", "lab6", 100),
        ]);
        let s = c.current();
        let name = |ip: &str| s.classify(ip.parse().unwrap()).and_then(|c| c.name.clone());
        assert_eq!(name("10.1.2.3").as_deref(), Some("corp"));
        assert_eq!(name("10.20.1.1").as_deref(), Some("payments-override"));
        assert_eq!(
            name("10.20.30.4").as_deref(),
            Some("pci"),
            "more specific beats lower priority"
        );
        assert_eq!(name("::ffff:10.20.30.4").as_deref(), Some("pci"), "IPv4-mapped is IPv4");
        assert_eq!(name("2001:db8:5::1").as_deref(), Some("lab6"));
        assert_eq!(name("192.0.2.1"), None);
        assert_eq!(s.rule_for("10.20.1.1".parse().unwrap()).unwrap().id, "config-2");
    }

    #[test]
    fn rules_that_a_filter_could_not_name_are_refused() {
        let mut r = rule("10.0.0.0/8", "has space", 100);
        assert!(check_rule(&r).unwrap_err().contains("letters, digits"));
        r.name = Some("ok-name_1.x".into());
        assert!(check_rule(&r).is_ok());
        r.priority = -1;
        assert!(check_rule(&r).unwrap_err().contains("priority"));
        let empty = ClassRule {
            name: None,
            internal: None,
            ..rule("10.0.0.0/8", "x", 1)
        };
        assert!(check_rule(&empty).unwrap_err().contains("at least one"));
    }
}
