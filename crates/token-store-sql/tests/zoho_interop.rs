//! Interop with the Zoho CRM Python SDK's own DBStore (zohocrmsdk8-0 + mysql-connector-python)
//! on one MariaDB table: rows it writes are read by `MySqlStore` with every field intact, and
//! rows `MySqlStore` writes are found by it. Needs `TOKEN_STORE_MYSQL_URL` and `ZOHO_PY` (the
//! venv python that `interop/zoho-db/setup-venv.sh` prints); a missing SDK fails the test.

use std::io::Write as _;
use std::process::{Command, Stdio};

use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use token_store_core::testkit::random_namespace;
use token_store_core::{Token, TokenStore};
use token_store_sql::{MYSQL_URL_ENV, MySqlStore};

struct DbStore {
    python: String,
    script: String,
    env: Vec<(&'static str, String)>,
}

impl DbStore {
    fn new(table: &str) -> Self {
        let python = std::env::var("ZOHO_PY")
            .expect("ZOHO_PY must be the venv python with zohocrmsdk8-0 (run scripts/test-sql.sh)");
        let url = std::env::var(MYSQL_URL_ENV)
            .expect("TOKEN_STORE_MYSQL_URL must name the MariaDB to test");
        let options: MySqlConnectOptions = url.parse().expect("mysql URL");
        let password = url::password(&url);
        let script = format!(
            "{}/../../interop/zoho-db/dbstore.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let env = vec![
            ("DBSTORE_HOST", options.get_host().to_owned()),
            ("DBSTORE_PORT", options.get_port().to_string()),
            ("DBSTORE_USER", options.get_username().to_owned()),
            ("DBSTORE_PASSWORD", password),
            (
                "DBSTORE_DATABASE",
                options.get_database().expect("database in URL").to_owned(),
            ),
            ("DBSTORE_TABLE", table.to_owned()),
        ];
        Self {
            python,
            script,
            env,
        }
    }

