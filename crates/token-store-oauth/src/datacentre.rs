//! Zoho data centres and their accounts servers.

use std::str::FromStr;

use token_store_core::{Error, ErrorKind};

/// A Zoho data centre: where its accounts server and API domain live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCentre {
    /// United States (`accounts.zoho.com`).
    Us,
    /// Europe (`accounts.zoho.eu`).
    Eu,
    /// India (`accounts.zoho.in`).
    In,
    /// Australia (`accounts.zoho.com.au`).
    Au,
    /// Japan (`accounts.zoho.jp`).
    Jp,
    /// Canada (`accounts.zohocloud.ca`, not `.ca`).
    Ca,
    /// Saudi Arabia (`accounts.zoho.sa`).
    Sa,
    /// China (`accounts.zoho.com.cn`).
    Cn,
    /// United Kingdom (`accounts.zoho.uk`).
    Uk,
}

impl DataCentre {
    /// Every data centre.
    pub const ALL: [DataCentre; 9] = [
        Self::Us,
        Self::Eu,
        Self::In,
        Self::Au,
        Self::Jp,
        Self::Ca,
        Self::Sa,
        Self::Cn,
        Self::Uk,
    ];

    /// The accounts server base URL, e.g. `https://accounts.zoho.eu`.
    pub fn accounts_url(self) -> &'static str {
        match self {
            Self::Us => "https://accounts.zoho.com",
            Self::Eu => "https://accounts.zoho.eu",
            Self::In => "https://accounts.zoho.in",
            Self::Au => "https://accounts.zoho.com.au",
            Self::Jp => "https://accounts.zoho.jp",
            Self::Ca => "https://accounts.zohocloud.ca",
            Self::Sa => "https://accounts.zoho.sa",
            Self::Cn => "https://accounts.zoho.com.cn",
            Self::Uk => "https://accounts.zoho.uk",
        }
    }

    /// The API domain, e.g. `https://www.zohoapis.eu`.
    pub fn api_domain(self) -> &'static str {
        match self {
            Self::Us => "https://www.zohoapis.com",
            Self::Eu => "https://www.zohoapis.eu",
            Self::In => "https://www.zohoapis.in",
            Self::Au => "https://www.zohoapis.com.au",
            Self::Jp => "https://www.zohoapis.jp",
            Self::Ca => "https://www.zohoapis.ca",
            Self::Sa => "https://www.zohoapis.sa",
            Self::Cn => "https://www.zohoapis.com.cn",
            Self::Uk => "https://www.zohoapis.uk",
        }
    }

    /// The data centre an API domain belongs to, if any: the production host
    /// (`www.zohoapis.eu`), the sandbox (`sandbox.zohoapis.eu`) and developer
    /// (`developer.zohoapis.eu`) hosts, or the bare domain; scheme, port and path optional.
    /// Sandbox and developer orgs authenticate at their data centre's accounts server (Zoho
    /// CRM, "Multi DC" and "Sandbox" docs).
    pub fn from_api_domain(api_domain: &str) -> Option<Self> {
        let rest = api_domain
            .split_once("://")
            .map_or(api_domain, |(_, rest)| rest);
        let host = rest.split(['/', ':', '?']).next().unwrap_or(rest);
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let domain = ["www.", "sandbox.", "developer."]
            .into_iter()
            .find_map(|sub| host.strip_prefix(sub))
            .unwrap_or(&host);
        Self::ALL.into_iter().find(|dc| {
            dc.api_domain()
                .strip_prefix("https://www.")
                .is_some_and(|own| own == domain)
        })
    }
}

impl FromStr for DataCentre {
    type Err = Error;

    /// `US`, `EU`, `IN`, `AU`, `JP`, `CA`, `SA`, `CN` or `UK`, any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "US" | "COM" => Self::Us,
            "EU" => Self::Eu,
            "IN" => Self::In,
            "AU" => Self::Au,
            "JP" => Self::Jp,
            "CA" => Self::Ca,
            "SA" => Self::Sa,
            "CN" => Self::Cn,
            "UK" => Self::Uk,
            _ => {
                return Err(Error::new(
                    ErrorKind::ConfigInvalid,
                    "unknown Zoho data centre; expected US, EU, IN, AU, JP, CA, SA, CN or UK",
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canada_is_zohocloud() {
        assert_eq!(
            "ca".parse::<DataCentre>().unwrap().accounts_url(),
            "https://accounts.zohocloud.ca"
        );
    }

    #[test]
    fn api_domain_round_trips() {
        for dc in DataCentre::ALL {
            assert_eq!(DataCentre::from_api_domain(dc.api_domain()), Some(dc));
        }
        assert_eq!(
            DataCentre::from_api_domain("www.zohoapis.com.au"),
            Some(DataCentre::Au)
        );
        assert_eq!(DataCentre::from_api_domain("http://127.0.0.1:9"), None);
    }

    #[test]
    fn sandbox_and_developer_hosts_belong_to_their_data_centre() {
        for dc in DataCentre::ALL {
            let domain = dc.api_domain().trim_start_matches("https://www.");
            for host in ["www.", "sandbox.", "developer.", ""] {
                let url = format!("https://{host}{domain}/crm/v8");
                assert_eq!(DataCentre::from_api_domain(&url), Some(dc), "{url}");
            }
        }
        assert_eq!(
            DataCentre::from_api_domain("https://sandbox.zohoapis.com.au"),
            Some(DataCentre::Au),
            "not the US for a suffix match"
        );
        assert_eq!(
            DataCentre::from_api_domain("https://evil.zohoapis.eu.example"),
            None
        );
        assert_eq!(
            DataCentre::from_api_domain("https://content.zohoapis.com"),
            None
        );
    }

    #[test]
    fn unknown_is_config_invalid() {
        let err = "mars".parse::<DataCentre>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    }
}
