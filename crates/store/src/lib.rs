//! Flow store.
