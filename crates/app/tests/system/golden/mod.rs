//! Peer goldens: what other collectors' own test suites expect from the same
//! captures, mapped onto our record fields. Each peer has its own naming and
//! conventions; each module says how it maps them and what it leaves out.

mod akvorado;
mod graylog;
mod logstash;
mod telegraf;
