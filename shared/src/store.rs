//! The store: what the operations need from persistence, independent of DynamoDB.

use std::future::Future;

use crate::error::{ApiResult, UniqueField};
use crate::model::{Millis, Tenant, User};
use crate::outbox::Notification;
use crate::validate::uniqueness_key;

/// What a login writes. None of it bumps `version`, so a login never makes an administrator's
/// concurrent change fail.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginRecord {
    /// Counts an attempt as a failure before its password is checked, so that parallel guesses
    /// cannot outrun the lockout. Applies only if the count is still the one read and no lock is in
    /// force at `now`.
    Attempt {
        failed_logins: u32,
        window_start: Millis,
        now: Millis,
    },
    /// The attempt that completed the count failed too: lock until `until` and start counting afresh.
    Lockout { until: Millis },
    /// The password was right: clear the count and a lapsed lock, note the time. Applies only if the
    /// user's tokens, state and administrator lock are unchanged since the read.
    Success {
        at: Millis,
        /// A fresh hash when the stored one used outdated parameters.
        rehashed: Option<String>,
    },
}

pub trait UserStore: Send + Sync {
    fn get_user(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> impl Future<Output = ApiResult<Option<User>>> + Send;

    /// Reads the caller and the target of a request in one round trip.
    fn get_user_pair(
        &self,
        tenant_id: &str,
        first: &str,
        second: &str,
    ) -> impl Future<Output = ApiResult<(Option<User>, Option<User>)>> + Send;

    /// Resolves a login name (any normal form or case) to its user id.
    fn find_user_id_by_login(
        &self,
        tenant_id: &str,
        login_name: &str,
    ) -> impl Future<Output = ApiResult<Option<String>>> + Send;

    fn get_tenant(&self, tenant_id: &str)
    -> impl Future<Output = ApiResult<Option<Tenant>>> + Send;

    /// Creates the tenant with its first administrator in one transaction; `false` when the tenant
    /// exists already (nothing is written then).
    fn create_tenant(
        &self,
        tenant: &Tenant,
        admin: &User,
    ) -> impl Future<Output = ApiResult<bool>> + Send;

    /// Writes a new user with its uniqueness records, the tenant's counters and the messages the
    /// creation sends, in one transaction; refused when the tenant already holds `quota` users.
    fn create_user(
        &self,
        user: &User,
        quota: u64,
        notifications: &[Notification],
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// Replaces `before` by `after` (with the next `version`) if nobody changed the user since
    /// `before` was read; moves the uniqueness records and counters that the change touches in the
    /// same transaction, with the messages the change sends.
    fn update_user(
        &self,
        before: &User,
        after: &User,
        notifications: &[Notification],
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// A write that never applies, costing what a login's own write costs, so that a login for a
    /// user who cannot log in takes as long as one with a wrong password.
    fn probe_login(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    fn record_login(
        &self,
        user: &User,
        record: &LoginRecord,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// The unique attributes of a user, in stored (normalised) form.
pub fn unique_values(user: &User) -> Vec<(UniqueField, String)> {
    let mut values = vec![(UniqueField::LoginName, uniqueness_key(&user.login_name))];
    if let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) {
        values.push((UniqueField::Email, uniqueness_key(email)));
    }
    if let Some(phone) = user.phone.as_deref().filter(|p| !p.is_empty()) {
        let areacode = user.areacode.as_deref().unwrap_or_default();
        values.push((UniqueField::Phone, format!("{areacode}-{phone}")));
    }
    if let (Some(kind), Some(id)) = (user.external_type.as_deref(), user.external_id.as_deref()) {
        if !id.is_empty() {
            values.push((
                UniqueField::ExternalId,
                format!("{}#{}", uniqueness_key(kind), id),
            ));
        }
    }
    values
}
