//! The external directory EXTERNAL users come from (SpaceONE's auth plugin `find`): seed 004's
//! `find` searches it, `create` of an EXTERNAL user and `sync` read a user from it. The operations
//! reach it through the `Directory` port.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A `find` answers at most this many users (SpaceONE's limit).
pub const FIND_LIMIT: usize = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `ENABLED` or `DISABLED`; anything else (or nothing) leaves the user unconfirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default)]
    pub tags: Map<String, Value>,
}

impl DirectoryUser {
    /// The directory's name for the user, if it is one we could store (else ignored, not refused).
    pub fn valid_name(&self) -> Option<String> {
        self.name
            .as_deref()
            .and_then(|name| crate::validate::display_name("name", name, 128).ok())
    }

    /// The directory's address for the user, if it is a valid one.
    pub fn valid_email(&self) -> Option<String> {
        self.email
            .as_deref()
            .and_then(|email| crate::validate::email("email", email, 255).ok())
    }
}

/// What a `find` asks for: one user by id, or users matching a keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectorySearch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
}

/// What a directory's `find` answers: the users matching (as many as it answers) and how many
/// match in all.
pub type Found<'a> =
    Pin<Box<dyn Future<Output = ApiResult<(Vec<DirectoryUser>, u64)>> + Send + 'a>>;

/// The external directory, as the operations see it (`lambda::directory::HttpDirectory` calls the
/// deployed one).
pub trait Directory: Send + Sync {
    fn find<'a>(&'a self, tenant_id: &'a str, search: &'a DirectorySearch) -> Found<'a>;
}

/// What the directory says about one user id: exactly one match is the user; none is gone.
pub async fn lookup(
    directory: &dyn Directory,
    tenant_id: &str,
    user_id: &str,
) -> ApiResult<Option<DirectoryUser>> {
    let search = DirectorySearch {
        user_id: Some(user_id.to_owned()),
        keyword: None,
    };
    let (mut users, _) = directory.find(tenant_id, &search).await?;
    // A directory may answer partial matches too: only the exact id counts.
    users.retain(|u| u.user_id == user_id);
    match users.len() {
        0 => Ok(None),
        1 => Ok(users.pop()),
        _ => Err(ApiError::TooManyExternalUsers(user_id.to_owned())),
    }
}
