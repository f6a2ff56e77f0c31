//! Store URLs: the driver's URL plus an optional `table=<name>` query parameter.

/// A store URL split into the part the driver reads and the table name, if one was given.
pub(crate) struct StoreUrl {
    /// The URL without the `table` parameter.
    pub driver_url: String,
    /// The `table` parameter.
    pub table: Option<String>,
}

/// Split `table=<name>` off the query of `url`; every other parameter stays for the driver.
pub(crate) fn split_table(url: &str) -> StoreUrl {
    let Some((base, query)) = url.split_once('?') else {
        return StoreUrl {
            driver_url: url.to_owned(),
            table: None,
        };
    };
    let mut table = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == "table" {
            table = Some(value.into_owned());
        } else {
            rest.append_pair(&key, &value);
        }
    }
    let rest = rest.finish();
    let driver_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{rest}")
    };
    StoreUrl { driver_url, table }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parameter_is_split_off() {
        let u = split_table("mysql://u:p@h:3306/db?table=tok&ssl-mode=disabled");
        assert_eq!(u.driver_url, "mysql://u:p@h:3306/db?ssl-mode=disabled");
        assert_eq!(u.table.as_deref(), Some("tok"));
        let u = split_table("sqlite://a.db?table=t");
        assert_eq!(u.driver_url, "sqlite://a.db");
        assert_eq!(u.table.as_deref(), Some("t"));
        let u = split_table("sqlite://a.db");
        assert_eq!(u.driver_url, "sqlite://a.db");
        assert_eq!(u.table, None);
    }
}
