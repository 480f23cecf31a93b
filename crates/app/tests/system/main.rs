//! System tests of the application crate: real captures, real tools.

mod common;
mod encoders;
mod exporters;
mod golden;
mod interfaces;
mod tshark;
