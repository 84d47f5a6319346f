//! The store: what the operations need from persistence, independent of DynamoDB.

use std::future::Future;

use crate::error::{ApiResult, UniqueField};
use std::collections::HashMap;

use crate::change::UserChange;
use crate::model::{AuditRecord, Facet, Millis, Tenant, User, UserState};
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

/// Where a listing reads its users from; users pending deletion are never listed. Reads from an index see the index's projection (never the
/// password hash) and are eventually consistent; such users are for answering, not for writing back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSource {
    /// These user ids, read by key (consistent).
    Ids(Vec<String>),
    /// The holders of these email addresses, through their uniqueness records.
    Emails(Vec<String>),
    /// The users whose display name normalises like one of these.
    Names(Vec<String>),
    /// These facets, merged in name order; `first` caps how many are needed (`None`: all).
    Facets {
        facets: Vec<Facet>,
        desc: bool,
        first: Option<usize>,
    },
    /// Every user of the tenant but those pending deletion, in name order; `first` as above.
    Tenant { desc: bool, first: Option<usize> },
}

/// What a housekeeping sweep looks for in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Users pending deletion since before this time.
    DeletedBefore(Millis),
    /// Enabled users whose password was last changed before this time, whose password may expire,
    /// and who are not yet required to change it.
    PasswordChangedBefore(Millis),
}

/// At most this many ids or addresses are read by key in one listing.
pub const LIST_KEYS_MAX: usize = 100;

