//! Roles, scopes and the access rules, without a server (the route table
//! and the scope of every route are tested through the router in
//! `crate::api::tests::access`).

use super::*;

#[test]
fn scope_filters_select_exporters_and_networks() {
    let s = Scope {
        exporters: vec!["192.0.2.1".parse().unwrap()],
        networks: vec!["10.1.0.0/16".parse().unwrap(), "2001:db8::/48".parse().unwrap()],
    };
    assert_eq!(
        s.filter().text,
        "(exporter 192.0.2.1) and (net 10.1.0.0/16 or net 2001:db8::/48)"
    );
    assert!(s.has_exporter("192.0.2.1".parse().unwrap()));
    assert!(!s.has_exporter("192.0.2.2".parse().unwrap()));
    assert!(s.has_address("10.1.2.3".parse().unwrap()));
    assert!(!s.has_address("10.2.0.1".parse().unwrap()));
    // Stored and read back; an unreadable stored scope grants nothing.
    assert_eq!(Scope::load(&Scope::store(Some(&s))), Some(s));
    assert_eq!(Scope::load(""), None);
    let broken = Scope::load("{not json").unwrap();
    assert_eq!(broken.filter().text, "(exporter 0.0.0.0)");
    assert_eq!(Scope::default().checked(), Ok(None));
}

#[test]
fn advisories_are_seen_only_when_their_subject_is_inside() {
    let nets = Scope {
        exporters: vec![],
        networks: vec!["10.1.0.0/16".parse().unwrap()],
    };
    assert!(nets.sees_subject("host", "10.1.2.3"));
    assert!(!nets.sees_subject("host", "10.2.0.1"));
    assert!(nets.sees_subject("subnet", "10.1.2.0/24"));
    assert!(!nets.sees_subject("subnet", "10.0.0.0/8"), "wider than the scope");
    assert!(!nets.sees_subject("exporter", "192.0.2.1"));
    assert!(!nets.sees_subject("protocol", "telnet"));
    assert!(!nets.sees_subject("host", "not an address"));
    let routers = Scope {
        exporters: vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        networks: vec![],
    };
    assert!(routers.sees_subject("exporter", "192.0.2.1"));
    assert!(routers.sees_subject("interface", "192.0.2.1:7:in"));
    assert!(routers.sees_subject("interface", "2001:db8::1:7:out"));
    assert!(!routers.sees_subject("interface", "2001:db8::2:7:out"));
    assert!(!routers.sees_subject("network", "top-talker"));
    assert!(
        !routers.sees_subject("host", "10.1.2.3"),
        "a host's traffic crosses other exporters too"
    );
    let both = Scope {
        exporters: vec!["192.0.2.1".parse().unwrap()],
        networks: vec!["10.1.0.0/16".parse().unwrap()],
    };
    assert!(!both.sees_subject("host", "10.1.2.3") && !both.sees_subject("exporter", "192.0.2.1"));
}

fn who(role: Role, scope: Option<Scope>, via: Via) -> Principal {
    Principal {
        name: "x".into(),
        user_id: Some(1),
        role,
        scope,
        via,
        source: "127.0.0.1".parse().unwrap(),
    }
}

#[test]
fn access_follows_role_scope_and_permissions() {
    let session = || Via::Session {
        digest: String::new(),
        csrf: String::new(),
    };
    let scoped = Some(Scope {
        exporters: vec![],
        networks: vec!["10.0.0.0/8".parse().unwrap()],
    });
    let viewer = who(Role::Viewer, None, session());
    let analyst = who(Role::Analyst, None, session());
    let admin = who(Role::Admin, None, session());
    let scoped_analyst = who(Role::Analyst, scoped, session());
    assert!(Access::Read.allows(&viewer) && Access::ReadAll.allows(&viewer));
    assert!(!Access::Write.allows(&viewer) && Access::Write.allows(&analyst));
    assert!(!Access::Admin.allows(&analyst) && Access::Admin.allows(&admin));
    assert!(Access::Read.allows(&scoped_analyst));
    assert!(!Access::ReadAll.allows(&scoped_analyst) && !Access::Write.allows(&scoped_analyst));
    // Ingest and metrics need the token permission, whatever the role.
    assert!(!Access::Ingest.allows(&admin) && !Access::Metrics.allows(&admin));
    let token = who(
        Role::Viewer,
        None,
        Via::Token {
            id: 1,
            permissions: vec![Permission::Metrics],
        },
    );
    assert!(Access::Metrics.allows(&token) && !Access::Ingest.allows(&token));
    let scraper = who(Role::Viewer, None, Via::Allowed);
    assert!(Access::Metrics.allows(&scraper) && !Access::Read.allows(&scraper));
    let open = who(Role::Admin, None, Via::Open);
    assert!([Access::Admin, Access::Ingest, Access::Metrics]
        .iter()
        .all(|a| a.allows(&open)));
}
