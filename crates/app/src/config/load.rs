//! Layering defaults, file, environment and flags into one [`Config`], with
//! the source of every value and errors that say what to change.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::{Config, ListenProtocol, Listener};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(n) => write!(f, "flag --{n}"),
        }
    }
}

/// Everything wrong with a configuration, one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Command-line overrides (`flowlens serve --data-dir … --netflow …`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub http: Vec<SocketAddr>,
    pub netflow: Vec<SocketAddr>,
    pub ipfix: Vec<SocketAddr>,
    pub sflow: Vec<SocketAddr>,
}

/// The effective configuration and where each value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Dotted path (lists as a whole) → source; paths absent are defaults.
    pub sources: BTreeMap<String, Source>,
}

impl Loaded {
    pub fn source_of(&self, path: &str) -> Source {
        // The longest recorded prefix: `collector.listeners` covers its items.
        let mut best = Source::Default;
        let mut best_len = 0;
        for (p, s) in &self.sources {
            let covers = path == p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["));
            if covers && p.len() >= best_len {
                best = s.clone();
                best_len = p.len();
            }
        }
        best
    }

    /// `key = value  # source` lines, for `flowlens config print`.
    pub fn print(&self) -> String {
        let lines = settings(&self.config);
        let width = lines.iter().map(|(k, v)| k.len() + v.len() + 3).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in lines {
            let kv = format!("{k} = {v}");
            out.push_str(&format!("{kv:<width$}  # {}\n", self.source_of(&k)));
        }
        out
    }
}

/// Words that mark a setting as secret: its value is never shown (the
/// console's About page, `config print`).
pub const SECRET_WORDS: &[&str] = &["password", "secret", "token", "key"];

/// The configuration as dotted `key = value` pairs (lists item by item),
/// secrets masked.
pub fn settings(c: &Config) -> Vec<(String, String)> {
    let tree = serde_yaml_ng::to_value(c).unwrap_or(Value::Null);
    let mut lines = Vec::new();
    flatten(&tree, String::new(), &mut lines);
    for (k, v) in &mut lines {
        let last = k.rsplit('.').next().unwrap_or(k).to_ascii_lowercase();
        if SECRET_WORDS.iter().any(|w| last.contains(w)) && v != "~" {
            *v = "••••••".into();
        }
    }
    lines
}

fn flatten(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let k = k.as_str().unwrap_or("?");
                let p = if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, p, out);
            }
        }
        Value::Sequence(s) if !s.is_empty() => {
            for (i, v) in s.iter().enumerate() {
                out.push((format!("{path}[{i}]"), inline(v)));
            }
        }
        _ => out.push((path, inline(v))),
    }
}

/// A value on one line, YAML flow style.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "~".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Sequence(s) => format!("[{}]", s.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", k.as_str().unwrap_or("?"), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tagged(t) => inline(&t.value),
    }
}

/// Environment variables that set configuration: `FLOWLENS_` and a `__`
/// between section and key (other `FLOWLENS_*` variables are not config).
pub const ENV_PREFIX: &str = "FLOWLENS_";

