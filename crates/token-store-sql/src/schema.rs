//! The Zoho SDK's `oauthtoken` table: column layout, table-name rules, value limits, and the
//! conversion between a [`Token`] and one row.

use token_store_core::{Error, ErrorKind, Result, Token};

/// The table name the Zoho SDK's DBStore and the Kaizen SQLite sample use.
pub const DEFAULT_TABLE: &str = "oauthtoken";

/// The ten columns, in the order the Zoho SDK creates them (and reads them by position).
pub const COLUMNS: [&str; 10] = [
    "id",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_url",
    "api_domain",
];

/// The widest text column, `varchar(255)`; checked in bytes, which is stricter than MySQL's
/// character count, so a value that passes fits every column everywhere.
pub const MAX_FIELD_BYTES: usize = 255;

/// The column list for `SELECT` and `INSERT`, in the Zoho order.
pub fn column_list() -> String {
    COLUMNS.join(", ")
}

/// The columns lookups filter on; a table this crate creates gets an index on each (the
/// Zoho DDL has none, so every lookup there is a full scan).
pub const KEY_COLUMNS: [&str; 4] = ["user_name", "access_token", "refresh_token", "grant_token"];

/// The Zoho DDL (`varchar` columns, `id` primary key); `quoted_table` is already quoted and
/// `extra` is appended inside the parentheses (e.g. MySQL `KEY` clauses).
pub fn create_table_sql(quoted_table: &str, extra: &str, table_options: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {quoted_table} (id varchar(10) NOT NULL, user_name varchar(255), \
         client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), \
         access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), \
         redirect_url varchar(255), api_domain varchar(255), PRIMARY KEY (id){extra}){table_options}"
    )
}

/// Check a table name: an ASCII letter or `_`, then letters, digits or `_`, at most 64
/// characters (MySQL's identifier limit), and not the id table's name. Only such names are
/// ever put into SQL text.
pub fn validate_table_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let valid_start = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    let valid_rest = name.len() <= 64 && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid_start && valid_rest && !name.eq_ignore_ascii_case(crate::statements::ID_TABLE) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::ConfigInvalid,
            "table name must be 1 to 64 characters of [A-Za-z0-9_], not starting with a digit",
        ))
    }
}

/// Check that the table's columns are exactly the Zoho columns in the Zoho order.
pub fn check_columns(found: &[String]) -> Result<()> {
    let matches = found.len() == COLUMNS.len()
        && found
            .iter()
            .zip(COLUMNS)
            .all(|(f, c)| f.eq_ignore_ascii_case(c));
    if matches {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::ConfigInvalid,
            format!(
                "the table's columns are [{}], not the Zoho oauthtoken layout [{}]",
                found.join(", "),
                COLUMNS.join(", ")
            ),
        ))
    }
}

/// The ten cells of a row, `None` for SQL `NULL`.
pub type Cells = [Option<String>; 10];

/// The cells a token is written as: absent values are `NULL` (as the Zoho DBStore writes
/// them), the expiry is its decimal string. Every value must fit its column.
pub fn cells_from_token(token: &Token) -> Result<Cells> {
    let cells = [
        token.id.clone(),
        token.user_name.clone(),
        token.client_id.clone(),
        token.client_secret.clone(),
        token.refresh_token.clone(),
        token.access_token.clone(),
        token.grant_token.clone(),
        token.expiry_time.map(|ms| ms.to_string()),
        token.redirect_url.clone(),
        token.api_domain.clone(),
    ];
    for (cell, column) in cells.iter().zip(COLUMNS) {
        if cell.as_ref().is_some_and(|v| v.len() > MAX_FIELD_BYTES) {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{column} is longer than the column allows ({MAX_FIELD_BYTES} bytes)"),
            ));
        }
    }
    Ok(cells)
}

/// The token a row holds: empty cells are absent, the expiry must be epoch milliseconds.
pub fn token_from_cells(cells: Cells) -> Result<Token> {
    let [
        id,
        user_name,
        client_id,
        client_secret,
        refresh_token,
        access_token,
        grant_token,
        expiry,
        redirect_url,
        api_domain,
    ] = cells;
    let expiry_time = match expiry.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            Error::corrupt(format!(
                "expiry_time of the row with id {id:?} is not epoch milliseconds"
            ))
        })?),
    };
    Ok(Token {
        id,
        user_name,
        client_id,
        client_secret,
        refresh_token,
        access_token,
        grant_token,
        expiry_time,
        redirect_url,
        api_domain,
    }
    .normalized())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_validated() {
        for good in ["oauthtoken", "_t", "Tokens_2", &"a".repeat(64)] {
            assert!(validate_table_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "t;drop",
            "t`",
            "t\"",
            "schema.table",
            &"a".repeat(65),
            "tå",
        ] {
            let err = validate_table_name(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
        }
    }

    #[test]
    fn rows_round_trip_and_empty_cells_are_absent() {
        let token = Token::builder()
            .id("7")
            .user_name("u")
            .refresh_token("r")
            .expiry_time(1_700_000_000_000)
            .build();
        let cells = cells_from_token(&token).unwrap();
        assert_eq!(cells[7].as_deref(), Some("1700000000000"));
        assert_eq!(cells[3], None);
        assert_eq!(token_from_cells(cells).unwrap(), token);

        let mut empty: Cells = Default::default();
        empty[0] = Some("3".into());
        empty[1] = Some(String::new());
        empty[7] = Some(String::new());
        let read = token_from_cells(empty).unwrap();
        assert_eq!(read.user_name, None);
        assert_eq!(read.expiry_time, None);
    }

    #[test]
    fn a_bad_expiry_is_corrupt_and_long_values_are_too_large() {
        let mut cells: Cells = Default::default();
        cells[7] = Some("soon".into());
        assert_eq!(
            token_from_cells(cells).unwrap_err().kind(),
            ErrorKind::Corrupt
        );

        let long = Token::builder().access_token("x".repeat(256)).build();
        let err = cells_from_token(&long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
        assert!(!err.to_string().contains("xxx"));
        assert!(cells_from_token(&Token::builder().access_token("x".repeat(255)).build()).is_ok());
    }

    #[test]
    fn column_order_is_checked() {
        let exact: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        assert!(check_columns(&exact).is_ok());
        let mut swapped = exact.clone();
        swapped.swap(1, 2);
        assert_eq!(
            check_columns(&swapped).unwrap_err().kind(),
            ErrorKind::ConfigInvalid
        );
        assert!(check_columns(&exact[..9]).is_err());
    }
}
