//! Recorded real Key Vault traffic: the `tests/recordings/*.yaml` of the PyPI source
//! distribution `azure-keyvault-secrets==4.0.0` (api-version 7.0, October 2019), converted to
//! JSON by `emulators/azure/fetch-recordings.sh` into the directory named by
//! `TOKEN_STORE_AZURE_RECORDINGS`.

use std::collections::BTreeMap;

use serde_json::Value;

/// One recorded request and the real service's answer.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub method: String,
    pub uri: url::Url,
    /// The request body the Python SDK sent (`None`: empty).
    pub request_body: Option<String>,
    pub status: u16,
    /// Response headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Interaction {
    /// `https://<vault>/`, the vault this interaction went to.
    pub fn vault(&self) -> String {
        format!("https://{}/", self.uri.host_str().expect("recorded host"))
    }

    /// The 32-hex version id in the response's `id`, if any.
    pub fn version(&self) -> String {
        let body: Value = serde_json::from_str(&self.body).expect("JSON response");
        let id = body["id"].as_str().expect("an id");
        id.rsplit('/').next().unwrap().to_owned()
    }
}

/// One recording file, e.g. `test_secrets_client.test_purge`.
pub struct Recording {
    pub name: String,
    pub interactions: Vec<Interaction>,
}

impl Recording {
    /// Load a recording by name; panics (failing the test) when the recordings are missing.
    pub fn load(name: &str) -> Self {
        let dir = std::env::var("TOKEN_STORE_AZURE_RECORDINGS")
            .ok()
            .filter(|d| !d.is_empty())
            .expect(
                "TOKEN_STORE_AZURE_RECORDINGS must name the converted recordings \
                 (run emulators/azure/fetch-recordings.sh or scripts/test-azure.sh)",
            );
        let path = format!("{dir}/{name}.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let items: Vec<Value> = serde_json::from_str(&text).expect("recording JSON");
        let interactions = items
            .iter()
            .map(|item| Interaction {
                method: item["method"].as_str().unwrap().to_owned(),
                uri: url::Url::parse(item["uri"].as_str().unwrap()).unwrap(),
                request_body: item["request_body"]
                    .as_str()
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned),
                status: item["status"].as_u64().unwrap() as u16,
                headers: item["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
                body: item["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        Self {
            name: name.to_owned(),
            interactions,
        }
    }

    /// Interaction `index` (as numbered in the recording file).
    pub fn at(&self, index: usize) -> Interaction {
        self.interactions
            .get(index)
            .unwrap_or_else(|| panic!("{} has no interaction {index}", self.name))
            .clone()
    }
}
