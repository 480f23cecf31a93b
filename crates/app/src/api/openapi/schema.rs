//! JSON Schemas of the answers.

use serde_json::{json, Value};

fn obj(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required })
}

fn totals() -> Value {
    obj(
        json!({ "bytes": int(), "packets": int(), "flows": int() }),
        &["bytes", "packets", "flows"],
    )
}

fn int() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn text() -> Value {
    json!({ "type": "string" })
}

fn range() -> Value {
    obj(json!({ "since": text(), "until": text() }), &["since", "until"])
}

/// A dimension's value: a number, an address or code, or null when the
/// flows do not carry it.
fn key() -> Value {
    json!({ "type": ["integer", "string", "null"] })
}

pub fn error() -> Value {
    obj(
        json!({ "error": obj(json!({ "code": text(), "message": text() }), &["code", "message"]) }),
        &["error"],
    )
}

pub fn flow() -> Value {
    json!({
        "type": "object",
        "description": "One flow; fields the exporter did not send are absent. bytes and packets are sampling-corrected.",
        "properties": {
            "exporter": text(), "protocol": text(), "time_received": text(),
            "src_addr": text(), "dst_addr": text(), "src_port": int(), "dst_port": int(),
            "proto": int(), "bytes": int(), "packets": int(), "sampling_rate": int(),
            "src_country": text(), "dst_country": text(), "src_as": int(), "dst_as": int(),
            "src_as_name": text(), "dst_as_name": text(),
            "src_net": text(), "dst_net": text(), "src_env": text(), "dst_env": text(),
            "src_dc": text(), "dst_dc": text(), "src_location": text(), "dst_location": text(),
            "src_internal": { "type": "boolean" }, "dst_internal": { "type": "boolean" },
            "in_if_name": text(), "out_if_name": text(), "src_city": text(), "dst_city": text(),
        },
        "required": ["exporter", "protocol", "time_received"],
    })
}

pub fn flow_page() -> Value {
    obj(
        json!({
            "range": range(),
            "flows": { "type": "array", "items": flow() },
            "next": { "type": ["string", "null"] },
            "table": text(),
        }),
        &["range", "flows", "next", "table"],
    )
}

pub fn series() -> Value {
    obj(
        json!({
            "range": range(),
            "metric": text(),
            "rate": { "type": "boolean" },
            "step": int(),
            "by": { "type": ["string", "null"] },
            "times": { "type": "array", "items": text() },
            "series": { "type": "array", "items": obj(json!({
                "key": key(), "label": text(),
                "values": { "type": "array", "items": { "type": "number", "minimum": 0 } },
            }), &["key", "label", "values"]) },
            "table": text(),
        }),
        &["range", "metric", "rate", "step", "times", "series", "table"],
    )
}

pub fn top() -> Value {
    obj(
        json!({
            "range": range(),
            "by": { "type": "array", "items": text() },
            "metric": text(),
            "rows": { "type": "array", "items": obj(json!({
                "key": { "type": "object", "additionalProperties": key() },
                "names": { "type": "object", "additionalProperties": text(),
                           "description": "Organisation of each AS number in the key, when the ASN database knows it." },
                "bytes": int(), "packets": int(), "flows": int(),
            }), &["key", "bytes", "packets", "flows"]) },
            "other": totals(),
            "total": totals(),
            "table": text(),
        }),
        &["range", "by", "metric", "rows", "other", "total", "table"],
    )
}

pub fn sankey() -> Value {
    obj(
        json!({
            "range": range(),
            "by": { "type": "array", "items": text() },
            "metric": text(),
            "nodes": { "type": "array", "items": obj(json!({
                "id": int(), "dimension": text(), "value": text(),
            }), &["id", "dimension", "value"]) },
            "links": { "type": "array", "items": obj(json!({
                "source": int(), "target": int(), "value": int(),
            }), &["source", "target", "value"]) },
            "other": int(),
            "total": int(),
            "table": text(),
        }),
        &["range", "by", "metric", "nodes", "links", "other", "total", "table"],
    )
}

pub fn ips() -> Value {
    obj(
        json!({
            "range": range(),
            "ips": { "type": "array", "items": obj(json!({
                "ip": text(), "bytes_in": int(), "bytes_out": int(), "packets_in": int(),
                "packets_out": int(), "flows_in": int(), "flows_out": int(), "peers": int(),
                "first_seen": text(), "last_seen": text(),
            }), &["ip", "bytes_in", "bytes_out", "packets_in", "packets_out", "flows_in",
                  "flows_out", "peers", "first_seen", "last_seen"]) },
            "total": int(),
            "table": text(),
        }),
        &["range", "ips", "total", "table"],
    )
}

