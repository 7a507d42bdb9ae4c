//! The integration tests: the real `haul` binary against real servers
//! (PostgreSQL and MariaDB on 127.0.0.1, SQLite files).

mod common;
mod oracle;

mod archive;
mod backups;
mod crossengine;
mod errors;
mod fidelity;
mod gogs;
mod hostile;
mod lock;
mod merge;
mod mysql;
mod pgobjects;
mod postgres;
mod resume;
mod secrets;
mod sqlite;
mod tls;
