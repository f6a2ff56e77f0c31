//! The SQL text of every statement, built once per store from a validated, quoted table name.
//! Values are always bound parameters (`?`); only the table name is part of the text.

use token_store_core::lookup::LookupKey;

use crate::schema::{self, COLUMNS, KEY_COLUMNS};

/// What differs between the SQL dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: `"quoted"` names; `=` on text compares bytes.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
    /// MySQL / MariaDB: `` `quoted` `` names; `=` follows the column collation, which is
    /// usually case- and trailing-space-insensitive, so key comparisons use `BINARY`; locking
    /// reads (`FOR UPDATE`) inside the save transaction.
    MySql,
}

/// The statements of one store.
#[derive(Clone, Debug)]
pub(crate) struct Statements {
    dialect: Dialect,
    quoted: String,
    columns: String,
    /// `CREATE TABLE IF NOT EXISTS` with the Zoho layout.
    pub create_table: String,
    /// Indexes on the lookup columns, for a table this store has just created (SQLite; on
    /// MySQL they are part of `create_table`).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub create_indexes: Vec<String>,
    /// One row by id.
    pub select_by_id: String,
    /// Every row.
    pub select_all: String,
    /// The largest canonical numeric id (1 to 10 digits, no leading zero), numerically.
    pub max_id: String,
    /// Replace every non-id column of the row with this id.
    pub update_by_id: String,
    /// Insert a row with all ten columns.
    pub insert: String,
    /// Delete one row by id.
    pub delete_by_id: String,
    /// Delete every row.
    pub delete_all: String,
    /// `CREATE TABLE IF NOT EXISTS` of the id high-water table ([`ID_TABLE`]).
    pub ids_create: String,
    /// Add this table's high-water row if it is missing (binds: table name).
    pub ids_ensure: String,
    /// This table's highest id ever assigned; a locking read on MySQL, which serialises the
    /// save transactions of one table (binds: table name).
    pub ids_select: String,
    /// Raise this table's high-water mark (binds: table name, id).
    pub ids_raise: String,
}

/// The table that keeps, per token table, the highest id ever assigned, so an id is never
/// handed out twice even after the row holding the largest one was deleted. It sits beside
/// the Zoho table and leaves that table's layout untouched; a Zoho SDK writing the token
/// table directly does not update it, which is safe because new ids are one more than the
/// larger of the high-water mark and the largest numeric id in the token table.
pub const ID_TABLE: &str = "token_store_ids";

impl Statements {
    /// Statements for `table`, which must have passed [`schema::validate_table_name`].
    pub fn new(dialect: Dialect, table: &str) -> Self {
        let (quoted, table_options, lock, max_id_filter, raise) = match dialect {
            Dialect::Sqlite => (
                quote(dialect, table),
                "",
                "",
                "CAST(id AS INTEGER)) FROM {t} WHERE length(id) BETWEEN 1 AND 10 AND id NOT GLOB '*[^0-9]*' AND id NOT LIKE '0%'",
                format!(
                    "INSERT INTO \"{ID_TABLE}\" (table_name, highest_id) VALUES (?, ?) \
                     ON CONFLICT (table_name) DO UPDATE SET highest_id = MAX(highest_id, excluded.highest_id)"
                ),
            ),
            Dialect::MySql => (
                quote(dialect, table),
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                " FOR UPDATE",
                "CAST(id AS SIGNED)) FROM {t} WHERE id REGEXP '^[1-9][0-9]{0,9}$'",
                format!(
                    "INSERT INTO `{ID_TABLE}` (table_name, highest_id) VALUES (?, ?) \
                     ON DUPLICATE KEY UPDATE highest_id = GREATEST(highest_id, VALUES(highest_id))"
                ),
            ),
        };
        let columns = schema::column_list();
        let set_list = COLUMNS[1..]
            .iter()
            .map(|c| format!("{c} = ?"))
            .collect::<Vec<_>>()
            .join(", ");
        let placeholders = vec!["?"; COLUMNS.len()].join(", ");
        Self {
            create_table: match dialect {
                Dialect::Sqlite => schema::create_table_sql(&quoted, "", table_options),
                Dialect::MySql => {
                    let keys: String = KEY_COLUMNS
                        .iter()
                        .map(|c| format!(", KEY idx_{c} ({c})"))
                        .collect();
                    schema::create_table_sql(&quoted, &keys, table_options)
                }
            },
            create_indexes: match dialect {
                Dialect::Sqlite => KEY_COLUMNS
                    .iter()
                    .map(|c| {
                        format!(
                            "CREATE INDEX IF NOT EXISTS {} ON {quoted} ({c})",
                            quote(dialect, &format!("{table}__{c}"))
                        )
                    })
                    .collect(),
                Dialect::MySql => Vec::new(),
            },
            select_by_id: format!("SELECT {columns} FROM {quoted} WHERE id = ?{lock}"),
            select_all: format!("SELECT {columns} FROM {quoted}"),
            max_id: format!("SELECT MAX({}{lock}", max_id_filter.replace("{t}", &quoted)),
            update_by_id: format!("UPDATE {quoted} SET {set_list} WHERE id = ?"),
            insert: format!("INSERT INTO {quoted} ({columns}) VALUES ({placeholders})"),
            delete_by_id: format!("DELETE FROM {quoted} WHERE id = ?"),
            delete_all: format!("DELETE FROM {quoted}"),
            ids_create: format!(
                "CREATE TABLE IF NOT EXISTS {q} (table_name varchar(64) NOT NULL, highest_id bigint NOT NULL, \
                 PRIMARY KEY (table_name)){table_options}",
                q = quote(dialect, ID_TABLE)
            ),
            ids_ensure: match dialect {
                Dialect::Sqlite => format!(
                    "INSERT OR IGNORE INTO \"{ID_TABLE}\" (table_name, highest_id) VALUES (?, 0)"
                ),
                Dialect::MySql => format!(
                    "INSERT IGNORE INTO `{ID_TABLE}` (table_name, highest_id) VALUES (?, 0)"
                ),
            },
            ids_select: format!(
                "SELECT highest_id FROM {} WHERE table_name = ?{lock}",
                quote(dialect, ID_TABLE)
            ),
            ids_raise: raise,
            dialect,
            quoted,
            columns,
        }
    }