    fn run(&self, args: &[&str], input: Option<String>) -> serde_json::Value {
        let mut child = Command::new(&self.python)
            .arg(&self.script)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the Zoho SDK python");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.unwrap_or_default().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "dbstore.py {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("dbstore.py prints JSON")
    }

    fn save(&self, tokens: &[Token]) -> Vec<Token> {
        serde_json::from_value(self.run(&["save"], Some(serde_json::to_string(tokens).unwrap())))
            .unwrap()
    }

    fn find(&self, queries: &[Token]) -> Vec<Option<Token>> {
        serde_json::from_value(self.run(&["find"], Some(serde_json::to_string(queries).unwrap())))
            .unwrap()
    }

    fn list(&self) -> Vec<Token> {
        serde_json::from_value(self.run(&["list"], None)).unwrap()
    }

    fn by_id(&self, id: &str) -> Token {
        serde_json::from_value(self.run(&["by-id", id], None)).unwrap()
    }
}

mod url {
    /// The password part of a `mysql://user:password@host…` URL (percent-decoding not needed
    /// for the test credentials).
    pub fn password(url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let userinfo = rest.split_once('@').map_or("", |(u, _)| u);
        userinfo.split_once(':').map_or("", |(_, p)| p).to_owned()
    }
}

fn zoho_row(n: usize) -> Token {
    Token::builder()
        .user_name(format!("py{n}@example.com:7000{n}"))
        .client_id(format!("1000.PYCLIENT{n}"))
        .client_secret(format!("py-secret-{n}"))
        .refresh_token(format!("1000.py.refresh.{n}"))
        .access_token(format!("1000.py.access.{n}"))
        .expiry_time(1_764_100_000_000 + n as i64)
        .redirect_url("https://example.com/zoho/callback")
        .api_domain("https://www.zohoapis.eu")
        .build()
}

async fn fresh_table() -> (MySqlPool, String) {
    let pool = MySqlPool::connect(&std::env::var(MYSQL_URL_ENV).expect(MYSQL_URL_ENV))
        .await
        .unwrap();
    let table = format!("zoho_interop_{}", random_namespace());
    // The table exactly as the SDK README tells users to create it.
    let ddl = format!(
        "CREATE TABLE `{table}` (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), \
         client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), \
         expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))"
    );
    sqlx::query(sqlx::AssertSqlSafe(ddl))
        .execute(&pool)
        .await
        .unwrap();
    (pool, table)
}

#[tokio::test]
async fn rows_written_by_the_zoho_dbstore_are_read_by_mysqlstore() {
    let (_pool, table) = fresh_table().await;
    let sdk = DbStore::new(&table);
    let mut grant_row = zoho_row(3);
    grant_row.user_name = None; // a grant flow before the user name is known
    grant_row.grant_token = Some("1000.py.grant.3".into());
    grant_row.access_token = None;
    let written = sdk.save(&[zoho_row(1), zoho_row(2), grant_row]);
    assert_eq!(
        written
            .iter()
            .map(|t| t.id.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["1", "2", "3"]
    );

    let store = MySqlStore::builder()
        .url(&std::env::var(MYSQL_URL_ENV).unwrap())
        .table(&table)
        .open()
        .await
        .unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap(),
        written,
        "every field intact"
    );
    let by_user = store
        .find_token(&Token::builder().user_name("py2@example.com:70002").build())
        .await
        .unwrap();
    assert_eq!(by_user.as_ref(), Some(&written[1]));
    let by_access = store
        .find_token(&Token::builder().access_token("1000.py.access.1").build())
        .await
        .unwrap();
    assert_eq!(by_access.as_ref(), Some(&written[0]));
    let creds = |t: Token| Token {
        client_id: Some("1000.PYCLIENT9".into()),
        client_secret: Some("x".into()),
        ..t
    };
    let by_refresh = store
        .find_token(&creds(
            Token::builder().refresh_token("1000.py.refresh.2").build(),
        ))
        .await
        .unwrap();
    assert_eq!(by_refresh.unwrap().id.as_deref(), Some("2"));
    let by_grant = store
        .find_token(&creds(
            Token::builder().grant_token("1000.py.grant.3").build(),
        ))
        .await
        .unwrap();
    assert_eq!(
        by_grant.unwrap().refresh_token.as_deref(),
        Some("1000.py.refresh.3")
    );

    // The SDK updates a row after a refresh; MySqlStore reads the new values.
    let mut refreshed = zoho_row(1);
    refreshed.access_token = Some("1000.py.access.1.refreshed".into());
    refreshed.expiry_time = Some(1_764_200_000_000);
    sdk.save(&[refreshed]);
    let found = store.find_token_by_id("1").await.unwrap().unwrap();
    assert_eq!(
        found.access_token.as_deref(),
        Some("1000.py.access.1.refreshed")
    );
    assert_eq!(found.expiry_time, Some(1_764_200_000_000));
    assert_eq!(store.get_tokens().await.unwrap().len(), 3);
}

#[tokio::test]
async fn rows_written_by_mysqlstore_are_found_by_the_zoho_dbstore() {
    let (_pool, table) = fresh_table().await;
    let store = MySqlStore::builder()
        .url(&std::env::var(MYSQL_URL_ENV).unwrap())
        .table(&table)
        .open()
        .await
        .unwrap();
    let one = store.save_token(&zoho_row(1)).await.unwrap();
    let mut two = zoho_row(2);
    two.grant_token = Some("1000.rs.grant.2".into());
    let two = store.save_token(&two).await.unwrap();
    let mut rotated = zoho_row(1);
    rotated.refresh_token = Some("1000.py.refresh.1.rotated".into());
    rotated.access_token = Some("1000.py.access.1.new".into());
    let updated = store.save_token(&rotated).await.unwrap();
    assert_eq!(updated.id, one.id, "the same row");
    let one = updated;

    let sdk = DbStore::new(&table);
    let creds = |t: Token| Token {
        client_id: Some("c".into()),
        client_secret: Some("s".into()),
        ..t
    };
    let found = sdk.find(&[
        Token::builder().user_name("py1@example.com:70001").build(),
        Token::builder().access_token("1000.py.access.2").build(),
        creds(
            Token::builder()
                .refresh_token("1000.py.refresh.1.rotated")
                .build(),
        ),
        creds(Token::builder().grant_token("1000.rs.grant.2").build()),
        Token::builder().user_name("nobody").build(),
    ]);
    assert_eq!(found[0].as_ref(), Some(&one), "by user name, every field");
    assert_eq!(found[1].as_ref(), Some(&two), "by access token");
    assert_eq!(
        found[2].as_ref().and_then(|t| t.id.clone()),
        one.id,
        "by rotated refresh token"
    );
    assert_eq!(
        found[3].as_ref().and_then(|t| t.id.clone()),
        two.id,
        "by grant token"
    );
    assert_eq!(found[4], None);
    assert_eq!(sdk.by_id("2"), two);
    assert_eq!(sdk.list(), vec![one, two]);

    // And the SDK's next insert continues after our ids.
    let third = sdk.save(&[zoho_row(3)]);
    assert_eq!(third[0].id.as_deref(), Some("3"));
    assert_eq!(
        store.find_token_by_id("3").await.unwrap().as_ref(),
        Some(&third[0])
    );
}