fn rule_props() -> Value {
    let opt_text = || json!({ "type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$" });
    json!({
        "cidr": { "type": "string", "description": "A network, e.g. 10.20.0.0/16 or 2001:db8::/32." },
        "name": opt_text(),
        "environment": { "type": ["string", "null"], "enum": ["prod", "uat", "qa", "test", "dev", null] },
        "datacenter": opt_text(),
        "location": opt_text(),
        "internal": { "type": ["boolean", "null"] },
        "priority": { "type": "integer", "minimum": 0, "maximum": 1_000_000 },
    })
}

pub fn rule() -> Value {
    let mut p = rule_props();
    p["id"] = text();
    p["origin"] = json!({ "type": "string", "enum": ["config", "api"] });
    obj(p, &["id", "origin", "cidr", "priority"])
}

pub fn rules() -> Value {
    obj(json!({ "rules": { "type": "array", "items": rule() } }), &["rules"])
}

pub fn rule_body() -> Value {
    json!({ "type": "object", "properties": rule_props(), "required": ["cidr"], "additionalProperties": false })
}

pub fn rule_patch() -> Value {
    json!({ "type": "object", "properties": rule_props(), "additionalProperties": false })
}

pub fn deleted() -> Value {
    obj(json!({ "deleted": text() }), &["deleted"])
}

pub fn classified() -> Value {
    obj(
        json!({ "ip": text(), "class": { "type": ["object", "null"] }, "rule": { "type": ["object", "null"] } }),
        &["ip", "class", "rule"],
    )
}

fn peer_list() -> Value {
    json!({ "type": "array", "items": obj(json!({
        "ip": text(), "bytes": int(), "packets": int(), "flows": int(),
    }), &["ip", "bytes", "packets", "flows"]) })
}

pub fn peers() -> Value {
    obj(
        json!({ "ip": text(), "range": range(), "peers": peer_list() }),
        &["ip", "range", "peers"],
    )
}

pub fn ip_summary() -> Value {
    let s = || {
        obj(
            json!({ "step": int(), "times": { "type": "array", "items": text() },
                    "bytes": { "type": "array", "items": int() }, "table": text() }),
            &["step", "times", "bytes", "table"],
        )
    };
    obj(
        json!({
            "ip": text(), "range": range(), "bytes_out": int(), "bytes_in": int(), "totals": totals(),
            "series_out": s(), "series_in": s(), "peers": peer_list(),
            "protocols": top(), "ports": top(), "peer_countries": top(),
            "location": { "type": "object", "description": "What the GeoIP databases say of the address (all null without them).",
                          "properties": {
                              "country": { "type": ["string", "null"] }, "city": { "type": ["string", "null"] },
                              "latitude": { "type": ["number", "null"] }, "longitude": { "type": ["number", "null"] },
                              "asn": { "type": ["integer", "null"] }, "as_name": { "type": ["string", "null"] } } },
        }),
        &[
            "ip",
            "range",
            "bytes_out",
            "bytes_in",
            "series_out",
            "series_in",
            "peers",
            "protocols",
            "ports",
        ],
    )
}

pub fn bad_ips() -> Value {
    obj(
        json!({
            "range": range(),
            "sources": { "type": "array", "items": obj(json!({
                "ip": text(), "attempts": int(), "targets": int(), "ports": int(),
                "first_seen": text(), "last_seen": text(),
            }), &["ip", "attempts", "targets", "ports", "first_seen", "last_seen"]) },
        }),
        &["range", "sources"],
    )
}

fn exporter_props() -> Value {
    json!({
        "address": text(), "name": { "type": ["string", "null"] },
        "ports": { "type": "array", "items": int() },
        "protocols": { "type": "array", "items": text() },
        "datagrams": int(), "flows_received": int(), "sequence_lost": int(), "templates": int(),
        "sampling_rate": { "type": ["integer", "null"], "minimum": 1 },
        "errors": { "type": "object", "additionalProperties": int() },
        "last_seen": { "type": ["string", "null"] },
        "domains": { "type": "object" },
        "traffic": totals(), "bits_per_second": { "type": "number" }, "flows_per_second": { "type": "number" },
    })
}

