//! The integration tests: the real `haul` binary against real servers
//! (PostgreSQL and MariaDB on 127.0.0.1, SQLite files).

mod common;
mod moto;
mod oracle;

mod archive;
mod backups;
mod crossengine;
mod django;
mod encryption;
mod errors;
mod fidelity;
mod gogs;
mod hostile;
mod lock;
mod memory;
mod merge;
mod myobjects;
mod mysql;
mod pgobjects;
mod pgschemas;
mod postgres;
mod resume;
mod secrets;
mod sqlite;
mod storage;
mod tls;
mod watch;