/// Loads the configuration: defaults, then `file`, then the `FLOWLENS_*__*`
/// variables among `env`, then `flags`.
pub fn load(file: Option<&Path>, env: &[(String, String)], flags: &Overrides) -> Result<Loaded, ConfigError> {
    let defaults = serde_yaml_ng::to_value(Config::default()).expect("the defaults serialize");
    let mut tree = defaults.clone();
    let mut sources = BTreeMap::new();
    let mut errors = Vec::new();

    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(vec![format!(
                "cannot read {}: {e} (write a default one with `flowlens config init {}`)",
                path.display(),
                path.display()
            )])
        })?;
        let user: Value = match serde_yaml_ng::from_str(&text) {
            Ok(Value::Null) => Value::Mapping(Mapping::new()),
            Ok(v) => v,
            Err(e) => return Err(ConfigError(vec![format!("{}: not valid YAML: {e}", path.display())])),
        };
        if !user.is_mapping() {
            return Err(ConfigError(vec![format!(
                "{}: expected sections (collector:, storage:, …) at the top, found {}",
                path.display(),
                kind(&user)
            )]));
        }
        let before = errors.len();
        check_keys(&user, &defaults, "", &mut errors);
        for e in &mut errors[before..] {
            *e = format!("{}: {e}", path.display());
        }
        merge(&mut tree, &user, "", &Source::File(path.to_path_buf()), &mut sources);
    }

    let mut vars: Vec<&(String, String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__"))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let keys: Vec<String> = name[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let value: Value = serde_yaml_ng::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone()));
        // Build the one-key tree the variable stands for and check it like a file.
        let mut user = value;
        for k in keys.iter().rev() {
            let mut m = Mapping::new();
            m.insert(Value::String(k.clone()), user);
            user = Value::Mapping(m);
        }
        let before = errors.len();
        check_keys(&user, &defaults, "", &mut errors);
        for e in &mut errors[before..] {
            *e = format!("environment {name}: {e}");
        }
        merge(&mut tree, &user, "", &Source::Env(name.clone()), &mut sources);
    }
    if !errors.is_empty() {
        return Err(ConfigError(errors));
    }

    let mut config: Config = match serde_path_to_error::deserialize(tree) {
        Ok(c) => c,
        Err(e) => {
            let path = e.path().to_string();
            let source = Loaded {
                config: Config::default(),
                sources: sources.clone(),
            }
            .source_of(&path);
            return Err(ConfigError(vec![format!(
                "bad value for {path} (from {source}): {}",
                e.into_inner()
            )]));
        }
    };
    apply_flags(&mut config, flags, &mut sources);
    validate(&config, &sources)?;
    Ok(Loaded { config, sources })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a section",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The shape each item of a list of sections must have.
fn item_template(path: &str) -> Option<Value> {
    match path {
        "collector.listeners" => serde_yaml_ng::to_value(Listener::default()).ok(),
        _ => None,
    }
}

/// Sections whose keys are the user's own names (not settings).
const FREE_FORM: &[&str] = &["metrics.labels"];

/// Unknown keys, with the nearest known one.
fn check_keys(user: &Value, known: &Value, path: &str, errors: &mut Vec<String>) {
    if FREE_FORM.contains(&path) {
        return;
    }
    let (Value::Mapping(u), Value::Mapping(k)) = (user, known) else {
        if let (Value::Sequence(items), Some(t)) = (user, item_template(path)) {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if item.is_mapping() {
                    check_keys(item, &t, &p, errors);
                } else {
                    errors.push(format!(
                        "{p}: expected a section (address:, port:, …), found {}",
                        kind(item)
                    ));
                }
            }
        }
        return;
    };
    for (key, value) in u {
        let Some(name) = key.as_str() else {
            errors.push(format!("{path}: keys must be names, found {}", inline(key)));
            continue;
        };
        let p = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        match k.get(name) {
            Some(sub) => {
                if sub.is_mapping() && !value.is_mapping() && !value.is_null() {
                    errors.push(format!("{p}: expected a section, found {}", kind(value)));
                } else {
                    check_keys(value, sub, &p, errors);
                }
            }
            None => {
                let names: Vec<&str> = k.keys().filter_map(Value::as_str).collect();
                let hint = match nearest(name, &names) {
                    Some(n) => format!(
                        " — did you mean {}?",
                        if path.is_empty() {
                            n.to_string()
                        } else {
                            format!("{path}.{n}")
                        }
                    ),
                    None => format!(" (known here: {})", names.join(", ")),
                };
                errors.push(format!("unknown key {p}{hint}"));
            }
        }
    }
}

/// The known name closest to `name`, if close enough to be a typo.
pub fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Overlays `user` on `tree`; sections merge key by key, anything else
/// (lists included) replaces.
fn merge(tree: &mut Value, user: &Value, path: &str, source: &Source, sources: &mut BTreeMap<String, Source>) {
    match (tree, user) {
        (Value::Mapping(t), Value::Mapping(u)) => {
            for (k, v) in u {
                let name = k.as_str().unwrap_or_default();
                let p = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                match t.get_mut(k) {
                    Some(slot) if slot.is_mapping() && v.is_mapping() => merge(slot, v, &p, source, sources),
                    Some(slot) => {
                        *slot = v.clone();
                        sources.retain(|q, _| !(q == &p || q.starts_with(&format!("{p}."))));
                        sources.insert(p, source.clone());
                    }
                    None => {
                        t.insert(k.clone(), v.clone());
                        sources.insert(p, source.clone());
                    }
                }
            }
        }
        (slot, v) => {
            *slot = v.clone();
            sources.insert(path.to_string(), source.clone());
        }
    }
}