pub fn exporters() -> Value {
    obj(
        json!({
            "range": range(),
            "exporters": { "type": "array", "items": obj(exporter_props(), &["address", "traffic"]) },
        }),
        &["range", "exporters"],
    )
}

pub fn exporter() -> Value {
    let mut props = exporter_props();
    props["range"] = range();
    props["interfaces"] = json!({ "type": "array", "items": obj(json!({
        "index": key(), "in": totals(), "out": totals(),
    }), &["index", "in", "out"]) });
    obj(props, &["address", "traffic", "interfaces", "range"])
}

pub fn status() -> Value {
    json!({ "type": "object", "description": "Listeners, pipeline, store and accounting counters." })
}

pub fn ingest() -> Value {
    obj(
        json!({ "accepted": int(), "duplicates": int(), "rejected": { "type": "array" } }),
        &["accepted", "duplicates", "rejected"],
    )
}

pub fn text_ok() -> Value {
    json!({ "type": "string" })
}

pub fn live() -> Value {
    json!({ "type": "string", "description": "WebSocket upgrade; see the description." })
}

fn num() -> Value {
    json!({ "type": "number" })
}

pub fn advisory() -> Value {
    obj(
        json!({
            "id": int(), "analyzer": text(),
            "severity": { "type": "string", "enum": ["info", "warning", "critical"] },
            "subject": obj(json!({ "kind": text(), "id": text() }), &["kind", "id"]),
            "title": text(), "description": text(), "action": text(), "evidence": text(),
            "numbers": { "type": "object", "additionalProperties": num() },
            "first_seen": { "type": "integer" }, "last_seen": { "type": "integer" },
            "resolved": { "type": ["integer", "null"] }, "seen": int(),
        }),
        &[
            "id",
            "analyzer",
            "severity",
            "subject",
            "title",
            "description",
            "action",
            "evidence",
            "first_seen",
            "last_seen",
        ],
    )
}

pub fn advisories() -> Value {
    obj(
        json!({
            "advisories": { "type": "array", "items": advisory() },
            "counts": obj(json!({ "critical": int(), "warning": int(), "info": int() }), &["critical", "warning", "info"]),
        }),
        &["advisories", "counts"],
    )
}

fn alert_rule_props() -> Value {
    json!({
        "name": { "type": "string", "minLength": 1, "maxLength": 100 },
        "filter": { "type": "string", "maxLength": 2000 },
        "metric": { "type": "string", "enum": ["bytes_per_second", "bits_per_second", "packets_per_second",
                                              "flows_per_second", "unique_peers", "unique_ports"] },
        "by": { "type": "string", "enum": ["none", "src_addr", "dst_addr", "exporter"] },
        "op": { "type": "string", "enum": [">", ">=", "<", "<="] },
        "threshold": { "type": "number", "minimum": 0 },
        "window": { "type": "string", "description": "10s to 60m in steps of 10s, e.g. 1m" },
        "for": { "type": "string", "description": "how long the condition must hold, e.g. 2m" },
        "severity": { "type": "string", "enum": ["info", "warning", "critical"] },
        "cooldown": { "type": "string", "description": "no new notification this long after a resolution" },
        "webhooks": { "type": "array", "items": text() },
        "enabled": { "type": "boolean" },
    })
}

pub fn alert_rule() -> Value {
    let mut p = alert_rule_props();
    p["id"] = int();
    obj(p, &["id", "name", "metric", "op", "threshold", "severity"])
}

pub fn alert_rules() -> Value {
    obj(
        json!({ "rules": { "type": "array", "items": alert_rule() }, "webhooks": { "type": "array", "items": text() } }),
        &["rules", "webhooks"],
    )
}

pub fn alert_rule_body() -> Value {
    json!({ "type": "object", "properties": alert_rule_props(),
            "required": ["name", "metric", "op", "threshold", "severity"], "additionalProperties": false })
}

pub fn alert_rule_patch() -> Value {
    json!({ "type": "object", "properties": alert_rule_props(), "additionalProperties": false })
}

pub fn alerts() -> Value {
    let alert = obj(
        json!({
            "id": int(), "rule_id": { "type": "integer" }, "rule": text(),
            "severity": { "type": "string", "enum": ["info", "warning", "critical"] },
            "subject": text(), "description": text(), "started": { "type": "integer" },
            "resolved": { "type": ["integer", "null"] }, "peak": num(), "notified": { "type": "boolean" },
        }),
        &[
            "id",
            "rule_id",
            "rule",
            "severity",
            "subject",
            "description",
            "started",
            "peak",
        ],
    );
    obj(json!({ "alerts": { "type": "array", "items": alert } }), &["alerts"])
}

