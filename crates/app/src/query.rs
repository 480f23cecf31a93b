//! `flowlens query`: nfdump-style questions to a data directory from the
//! terminal — a flow listing, or top-N by one or more dimensions.

use std::io::Write;
use std::path::PathBuf;

use flowlens_store::query::{Dim, FlowQuery, Metric, Order, TimeRange, TopAnswer, TopQuery};
use flowlens_store::{Filter, Store, StoreConfig};
use flowlens_wire::{Batch, Timestamp};

use crate::flowjson::FlowJson;
use crate::timespec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone)]
pub struct QueryOptions {
    pub data_dir: PathBuf,
    pub filter: String,
    pub since: String,
    pub until: String,
    /// Group by these (comma-separated names); empty: list flows.
    pub by: Vec<String>,
    pub top: usize,
    pub order: String,
    pub limit: usize,
    pub format: Format,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryCmdError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] flowlens_store::StoreError),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

pub fn run(o: &QueryOptions, now: Timestamp, out: &mut dyn Write) -> Result<(), QueryCmdError> {
    if !o.data_dir.join(flowlens_store::store::FLOWS_FILE).exists() {
        return Err(QueryCmdError::Usage(format!(
            "no flow database in {} (run flowlens serve there first, or pass --data-dir)",
            o.data_dir.display()
        )));
    }
    let filter = Filter::parse(&o.filter).map_err(|e| QueryCmdError::Usage(format!("filter: {e}")))?;
    let range = TimeRange {
        since: timespec::time(&o.since, now).map_err(QueryCmdError::Usage)?,
        until: timespec::time(&o.until, now).map_err(QueryCmdError::Usage)?,
    };
    let store = Store::open(StoreConfig {
        data_dir: o.data_dir.clone(),
        ..StoreConfig::default()
    })?;
    if o.by.is_empty() {
        let page = store.flows(&FlowQuery {
            range,
            filter,
            order: Order::parse(&o.order)?,
            limit: o.limit,
            cursor: None,
        })?;
        let empty = Batch::new();
        match o.format {
            Format::Json => {
                for f in &page.flows {
                    serde_json::to_writer(&mut *out, &FlowJson::new(&f.record, &empty))
                        .map_err(std::io::Error::from)?;
                    out.write_all(b"\n")?;
                }
            }
            Format::Csv => {
                writeln!(out, "time_start,protocol,proto,src_addr,src_port,dst_addr,dst_port,bytes,packets,in_if,out_if,sampling_rate,exporter")?;
                for f in &page.flows {
                    let r = &f.record;
                    let o = |v: Option<String>| v.unwrap_or_default();
                    writeln!(
                        out,
                        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        o(r.time_start.map(crate::flowjson::rfc3339)),
                        r.protocol.name(),
                        o(r.proto.map(|v| v.to_string())),
                        o(r.src_addr.map(|v| v.to_string())),
                        o(r.src_port.map(|v| v.to_string())),
                        o(r.dst_addr.map(|v| v.to_string())),
                        o(r.dst_port.map(|v| v.to_string())),
                        o(r.bytes.map(|v| v.to_string())),
                        o(r.packets.map(|v| v.to_string())),
                        o(r.in_if.map(|v| v.to_string())),
                        o(r.out_if.map(|v| v.to_string())),
                        o(r.sampling_rate.map(|v| v.to_string())),
                        r.exporter.ip()
                    )?;
                }
            }
            Format::Table => {
                crate::decode::table_header(out)?;
                for f in &page.flows {
                    crate::decode::table_row(out, &f.record)?;
                }
            }
        }
        return Ok(());
    }
    let by =
        o.by.iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .map(Dim::parse)
            .collect::<Result<Vec<_>, _>>()?;
    let metric = match o.order.as_str() {
        "time" => Metric::Bytes,
        m => Metric::parse(m)?,
    };
    let a = store.top(&TopQuery {
        range,
        filter,
        by,
        metric,
        limit: o.top,
    })?;
    write_top(out, &a, o.format)?;
    Ok(())
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

fn write_top(out: &mut dyn Write, a: &TopAnswer, format: Format) -> std::io::Result<()> {
    let names: Vec<&str> = a.by.iter().map(|d| d.name()).collect();
    let total = a.total.get(a.metric);
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = a
                .rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    for (n, k) in names.iter().zip(&r.keys) {
                        m.insert((*n).into(), serde_json::Value::String(k.to_string()));
                    }
                    m.insert("bytes".into(), r.totals.bytes.into());
                    m.insert("packets".into(), r.totals.packets.into());
                    m.insert("flows".into(), r.totals.flows.into());
                    serde_json::Value::Object(m)
                })
                .collect();
            let v = serde_json::json!({
                "by": names, "rows": rows, "table": a.table,
                "other": {"bytes": a.other.bytes, "packets": a.other.packets, "flows": a.other.flows},
                "total": {"bytes": a.total.bytes, "packets": a.total.packets, "flows": a.total.flows},
            });
            serde_json::to_writer(&mut *out, &v)?;
            writeln!(out)
        }
        Format::Csv => {
            writeln!(out, "{},bytes,packets,flows", names.join(","))?;
            for r in &a.rows {
                let keys: Vec<String> = r.keys.iter().map(|k| k.to_string()).collect();
                writeln!(
                    out,
                    "{},{},{},{}",
                    keys.join(","),
                    r.totals.bytes,
                    r.totals.packets,
                    r.totals.flows
                )?;
            }
            Ok(())
        }
        Format::Table => {
            let mut rows: Vec<Vec<String>> = a
                .rows
                .iter()
                .map(|r| {
                    let mut v: Vec<String> = r.keys.iter().map(|k| k.to_string()).collect();
                    v.extend([
                        r.totals.bytes.to_string(),
                        r.totals.packets.to_string(),
                        r.totals.flows.to_string(),
                        format!("{:.1}%", pct(r.totals.get(a.metric), total)),
                    ]);
                    v
                })
                .collect();
            let mut tail = |label: &str, t: &flowlens_store::query::Totals| {
                let mut v = vec![label.to_string()];
                v.extend((1..names.len()).map(|_| String::new()));
                v.extend([
                    t.bytes.to_string(),
                    t.packets.to_string(),
                    t.flows.to_string(),
                    format!("{:.1}%", pct(t.get(a.metric), total)),
                ]);
                rows.push(v);
            };
            tail("(other)", &a.other);
            tail("(total)", &a.total);
            let mut header: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            header.extend(["bytes", "packets", "flows", "share"].map(String::from));
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].len())
                        .chain([header[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: &[String]| -> String {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i < names.len() {
                            format!("{c:<w$}", w = widths[i])
                        } else {
                            format!("{c:>w$}", w = widths[i])
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            writeln!(out, "{}", line(&header))?;
            for r in &rows {
                writeln!(out, "{}", line(r))?;
            }
            Ok(())
        }
    }
}