/// The users themselves: read, resolve unique values, create, change and purge.
pub trait Users: Send + Sync {
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
    ) -> impl Future<Output = ApiResult<Option<String>>> + Send {
        self.find_user_id(tenant_id, UniqueField::LoginName, login_name)
    }

    /// Resolves a unique value (login name or email, any normal form or case) to its holder's id,
    /// whether or not that user is pending deletion.
    fn find_user_id(
        &self,
        tenant_id: &str,
        field: UniqueField,
        value: &str,
    ) -> impl Future<Output = ApiResult<Option<String>>> + Send;

    /// The first unique value (login name, email, mobile number, external id) that changing
    /// `before` into `after` would take from another user: what `update_user` would fail on, read
    /// ahead of it.
    fn taken_unique_value(
        &self,
        before: &User,
        after: &User,
    ) -> impl Future<Output = ApiResult<Option<UniqueField>>> + Send;

    /// Writes a new user (holding the messages the creation sends) with its uniqueness records and
    /// the tenant's counters, in one transaction; refused when the tenant already holds `quota` users.
    /// `replacing` is a user with the same id pending deletion, as read, and the record of its
    /// change of state: it is replaced if nobody changed it since, the record kept in the same
    /// transaction.
    fn create_user(
        &self,
        user: &User,
        quota: u64,
        notifications: &[Notification],
        replacing: Option<(&User, &AuditRecord)>,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// Carries out a change as decided (`UserChange`), if nobody changed the user since
    /// `change.before` was read: the user's item with the change's messages, the uniqueness records
    /// and counters the change moves, its audit record, and, where it guards the first
    /// administrator, a check that the user is not, all in one transaction.
    fn update_user(&self, change: &UserChange<'_>) -> impl Future<Output = ApiResult<()>> + Send;

    /// Deletes a user pending deletion for good, if it is unchanged since read, and frees its
    /// unique login name, email, phone and external id; in one transaction with the counters.
    fn purge_user(&self, user: &User) -> impl Future<Output = ApiResult<()>> + Send;
}

/// What logins write and read besides the user's changes: failed attempts, lockouts, successes, and
/// the decoys that make a login for nobody cost what one for somebody costs.
pub trait LoginLedger: Send + Sync {
    fn record_login(
        &self,
        user: &User,
        record: &LoginRecord,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// What a login that cannot succeed writes instead of counting an attempt: the same kind of
    /// write, applied to one of the login decoys (chosen by tenant and login name), so that a
    /// login for an unknown user, or one who cannot log in, costs what a wrong password costs.
    fn probe_login(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// What a login for an unknown name reads instead of a user: the login decoy `probe_login`
    /// writes, about the size of a user, so that reading nobody costs what reading a user costs.
    fn read_login_decoy(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// Tenants: their records, their counters and the registry.
pub trait Tenants: Send + Sync {
    fn get_tenant(&self, tenant_id: &str)
    -> impl Future<Output = ApiResult<Option<Tenant>>> + Send;

    /// The tenant's maintained counters: `user_count` and one per facet (`Facet::key`).
    fn tenant_counters(
        &self,
        tenant_id: &str,
    ) -> impl Future<Output = ApiResult<HashMap<String, u64>>> + Send;

    /// Reads a user (the caller of a request) and the tenant's counters in one round trip.
    fn get_user_and_counters(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> impl Future<Output = ApiResult<(Option<User>, HashMap<String, u64>)>> + Send;

    /// Every tenant's id, from the registry bootstrap writes.
    fn list_tenants(&self) -> impl Future<Output = ApiResult<Vec<String>>> + Send;

    /// Creates the tenant with its first administrator in one transaction; `false` when the tenant
    /// exists already (nothing is written then).
    fn create_tenant(
        &self,
        tenant: &Tenant,
        admin: &User,
    ) -> impl Future<Output = ApiResult<bool>> + Send;
}

/// Users by a listing's source or by a housekeeping sweep.
pub trait Listing: Send + Sync {
    fn list_users(
        &self,
        tenant_id: &str,
        source: &ListSource,
    ) -> impl Future<Output = ApiResult<Vec<User>>> + Send;

    /// The tenant's users found by a housekeeping sweep, as the index projects them.
    fn sweep(
        &self,
        tenant_id: &str,
        sweep: Sweep,
    ) -> impl Future<Output = ApiResult<Vec<User>>> + Send;
}

/// The status changes recorded with each change of state.
pub trait AuditTrail: Send + Sync {
    /// The user's status changes, oldest first.
    fn audit_trail(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> impl Future<Output = ApiResult<Vec<AuditRecord>>> + Send;
}

/// The messages waiting in users' items for the notifier.
pub trait Messages: Send + Sync {
    /// Whether the notification is still waiting in its user's item: not yet delivered, not
    /// replaced by a newer message of its kind, its user not deleted.
    fn notification_pending(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = ApiResult<bool>> + Send;

    /// Removes a delivered (or stale) notification and the sealed secret in it from its user's
    /// item, unless a newer message of its kind replaced it meanwhile. The user's `version` is
    /// left alone: nothing a client sees changes.
    fn delete_notification(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// Every capability of the store: what the operations run with (`app::App<S: UserStore>`).
pub trait UserStore: Users + LoginLedger + Tenants + Listing + AuditTrail + Messages {}

impl<T: Users + LoginLedger + Tenants + Listing + AuditTrail + Messages> UserStore for T {}

/// Every capability's methods in scope, for code that calls a concrete store
/// (`use domain::store::prelude::*`).
pub mod prelude {
    pub use super::{
        AuditTrail as _, Listing as _, LoginLedger as _, Messages as _, Tenants as _, Users as _,
    };
}

/// The tenant's counter of the users not pending deletion: what the quota counts.
pub const USER_COUNT: &str = "user_count";

/// How a user counts in its tenant's counters (the keys of `Tenants::tenant_counters`): in its
/// facet's (`Facet::key`), and in `USER_COUNT` unless it is pending deletion.
pub fn counter_deltas(user: &User, sign: i64) -> Vec<(String, i64)> {
    let mut deltas = vec![(Facet::of(user).key(), sign)];
    if user.state != UserState::PendingDelete {
        deltas.push((USER_COUNT.to_owned(), sign));
    }
    deltas
}

/// The counter changes of a user going from `before` to `after`, zeros left out.
pub fn state_change_deltas(before: &User, after: &User) -> Vec<(String, i64)> {
    let mut deltas: HashMap<String, i64> = HashMap::new();
    for (counter, delta) in counter_deltas(before, -1)
        .into_iter()
        .chain(counter_deltas(after, 1))
    {
        *deltas.entry(counter).or_default() += delta;
    }
    deltas.into_iter().filter(|(_, d)| *d != 0).collect()
}

/// How long a prefix of the normalised display name orders the name indexes (index keys hold 1024
/// bytes).
const NAME_ORDER_MAX_BYTES: usize = 512;

/// The bounded, normalised display name the name indexes order by.
pub fn name_order_prefix(name: &str) -> String {
    let mut name = uniqueness_key(name);
    while name.len() > NAME_ORDER_MAX_BYTES {
        name.pop();
    }
    name
}

/// The name indexes' sort key: the normalised name, then the user id. Lists computed in memory
/// order by the same key, so that both ways of answering agree.
pub fn name_order_key(display_name: &str, user_id: &str) -> String {
    format!("{}#{user_id}", name_order_prefix(display_name))
}

/// The unique attributes of a user, in stored (normalised) form.
pub fn unique_values(user: &User) -> Vec<UniqueValue> {
    let mut values = vec![(UniqueField::LoginName, uniqueness_key(&user.login_name))];
    if let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) {
        values.push((UniqueField::Email, uniqueness_key(email)));
    }
    if let Some(phone) = user.phone.as_deref().filter(|p| !p.is_empty()) {
        values.push((
            UniqueField::Phone,
            phone_key(user.areacode.as_deref(), phone),
        ));
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

/// A unique attribute and its value in stored (normalised) form.
pub type UniqueValue = (UniqueField, String);

/// The unique values a change of `before` (none: a new user) into `after` releases and takes, in
/// stored form: what the uniqueness records move by.
pub fn unique_moves(before: Option<&User>, after: &User) -> (Vec<UniqueValue>, Vec<UniqueValue>) {
    let old = before.map(unique_values).unwrap_or_default();
    let new = unique_values(after);
    let released = old.iter().filter(|v| !new.contains(v)).cloned().collect();
    let taken = new.into_iter().filter(|v| !old.contains(v)).collect();
    (released, taken)
}

/// One mobile number however it is spelt: the digits of the country code without `+` or a `00`
/// prefix, then the digits of the number (`0086` + `123`, `+86` + `123` and `+86123` are one).
pub fn phone_key(areacode: Option<&str>, phone: &str) -> String {
    let digits = |text: &str| {
        text.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    let areacode = digits(areacode.unwrap_or_default());
    format!("{}{}", areacode.trim_start_matches('0'), digits(phone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_mobile_number_share_a_key() {
        let key = phone_key(Some("0086"), "12345678910");
        assert_eq!(phone_key(Some("+86"), "12345678910"), key);
        assert_eq!(phone_key(Some("86"), "12345678910"), key);
        assert_eq!(phone_key(None, "+8612345678910"), key);
        assert_ne!(phone_key(Some("1"), "12345678910"), key);
    }
}
