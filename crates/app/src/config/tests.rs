use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let dir = std::env::temp_dir().join(format!("flowlens-config-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flowlens.yaml");
    std::fs::write(&path, text).unwrap();
    let r = load(Some(&path), &env(vars), &Overrides::default());
    let _ = std::fs::remove_dir_all(&dir);
    r
}

#[test]
fn the_template_is_the_defaults() {
    let l = load_text(TEMPLATE, &[]).unwrap();
    assert_eq!(l.config, Config::default());
    let none = load(None, &[], &Overrides::default()).unwrap();
    assert_eq!(none.config, Config::default());
    assert!(none.sources.is_empty());
}

#[test]
fn file_then_environment_then_flags() {
    let l = load_text(
        "storage:\n  data_dir: /srv/flows\n  flush_interval: 500ms\npipeline:\n  dedup:\n    ttl: 30s\n",
        &[
            ("FLOWLENS_STORAGE__FLUSH_INTERVAL", "2s"),
            ("FLOWLENS_LOGGING__FORMAT", "json"),
            ("FLOWLENS_SYSTEM_TESTS", "1"), // not config: no `__`
        ],
    )
    .unwrap();
    assert_eq!(l.config.storage.data_dir, Path::new("/srv/flows"));
    assert_eq!(
        l.config.storage.flush_interval,
        units::Dur(std::time::Duration::from_secs(2))
    );
    assert_eq!(l.config.pipeline.dedup.ttl, units::Dur::secs(30));
    assert!(
        l.config.pipeline.dedup.enabled,
        "untouched siblings keep their defaults"
    );
    assert_eq!(l.config.logging.format, LogFormat::Json);
    assert_eq!(
        l.source_of("storage.flush_interval"),
        Source::Env("FLOWLENS_STORAGE__FLUSH_INTERVAL".into())
    );
    assert!(matches!(l.source_of("storage.data_dir"), Source::File(_)));
    assert_eq!(l.source_of("storage.retention.raw"), Source::Default);
    let printed = l.print();
    assert!(printed.contains("storage.flush_interval = 2s"), "{printed}");
    assert!(printed.contains("# env FLOWLENS_STORAGE__FLUSH_INTERVAL"), "{printed}");
    assert!(
        printed.contains("collector.listeners[0] = {address: 0.0.0.0, port: 2055"),
        "{printed}"
    );

    let flags = Overrides {
        data_dir: Some("/tmp/x".into()),
        netflow: vec!["127.0.0.1:9995".parse().unwrap()],
        sflow: vec!["0.0.0.0:0".parse().unwrap()],
        http: vec!["127.0.0.1:0".parse().unwrap()],
        ..Overrides::default()
    };
    let l = load(None, &[], &flags).unwrap();
    let ports: Vec<(u16, ListenProtocol)> = l
        .config
        .collector
        .listeners
        .iter()
        .map(|l| (l.port, l.protocol))
        .collect();
    assert_eq!(
        ports,
        [
            (4739, ListenProtocol::Ipfix),
            (4739, ListenProtocol::Ipfix),
            (9995, ListenProtocol::Netflow)
        ],
        "netflow replaced, sflow off"
    );
    assert!(l.config.web.listen.is_empty(), "port 0 turns HTTP off");
    assert_eq!(l.source_of("collector.listeners[2]"), Source::Flag("sflow"));
}

#[test]
fn unknown_keys_name_the_nearest() {
    let e = load_text("storage:\n  data_dri: /x\n  retention:\n    rwa: 1d\nweeb: {}\n", &[]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("unknown key storage.data_dri — did you mean storage.data_dir?"),
        "{text}"
    );
    assert!(
        text.contains("unknown key storage.retention.rwa — did you mean storage.retention.raw?"),
        "{text}"
    );
    assert!(text.contains("unknown key weeb — did you mean web?"), "{text}");
    let e = load_text("collector:\n  listeners:\n    - { port: 2055, protocl: ipfix }\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("collector.listeners[0].protocl — did you mean collector.listeners[0].protocol?"),
        "{e}"
    );
    let e = load(
        None,
        &env(&[("FLOWLENS_STORAGE__DATADIR", "/x")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("environment FLOWLENS_STORAGE__DATADIR: unknown key storage.datadir"),
        "{e}"
    );
    let e = load_text("zzzzzz: 1\n", &[]).unwrap_err();
    assert!(e.to_string().contains("known here: collector, pipeline"), "{e}");
}

#[test]
fn bad_values_say_what_is_allowed() {
    let cases = [
        (
            "collector:\n  listeners:\n    - { port: 70000 }\n",
            "collector.listeners[0].port",
        ),
        ("pipeline:\n  decode_workers: 0\n", "allowed: 1 to 64"),
        ("storage:\n  flush_interval: 10s\n", "100ms to 5s"),
        ("storage:\n  flush_interval: soon\n", "not a duration"),
        ("storage:\n  max_disk_bytes: 12 parsecs\n", "unknown unit"),
        (
            "logging:\n  level: loud\n",
            "unknown variant `loud`, expected one of `debug`, `info`, `warn`, `error`",
        ),
        (
            "collector:\n  allow_exporters: [10.0.0.0/33]\n",
            "collector.allow_exporters[0]",
        ),
        ("collector: 5\n", "collector: expected a section, found a number"),
        ("- a\n- b\n", "expected sections"),
        ("storage: [\n", "not valid YAML"),
        (
            "collector:\n  listeners:\n    - { port: 2055, interface: \"eth0/../x\" }\n",
            "an interface name",
        ),
    ];
    for (text, want) in cases {
        let e = load_text(text, &[]).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
    let e = load(
        None,
        &env(&[("FLOWLENS_PIPELINE__BATCH_FLOWS", "lots")]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("from env FLOWLENS_PIPELINE__BATCH_FLOWS"), "{e}");
    let e = load(
        Some(Path::new("/nonexistent/flowlens.yaml")),
        &[],
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("flowlens config init"), "{e}");
}
