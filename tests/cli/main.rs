//! The integration tests: the real `haul` binary against real servers
//! (PostgreSQL and MariaDB on 127.0.0.1, SQLite files).

mod common;

mod archive;
mod mysql;
mod postgres;
mod sqlite;
