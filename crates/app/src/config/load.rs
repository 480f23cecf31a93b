//! Layering defaults, file, environment and flags into one [`Config`], with
//! the source of every value and errors that say what to change.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::validate::validate;
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
        "notifications.webhooks" => serde_yaml_ng::to_value(super::Webhook::default()).ok(),
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