    /// Rows whose column equals any of `keys` (the candidates; the caller picks by the lookup
    /// rules). `locking` adds `FOR UPDATE` on MySQL. Bind [`key_values`](Self::key_values).
    ///
    /// MySQL compares with the column's collation, usually case- and trailing-space-insensitive,
    /// so each key is `col = ? AND BINARY col = ?`: the first can use an index, the second
    /// makes the match exact.
    pub fn select_by_keys(&self, keys: &[LookupKey<'_>], locking: bool) -> String {
        let compare = |key: &LookupKey<'_>| match self.dialect {
            Dialect::Sqlite => format!("{} = ?", key.field()),
            Dialect::MySql => format!("({0} = ? AND BINARY {0} = ?)", key.field()),
        };
        let filter = keys.iter().map(compare).collect::<Vec<_>>().join(" OR ");
        let lock = if locking && self.dialect == Dialect::MySql {
            " FOR UPDATE"
        } else {
            ""
        };
        format!(
            "SELECT {} FROM {} WHERE {filter}{lock}",
            self.columns, self.quoted
        )
    }

    /// The values [`select_by_keys`](Self::select_by_keys) binds, in order.
    pub fn key_values<'k>(&self, keys: &[LookupKey<'k>]) -> Vec<&'k str> {
        let repeat = match self.dialect {
            Dialect::Sqlite => 1,
            Dialect::MySql => 2,
        };
        keys.iter()
            .flat_map(|k| std::iter::repeat_n(k.value(), repeat))
            .collect()
    }
}

fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("\"{name}\""),
        Dialect::MySql => format!("`{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_the_table_and_bind_every_value() {
        let s = Statements::new(Dialect::MySql, "oauthtoken");
        assert_eq!(
            s.insert,
            "INSERT INTO `oauthtoken` (id, user_name, client_id, client_secret, refresh_token, access_token, \
             grant_token, expiry_time, redirect_url, api_domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        assert_eq!(
            s.max_id,
            "SELECT MAX(CAST(id AS SIGNED)) FROM `oauthtoken` WHERE id REGEXP '^[1-9][0-9]{0,9}$' FOR UPDATE"
        );
        let keys = [LookupKey::GrantToken("g"), LookupKey::RefreshToken("r")];
        assert!(s.select_by_keys(&keys, true).ends_with(
            "WHERE (grant_token = ? AND BINARY grant_token = ?) OR (refresh_token = ? AND BINARY refresh_token = ?) FOR UPDATE"
        ));
        assert_eq!(s.key_values(&keys), ["g", "g", "r", "r"]);
        assert!(
            s.create_table
                .contains("PRIMARY KEY (id), KEY idx_user_name (user_name), KEY idx_access_token")
        );

        let s = Statements::new(Dialect::Sqlite, "t_1");
        assert_eq!(s.key_values(&keys), ["g", "r"]);
        assert_eq!(
            s.create_indexes[0],
            "CREATE INDEX IF NOT EXISTS \"t_1__user_name\" ON \"t_1\" (user_name)"
        );
        assert!(
            s.update_by_id
                .starts_with("UPDATE \"t_1\" SET user_name = ?, client_id = ?")
        );
        assert!(s.update_by_id.ends_with("api_domain = ? WHERE id = ?"));
        assert!(
            s.select_by_keys(&keys, true)
                .ends_with("WHERE grant_token = ? OR refresh_token = ?")
        );
        assert!(
            s.create_table.starts_with(
                "CREATE TABLE IF NOT EXISTS \"t_1\" (id varchar(10) NOT NULL, user_name"
            )
        );
    }
}
