//! The SQL of merging staged rows into a table that has rows, shared by the
//! engines: conflicts found with joins in the target's collation, losers
//! collected, deleted, the rest inserted.

use super::Dialect;
use crate::model::EngineKind;

/// SQL names for one merge.
pub struct Names<'a, T: Dialect + ?Sized> {
    pub target: &'a T,
    /// The target table, quoted.
    pub t: String,
    /// The staging table, quoted.
    pub s: String,
}

impl<'a, T: Dialect + ?Sized> Names<'a, T> {
    pub fn new(target: &'a T, table: &str, staging: &str) -> Self {
        Names {
            target,
            t: target.quote(table),
            s: target.quote(staging),
        }
    }

    /// `T.c1 = S.c1 AND ...`: the target's column on the left, so SQLite
    /// compares in its collation.
    fn on(&self, cols: &[String]) -> String {
        cols.iter()
            .map(|c| {
                let q = self.target.quote(c);
                format!("{}.{q} = {}.{q}", self.t, self.s)
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A condition on rows of `outer` (T or S) that some row of the other
    /// table matches on any key.
    pub fn matches(&self, keys: &[Vec<String>], outer_is_target: bool) -> String {
        let inner = if outer_is_target { &self.s } else { &self.t };
        keys.iter()
            .map(|k| format!("EXISTS (SELECT 1 FROM {inner} WHERE {})", self.on(k)))
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// A condition on staging rows that a target row holds exactly the same
    /// values in every one of `columns` (NULL matching NULL), found through
    /// `key`'s columns when there is one.
    fn same(&self, columns: &[String], key: &[String]) -> String {
        let mut on: Vec<String> = key
            .iter()
            .map(|c| {
                let q = self.target.quote(c);
                format!("{}.{q} = {}.{q}", self.t, self.s)
            })
            .collect();
        on.extend(columns.iter().map(|c| {
            let q = self.target.quote(c);
            self.target
                .same_value_sql(&format!("{}.{q}", self.t), &format!("{}.{q}", self.s))
        }));
        format!(
            "EXISTS (SELECT 1 FROM {} WHERE {})",
            self.t,
            on.join(" AND ")
        )
    }

    /// How many staging rows the target already holds, value for value.
    pub fn same_count_sql(&self, columns: &[String], key: &[String]) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE {}",
            self.s,
            self.same(columns, key)
        )
    }

    /// Delete the staging rows the target already holds, value for value.
    pub fn same_delete_sql(&self, columns: &[String], key: &[String]) -> String {
        format!("DELETE FROM {} WHERE {}", self.s, self.same(columns, key))
    }

    /// Groups of a key's values held by a target row and archive rows.
    pub fn conflicts_sql(&self, key: &[String], limit: usize) -> String {
        let cols: Vec<String> = key
            .iter()
            .map(|c| format!("{}.{}", self.t, self.target.quote(c)))
            .collect();
        let shown: Vec<String> = cols.iter().map(|c| self.target.text_sql(c)).collect();
        format!(
            "SELECT {}, COUNT(*) FROM {} JOIN {} ON {} GROUP BY {} ORDER BY COUNT(*) DESC, {} LIMIT {limit}",
            shown.join(", "),
            self.t,
            self.s,
            self.on(key),
            cols.join(", "),
            cols.join(", ")
        )
    }

    /// How many target rows a key's archive rows collide with.
    pub fn conflict_count_sql(&self, key: &[String]) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE EXISTS (SELECT 1 FROM {} WHERE {})",
            self.t,
            self.s,
            self.on(key)
        )
    }

    /// Insert the staging table's rows into the target.
    pub fn insert_sql(&self, columns: &[String]) -> String {
        let cols = columns
            .iter()
            .map(|c| self.target.quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        // Identity columns GENERATED ALWAYS take the archive's values too.
        let overriding = if self.target.kind() == EngineKind::Postgres {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        format!(
            "INSERT INTO {} ({cols}){overriding} SELECT {cols} FROM {}",
            self.t, self.s
        )
    }

    /// `CREATE TABLE rejects AS` the rows of the target (`in_target`) or of
    /// staging that collide with the other on any key.
    pub fn collect_sql(&self, rejects: &str, keys: &[Vec<String>], in_target: bool) -> String {
        format!(
            "CREATE TABLE {rejects} AS SELECT * FROM {} WHERE {}",
            if in_target { &self.t } else { &self.s },
            self.matches(keys, in_target)
        )
    }

    /// Delete the rows of the target (`in_target`) or of staging that
    /// collide with the other on any key.
    pub fn delete_sql(&self, keys: &[Vec<String>], in_target: bool) -> String {
        format!(
            "DELETE FROM {} WHERE {}",
            if in_target { &self.t } else { &self.s },
            self.matches(keys, in_target)
        )
    }
}