fn apply_flags(c: &mut Config, f: &Overrides, sources: &mut BTreeMap<String, Source>) {
    if let Some(d) = &f.data_dir {
        c.storage.data_dir = d.clone();
        sources.insert("storage.data_dir".into(), Source::Flag("data-dir"));
    }
    if !f.http.is_empty() {
        c.web.listen = f.http.iter().copied().filter(|a| a.port() != 0).collect();
        sources.insert("web.listen".into(), Source::Flag("http"));
    }
    for (protocol, addrs, flag) in [
        (ListenProtocol::Netflow, &f.netflow, "netflow"),
        (ListenProtocol::Ipfix, &f.ipfix, "ipfix"),
        (ListenProtocol::Sflow, &f.sflow, "sflow"),
    ] {
        if addrs.is_empty() {
            continue;
        }
        c.collector.listeners.retain(|l| l.protocol != protocol);
        for a in addrs.iter().filter(|a| a.port() != 0) {
            c.collector.listeners.push(Listener {
                address: a.ip(),
                port: a.port(),
                protocol,
                ..Listener::default()
            });
        }
        sources.insert("collector.listeners".into(), Source::Flag(flag));
    }
}

/// Ranges serde cannot know.
fn validate(c: &Config, sources: &BTreeMap<String, Source>) -> Result<(), ConfigError> {
    use std::time::Duration;
    let loaded = Loaded {
        config: Config::default(),
        sources: sources.clone(),
    };
    let mut errors = Vec::new();
    let mut check = |ok: bool, path: &str, value: String, allowed: &str| {
        if !ok {
            errors.push(format!(
                "bad value for {path} (from {}): {value} — allowed: {allowed}",
                loaded.source_of(path)
            ));
        }
    };
    // A whole number that must lie in lo..=hi.
    macro_rules! count {
        ($v:expr, $path:expr, $lo:expr, $hi:expr) => {
            check(
                ($lo..=$hi).contains(&$v),
                $path,
                $v.to_string(),
                &format!("{} to {}", $lo, $hi),
            )
        };
    }
    for (i, l) in c.collector.listeners.iter().enumerate() {
        let p = format!("collector.listeners[{i}]");
        check(
            l.port != 0,
            &format!("{p}.port"),
            "0".into(),
            "1 to 65535 (leave the listener out to disable it)",
        );
        count!(l.sockets, &format!("{p}.sockets"), 1, 64);
        check(
            l.receive_buffer.0 <= 1 << 30,
            &format!("{p}.receive_buffer"),
            l.receive_buffer.to_string(),
            "up to 1GiB",
        );
        if let Some(dev) = &l.interface {
            check(
                !dev.is_empty() && dev.len() < 16 && !dev.contains(['/', ' ', '\0']),
                &format!("{p}.interface"),
                format!("\"{dev}\""),
                "an interface name such as eth0 (under 16 characters)",
            );
        }
    }
    let p = &c.pipeline;
    count!(p.decode_workers, "pipeline.decode_workers", 1, 64);
    count!(p.decode_queue, "pipeline.decode_queue", 1, 65_536);
    count!(p.batch_flows, "pipeline.batch_flows", 1, 262_144);
    check(
        p.batch_delay.0 >= Duration::from_millis(1) && p.batch_delay.0 <= Duration::from_secs(5),
        "pipeline.batch_delay",
        p.batch_delay.to_string(),
        "1ms to 5s",
    );
    check(
        p.dedup.ttl.0 >= Duration::from_secs(1) && p.dedup.ttl.0 <= Duration::from_secs(3_600),
        "pipeline.dedup.ttl",
        p.dedup.ttl.to_string(),
        "1s to 1h",
    );
    count!(p.dedup.max_entries, "pipeline.dedup.max_entries", 1_000, 100_000_000);
    let e = &c.enrichment;
    count!(e.cache_size, "enrichment.cache_size", 0, 10_000_000);
    let mut seen = Vec::new();
    let unique = e.asn_sources.iter().all(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    check(
        !e.asn_sources.is_empty() && unique,
        "enrichment.asn_sources",
        format!("{:?}", e.asn_sources),
        "flow and/or geoip, each at most once, e.g. [flow, geoip]",
    );
    check(
        e.geoip.reload_check.0 >= Duration::from_secs(1) && e.geoip.reload_check.0 <= Duration::from_secs(86_400),
        "enrichment.geoip.reload_check",
        e.geoip.reload_check.to_string(),
        "1s to 1d",
    );
    let m = &c.metrics;
    count!(m.max_series, "metrics.max_series", 1, crate::metrics::MAX_SERIES_LIMIT);
    check(
        m.path.starts_with('/') && !m.path.starts_with("/api/") && m.path.len() > 1,
        "metrics.path",
        m.path.clone(),
        "a path such as /metrics (not under /api/)",
    );
    let metric_name = |s: &str| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    check(
        metric_name(&m.namespace),
        "metrics.namespace",
        m.namespace.clone(),
        "letters, digits and _",
    );
    if let Some(sub) = &m.subsystem {
        check(
            metric_name(sub),
            "metrics.subsystem",
            sub.clone(),
            "letters, digits and _",
        );
    }
    for k in m.labels.keys() {
        check(
            metric_name(k) && !k.starts_with("__"),
            "metrics.labels",
            k.clone(),
            "label names of letters, digits and _",
        );
    }
    for w in &m.windows {
        check(
            w.0.as_secs() % 60 == 0 && (60..=3_600).contains(&w.0.as_secs()),
            "metrics.windows",
            w.to_string(),
            "whole minutes from 1m to 1h",
        );
    }
    let mut addresses = Vec::new();
    for (i, e) in c.exporters.iter().enumerate() {
        let a = e.address.to_canonical();
        check(
            !addresses.contains(&a),
            &format!("exporters[{i}].address"),
            a.to_string(),
            "each exporter once",
        );
        addresses.push(a);
        for (what, v) in std::iter::once(("name", &e.name)).chain(e.interfaces.values().flat_map(|f| {
            [
                ("interfaces.*.name", &f.name),
                ("interfaces.*.description", &f.description),
            ]
        })) {
            if let Some(v) = v {
                check(
                    !v.is_empty() && v.chars().count() <= crate::enrich::limits::MAX_INTERFACE_TEXT,
                    &format!("exporters[{i}].{what}"),
                    format!("\"{}\"", v.chars().take(40).collect::<String>()),
                    "1 to 256 characters",
                );
            }
        }
    }
    for (i, r) in c.classification.rules.iter().enumerate() {
        if let Err(e) = crate::enrich::classify::check_rule(r) {
            check(false, &format!("classification.rules[{i}]"), r.cidr.to_string(), &e);
        }
    }
    let s = &c.storage;
    check(
        s.flush_interval.0 >= Duration::from_millis(100) && s.flush_interval.0 <= Duration::from_secs(5),
        "storage.flush_interval",
        s.flush_interval.to_string(),
        "100ms to 5s (a flow is queryable within one interval)",
    );
    check(
        s.memory_limit.0 >= 32 << 20,
        "storage.memory_limit",
        s.memory_limit.to_string(),
        "at least 32MiB",
    );
    check(
        s.retention_interval.0 >= Duration::from_secs(10) && s.retention_interval.0 <= Duration::from_secs(86_400),
        "storage.retention_interval",
        s.retention_interval.to_string(),
        "10s to 1d",
    );
    for (name, d) in [
        ("raw", s.retention.raw),
        ("rollup_1m", s.retention.rollup_1m),
        ("rollup_5m", s.retention.rollup_5m),
        ("rollup_1h", s.retention.rollup_1h),
    ] {
        check(
            d.0 >= Duration::from_secs(3_600),
            &format!("storage.retention.{name}"),
            d.to_string(),
            "at least 1h",
        );
    }
    if let Some(b) = s.max_disk_bytes {
        check(
            b.0 >= 100 << 20,
            "storage.max_disk_bytes",
            b.to_string(),
            "at least 100MiB, or leave it out",
        );
    }
    check(
        !s.data_dir.as_os_str().is_empty(),
        "storage.data_dir",
        "\"\"".into(),
        "a directory path",
    );
    let l = &c.limits;
    count!(l.max_exporters, "limits.max_exporters", 1, 1_000_000);
    count!(
        l.max_templates_per_exporter,
        "limits.max_templates_per_exporter",
        1,
        65_536
    );
    check(
        l.max_ingest_body.0 >= 1_024 && l.max_ingest_body.0 <= 1 << 30,
        "limits.max_ingest_body",
        l.max_ingest_body.to_string(),
        "1KiB to 1GiB",
    );
    count!(l.max_ingest_records, "limits.max_ingest_records", 1, 10_000_000);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(errors))
    }
}
