//! The deployment's settings, read once from the environment: the login, password and quota
//! policies the rules apply, and where the store and the directory are.

use std::env;

use crate::validate::PasswordPolicy;

/// The login policy (Huawei's defaults: 5 failures within 15 minutes lock for 15 minutes).
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub window_ms: i64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub token_key_id: String,
    pub token_lifetime_seconds: i64,
    pub lockout: LockoutPolicy,
    pub password_policy: PasswordPolicy,
    /// Users per tenant (Huawei's default quota is 50).
    pub tenant_user_quota: u64,
    /// The longest a password lives before its user must change it; `None`: passwords never expire
    /// (Huawei's default).
    pub password_max_age_ms: Option<i64>,
    /// How long a deleted user is kept (pending deletion) before housekeeping purges it.
    pub deleted_user_retention_ms: i64,
    /// The external directory EXTERNAL users come from; `None`: the deployment has none.
    pub external_directory_url: Option<String>,
    pub external_directory_token: Option<Secret>,
    /// The tenants `Custom::User` resources may manage; `None`: every tenant.
    pub provisioning_tenants: Option<Vec<String>>,
    /// Set only for DynamoDB Local.
    pub dynamodb_endpoint: Option<String>,
    /// The API's public base URL behind a custom domain (`https://api.example.com`); `None`: links
    /// are built from API Gateway's request context (`http::base_url`).
    pub public_base_url: Option<String>,
    /// The page a forgotten-password mail links to (the console's), which receives `domain_id`,
    /// `user_id` and `token` in its query; `None`: the mail carries the token and how to use it.
    pub password_link_url: Option<String>,
}

/// A configured secret: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An environment variable, unless it is unset or blank.
pub fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a number, got {raw:?}")),
    }
}

impl Config {
    /// When the user's password expires under the policy, unless the user's password never does.
    pub fn password_expires_at(&self, user: &crate::model::User) -> Option<crate::model::Millis> {
        self.password_expiry(&crate::model::AuthView::of(user))
    }

    pub fn password_expiry(&self, view: &crate::model::AuthView) -> Option<crate::model::Millis> {
        let max_age = self
            .password_max_age_ms
            .filter(|_| !view.password_never_expired)?;
        view.password_changed_at.map(|changed| changed + max_age)
    }

    /// The defaults every setting has (Huawei's policies), for a table; `from_env` starts from the
    /// same numbers.
    pub fn defaults(table_name: &str) -> Config {
        Config {
            table_name: table_name.to_owned(),
            token_key_id: "k1".into(),
            token_lifetime_seconds: 86_400,
            lockout: LockoutPolicy {
                threshold: 5,
                window_ms: 900_000,
                duration_ms: 900_000,
            },
            password_policy: PasswordPolicy::default(),
            tenant_user_quota: 50,
            password_max_age_ms: None,
            deleted_user_retention_ms: 30 * 86_400_000,
            external_directory_url: None,
            external_directory_token: None,
            provisioning_tenants: None,
            dynamodb_endpoint: None,
            public_base_url: None,
            password_link_url: None,
        }
    }

    pub fn from_env() -> Result<Config, String> {
        let min_classes: usize = number("PASSWORD_MIN_CHAR_CLASSES", 2)?;
        if !(2..=4).contains(&min_classes) {
            return Err("PASSWORD_MIN_CHAR_CLASSES must be 2, 3 or 4".into());
        }
        Ok(Config {
            table_name: var("TABLE_NAME").ok_or("TABLE_NAME is not set")?,
            token_key_id: var("TOKEN_KEY_ID").unwrap_or_else(|| "k1".into()),
            token_lifetime_seconds: number("TOKEN_LIFETIME_SECONDS", 86_400)?,
            lockout: LockoutPolicy {
                threshold: number("LOCKOUT_THRESHOLD", 5)?,
                window_ms: number::<i64>("LOCKOUT_WINDOW_SECONDS", 900)? * 1000,
                duration_ms: number::<i64>("LOCKOUT_DURATION_SECONDS", 900)? * 1000,
            },
            password_policy: PasswordPolicy {
                min_classes,
                ..PasswordPolicy::default()
            },
            tenant_user_quota: number("TENANT_USER_QUOTA", 50)?,
            password_max_age_ms: match number::<i64>("PASSWORD_MAX_AGE_DAYS", 0)? {
                0 => None,
                days @ 1..=36_500 => Some(days * 86_400_000),
                _ => return Err("PASSWORD_MAX_AGE_DAYS must be 0 (off) to 36500".into()),
            },
            deleted_user_retention_ms: match number::<i64>("DELETED_USER_RETENTION_DAYS", 30)? {
                days @ 0..=36_500 => days * 86_400_000,
                _ => return Err("DELETED_USER_RETENTION_DAYS must be 0 to 36500".into()),
            },
            external_directory_url: var("EXTERNAL_DIRECTORY_URL"),
            external_directory_token: var("EXTERNAL_DIRECTORY_TOKEN").map(Secret),
            provisioning_tenants: var("PROVISIONING_TENANTS")
                .filter(|list| list.trim() != "*")
                .map(|list| {
                    list.split(',')
                        .map(|tenant| tenant.trim().to_owned())
                        .filter(|tenant| !tenant.is_empty())
                        .collect()
                }),
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            password_link_url: match var("PASSWORD_LINK_URL").map(|url| url.trim().to_owned()) {
                Some(url) if url.starts_with("https://") && !url.contains(['?', '#']) => Some(url),
                Some(url) => {
                    return Err(format!(
                        "PASSWORD_LINK_URL must be an https:// page without a query, got {url:?}"
                    ));
                }
                None => None,
            },
            public_base_url: match var("PUBLIC_BASE_URL").map(|url| url.trim().to_owned()) {
                Some(url) if url.starts_with("https://") => {
                    Some(url.trim_end_matches('/').to_owned())
                }
                Some(url) => {
                    return Err(format!(
                        "PUBLIC_BASE_URL must start with https://, got {url:?}"
                    ));
                }
                None => None,
            },
        })
    }
}