pub fn behaviour() -> Value {
    obj(
        json!({
            "ip": text(),
            "role": { "type": "string", "enum": ["server", "workstation", "database", "load_balancer", "router", "unknown"] },
            "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
            "reasons": { "type": "array", "items": text() },
            "flows": int(), "fan_in": int(), "fan_out": int(),
            "serves": { "type": "array", "items": { "type": "array", "items": int() } },
            "range": { "type": "object" },
        }),
        &[
            "ip",
            "role",
            "confidence",
            "reasons",
            "flows",
            "fan_in",
            "fan_out",
            "serves",
        ],
    )
}

fn scope() -> Value {
    json!({ "type": ["object", "null"], "properties": {
        "exporters": { "type": "array", "items": text() },
        "networks": { "type": "array", "items": text() },
    }})
}

fn role() -> Value {
    json!({ "type": "string", "enum": ["viewer", "analyst", "admin"] })
}

pub fn me() -> Value {
    obj(
        json!({ "name": text(), "role": role(), "scope": scope(),
                "via": { "type": "string", "enum": ["session", "token", "proxy", "open", "address"] },
                "auth_enabled": { "type": "boolean" } }),
        &["name", "role", "scope", "via", "auth_enabled"],
    )
}

pub fn password_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["current", "new"],
            "properties": { "current": text(), "new": { "type": "string", "minLength": 10 } } })
}

fn token() -> Value {
    obj(
        json!({ "id": int(), "user": text(), "name": text(), "prefix": text(),
                "permissions": { "type": "array", "items": { "type": "string", "enum": ["ingest", "metrics"] } },
                "created": int(), "last_used": { "type": ["integer", "null"] } }),
        &["id", "user", "name", "prefix", "permissions", "created", "last_used"],
    )
}

pub fn tokens() -> Value {
    obj(json!({ "tokens": { "type": "array", "items": token() } }), &["tokens"])
}

pub fn token_created() -> Value {
    let mut t = token();
    t["properties"]["token"] = json!({ "type": "string", "description": "The secret: shown this once." });
    t["required"].as_array_mut().expect("array").push(json!("token"));
    t
}

pub fn token_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["name"],
            "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 64 },
                            "permissions": { "type": "array", "items": { "type": "string", "enum": ["ingest", "metrics"] } } } })
}

pub fn user() -> Value {
    obj(
        json!({ "id": int(), "name": text(), "role": role(), "scope": scope(), "created": int(),
                "updated": int(), "sessions": int(), "tokens": int() }),
        &[
            "id", "name", "role", "scope", "created", "updated", "sessions", "tokens",
        ],
    )
}

pub fn users() -> Value {
    obj(json!({ "users": { "type": "array", "items": user() } }), &["users"])
}

pub fn user_created() -> Value {
    let mut u = user();
    u["properties"]["password"] =
        json!({ "type": ["string", "null"], "description": "The generated password, shown this once." });
    u
}

fn scope_body() -> Value {
    json!({ "type": ["object", "null"], "additionalProperties": false, "properties": {
        "exporters": { "type": "array", "items": { "type": "string", "format": "ip" } },
        "networks": { "type": "array", "items": { "type": "string" } } } })
}

pub fn user_body() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["name", "role"],
            "properties": { "name": { "type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$" }, "role": role(),
                            "password": { "type": "string", "minLength": 10 }, "scope": scope_body() } })
}

pub fn user_patch() -> Value {
    json!({ "type": "object", "additionalProperties": false,
            "properties": { "role": role(), "password": { "type": "string", "minLength": 10 }, "scope": scope_body() } })
}

pub fn audit() -> Value {
    let entry = obj(
        json!({ "id": int(), "at": int(), "actor": text(), "source": text(), "action": text(),
                "target": text(), "outcome": { "type": "string", "enum": ["ok", "denied", "failed"] }, "detail": text() }),
        &["id", "at", "actor", "source", "action", "target", "outcome", "detail"],
    );
    obj(
        json!({ "entries": { "type": "array", "items": entry }, "next": { "type": ["integer", "null"] } }),
        &["entries", "next"],
    )
}
