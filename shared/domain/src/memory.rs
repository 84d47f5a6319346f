//! The store in memory: the `UserStore` contract carried out on maps behind one lock, for unit
//! tests of the rules (`cargo test -p domain`). Each write checks what the DynamoDB store's
//! conditions check (the version read, unique values, the quota, the first administrator's guard,
//! the login record's conditions) and applies all of its parts or none. It is never deployed;
//! every store operation is also tested on DynamoDB Local (tests/).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::change::UserChange;
use crate::error::{ApiError, ApiResult, UniqueField};
use crate::model::{AuditRecord, Facet, LockReason, RequiredAction, Tenant, User, UserState};
use crate::outbox::{Channel, Notification, Template};
use crate::store::{
    AuditTrail, LIST_KEYS_MAX, ListSource, Listing, LoginLedger, LoginRecord, Messages, Sweep,
    Tenants, USER_COUNT, Users, counter_deltas, name_order_key, name_order_prefix,
    state_change_deltas, unique_moves, unique_values,
};
use crate::validate::uniqueness_key;

struct Stored {
    user: User,
    /// The messages waiting in the user's item, one per kind (template and channel).
    messages: BTreeMap<(Template, Channel), Notification>,
}

#[derive(Default)]
struct Tables {
    users: BTreeMap<(String, String), Stored>,
    /// (tenant, field, stored value) → user id.
    unique: HashMap<(String, UniqueField, String), String>,
    tenants: BTreeMap<String, Tenant>,
    counters: HashMap<String, HashMap<String, u64>>,
    audit: Vec<AuditRecord>,
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages waiting in a user's item (what the notifier would find there).
    pub fn waiting_messages(&self, tenant_id: &str, user_id: &str) -> Vec<Notification> {
        self.tables()
            .users
            .get(&(tenant_id.to_owned(), user_id.to_owned()))
            .map(|stored| stored.messages.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn key(user: &User) -> (String, String) {
    (user.tenant_id.clone(), user.user_id.clone())
}

impl Tables {
    fn apply_counters(&mut self, tenant_id: &str, deltas: &[(String, i64)]) {
        let counters = self.counters.entry(tenant_id.to_owned()).or_default();
        for (counter, delta) in deltas {
            let value = counters.entry(counter.clone()).or_default();
            *value = value.saturating_add_signed(*delta);
        }
    }

    fn user_count(&self, tenant_id: &str) -> u64 {
        self.counters
            .get(tenant_id)
            .and_then(|counters| counters.get(USER_COUNT))
            .copied()
            .unwrap_or_default()
    }

    /// The first of `after`'s unique values, new since `before`, that another user holds.
    fn taken(&self, before: Option<&User>, after: &User) -> Option<UniqueField> {
        let (_, taken) = unique_moves(before, after);
        taken
            .into_iter()
            .find(|(field, value)| {
                self.unique
                    .get(&(after.tenant_id.clone(), *field, value.clone()))
                    .is_some_and(|holder| *holder != after.user_id)
            })
            .map(|(field, _)| field)
    }

    fn move_unique(&mut self, before: Option<&User>, after: &User) {
        let (released, taken) = unique_moves(before, after);
        for (field, value) in released {
            self.unique.remove(&(after.tenant_id.clone(), field, value));
        }
        for (field, value) in taken {
            self.unique.insert(
                (after.tenant_id.clone(), field, value),
                after.user_id.clone(),
            );
        }
    }

    fn tenant_exists(&self, tenant_id: &str) -> ApiResult<()> {
        if self.tenants.contains_key(tenant_id) {
            Ok(())
        } else {
            Err(ApiError::NotFound {
                key: "domain_id".into(),
                value: tenant_id.to_owned(),
            })
        }
    }
}

fn keep_messages(stored: &mut Stored, notifications: &[Notification]) {
    for notification in notifications {
        stored.messages.insert(
            (notification.template, notification.channel),
            notification.clone(),
        );
    }
}

impl Users for MemoryStore {
    async fn get_user(&self, tenant_id: &str, user_id: &str) -> ApiResult<Option<User>> {
        Ok(self
            .tables()
            .users
            .get(&(tenant_id.to_owned(), user_id.to_owned()))
            .map(|stored| stored.user.clone()))
    }

    async fn get_user_pair(
        &self,
        tenant_id: &str,
        first: &str,
        second: &str,
    ) -> ApiResult<(Option<User>, Option<User>)> {
        Ok((
            self.get_user(tenant_id, first).await?,
            self.get_user(tenant_id, second).await?,
        ))
    }

    async fn find_user_id(
        &self,
        tenant_id: &str,
        field: UniqueField,
        value: &str,
    ) -> ApiResult<Option<String>> {
        Ok(self
            .tables()
            .unique
            .get(&(tenant_id.to_owned(), field, uniqueness_key(value)))
            .cloned())
    }

    async fn taken_unique_value(
        &self,
        before: &User,
        after: &User,
    ) -> ApiResult<Option<UniqueField>> {
        Ok(self.tables().taken(Some(before), after))
    }

    async fn create_user(
        &self,
        user: &User,
        quota: u64,
        notifications: &[Notification],
        replacing: Option<(&User, &AuditRecord)>,
    ) -> ApiResult<()> {
        let mut tables = self.tables();
        tables.tenant_exists(&user.tenant_id)?;
        let stored = tables.users.get(&key(user)).map(|stored| &stored.user);
        let old = match (stored, replacing) {
            (None, None) => None,
            (Some(stored), Some((old, _)))
                if stored.version == old.version && stored.state == UserState::PendingDelete =>
            {
                Some(old.clone())
            }
            _ => return Err(ApiError::AlreadyExists(UniqueField::UserId)),
        };
        if let Some(field) = tables.taken(old.as_ref(), user) {
            return Err(ApiError::AlreadyExists(field));
        }
        let deltas = match &old {
            Some(old) => state_change_deltas(old, user),
            None => counter_deltas(user, 1),
        };
        if tables.user_count(&user.tenant_id) >= quota {
            return Err(ApiError::QuotaExceeded);
        }
        tables.move_unique(old.as_ref(), user);
        tables.apply_counters(&user.tenant_id, &deltas);
        if let Some((_, audit)) = replacing {
            tables.audit.push(audit.clone());
        }
        let mut stored = Stored {
            user: user.clone(),
            messages: BTreeMap::new(),
        };
        keep_messages(&mut stored, notifications);
        tables.users.insert(key(user), stored);
        Ok(())
    }

    async fn update_user(&self, change: &UserChange<'_>) -> ApiResult<()> {
        let (before, after) = (change.before, &change.after);
        let mut tables = self.tables();
        if tables
            .users
            .get(&key(before))
            .is_none_or(|stored| stored.user.version != before.version)
        {
            return Err(ApiError::ConcurrentModification);
        }
        if let Some(field) = tables.taken(Some(before), after) {
            return Err(ApiError::AlreadyExists(field));
        }
        let tenant = tables.tenants.get(&before.tenant_id);
        if change.guards_first_admin
            && tenant.is_some_and(|tenant| tenant.first_admin == before.user_id)
        {
            return Err(ApiError::FirstAdminProtected);
        }
        if change.audit.is_some() {
            tables.tenant_exists(&before.tenant_id)?;
            tables.apply_counters(&before.tenant_id, &state_change_deltas(before, after));
        }
        tables.move_unique(Some(before), after);
        if let Some(audit) = &change.audit {
            tables.audit.push(audit.clone());
        }
        let stored = tables.users.get_mut(&key(before)).expect("read above");
        stored.user = after.clone();
        keep_messages(stored, change.notifications);
        Ok(())
    }

    async fn purge_user(&self, user: &User) -> ApiResult<()> {
        let mut tables = self.tables();
        let unchanged = tables.users.get(&key(user)).is_some_and(|stored| {
            stored.user.version == user.version && stored.user.state == UserState::PendingDelete
        });
        if !unchanged {
            return Err(ApiError::ConcurrentModification);
        }
        tables.users.remove(&key(user));
        for (field, value) in unique_values(user) {
            tables
                .unique
                .remove(&(user.tenant_id.clone(), field, value));
        }
        tables.apply_counters(&user.tenant_id, &counter_deltas(user, -1));
        Ok(())
    }
}

impl LoginLedger for MemoryStore {
    async fn record_login(&self, user: &User, record: &LoginRecord) -> ApiResult<()> {
        let mut tables = self.tables();
        let Some(stored) = tables.users.get_mut(&key(user)) else {
            return Err(ApiError::ConcurrentModification);
        };
        let current = &mut stored.user;
        let lapsed_lockout = |current: &User, now| {
            current.lock.is_none()
                || (current.lock == Some(LockReason::TooManyFailures)
                    && current.locked_until.is_some_and(|until| until <= now))
        };
        match record {
            LoginRecord::Attempt {
                failed_logins,
                window_start,
                now,
            } => {
                if current.failed_logins != user.failed_logins || !lapsed_lockout(current, *now) {
                    return Err(ApiError::ConcurrentModification);
                }
                current.failed_logins = *failed_logins;
                current.failed_window_start = Some(*window_start);
            }
            LoginRecord::Lockout { until } => {
                if current.lock == Some(LockReason::Admin) {
                    return Err(ApiError::ConcurrentModification);
                }
                current.lock = Some(LockReason::TooManyFailures);
                current.locked_until = Some(*until);
                current.failed_logins = 0;
                current.failed_window_start = None;
            }
            LoginRecord::Success { at, rehashed } => {
                if current.token_version != user.token_version
                    || current.state != UserState::Enabled
                    || current.lock == Some(LockReason::Admin)
                {
                    return Err(ApiError::ConcurrentModification);
                }
                current.last_accessed_at = Some(*at);
                current.failed_logins = 0;
                current.failed_window_start = None;
                current.locked_until = None;
                current.lock = None;
                if let Some(fresh) = rehashed {
                    current.password_hash = Some(fresh.clone());
                }
            }
        }
        Ok(())
    }

    async fn probe_login(&self, _tenant_id: &str, _name: &str) -> ApiResult<()> {
        Ok(())
    }

    async fn read_login_decoy(&self, _tenant_id: &str, _name: &str) -> ApiResult<()> {
        Ok(())
    }
}

impl Tenants for MemoryStore {
    async fn get_tenant(&self, tenant_id: &str) -> ApiResult<Option<Tenant>> {
        let tables = self.tables();
        Ok(tables.tenants.get(tenant_id).cloned().map(|mut tenant| {
            tenant.user_count = tables.user_count(tenant_id);
            tenant
        }))
    }

    async fn tenant_counters(&self, tenant_id: &str) -> ApiResult<HashMap<String, u64>> {
        Ok(self
            .tables()
            .counters
            .get(tenant_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn get_user_and_counters(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> ApiResult<(Option<User>, HashMap<String, u64>)> {
        Ok((
            self.get_user(tenant_id, user_id).await?,
            self.tenant_counters(tenant_id).await?,
        ))
    }

    async fn list_tenants(&self) -> ApiResult<Vec<String>> {
        Ok(self.tables().tenants.keys().cloned().collect())
    }

    async fn create_tenant(&self, tenant: &Tenant, admin: &User) -> ApiResult<bool> {
        let mut tables = self.tables();
        if tables.tenants.contains_key(&tenant.tenant_id) {
            return Ok(false);
        }
        tables
            .tenants
            .insert(tenant.tenant_id.clone(), tenant.clone());
        tables.move_unique(None, admin);
        tables.apply_counters(&tenant.tenant_id, &counter_deltas(admin, 1));
        tables.users.insert(
            key(admin),
            Stored {
                user: admin.clone(),
                messages: BTreeMap::new(),
            },
        );
        Ok(true)
    }
}

impl Listing for MemoryStore {
    async fn list_users(&self, tenant_id: &str, source: &ListSource) -> ApiResult<Vec<User>> {
        let tables = self.tables();
        let of_tenant = || {
            tables
                .users
                .values()
                .map(|stored| &stored.user)
                .filter(|user| user.tenant_id == tenant_id)
        };
        let by_name = |users: &mut Vec<&User>, desc: bool, first: Option<usize>| {
            users.sort_by_cached_key(|user| {
                name_order_key(
                    user.display_name.as_deref().unwrap_or_default(),
                    &user.user_id,
                )
            });
            if desc {
                users.reverse();
            }
            if let Some(first) = first {
                users.truncate(first);
            }
        };
        let mut users: Vec<&User> = match source {
            ListSource::Ids(ids) => {
                let ids: Vec<&String> = ids.iter().take(LIST_KEYS_MAX).collect();
                of_tenant()
                    .filter(|user| ids.contains(&&user.user_id))
                    .collect()
            }
            ListSource::Emails(emails) => {
                let holders: Vec<&String> = emails
                    .iter()
                    .take(LIST_KEYS_MAX)
                    .filter_map(|email| {
                        tables.unique.get(&(
                            tenant_id.to_owned(),
                            UniqueField::Email,
                            uniqueness_key(email),
                        ))
                    })
                    .collect();
                of_tenant()
                    .filter(|user| holders.contains(&&user.user_id))
                    .collect()
            }
            ListSource::Names(names) => {
                let prefixes: Vec<String> = names
                    .iter()
                    .take(LIST_KEYS_MAX)
                    .map(|name| name_order_prefix(name))
                    .collect();
                let mut users: Vec<&User> = of_tenant()
                    .filter(|user| {
                        prefixes.contains(&name_order_prefix(
                            user.display_name.as_deref().unwrap_or_default(),
                        ))
                    })
                    .collect();
                by_name(&mut users, false, None);
                users
            }
            ListSource::Facets {
                facets,
                desc,
                first,
            } => {
                let mut users: Vec<&User> = of_tenant()
                    .filter(|user| facets.contains(&Facet::of(user)))
                    .collect();
                by_name(&mut users, *desc, *first);
                users
            }
            ListSource::Tenant { desc, first } => {
                let mut users: Vec<&User> = of_tenant().collect();
                by_name(&mut users, *desc, *first);
                users
            }
        };
        users.retain(|user| user.state != UserState::PendingDelete);
        Ok(users.into_iter().cloned().collect())
    }

    async fn sweep(&self, tenant_id: &str, sweep: Sweep) -> ApiResult<Vec<User>> {
        let tables = self.tables();
        Ok(tables
            .users
            .values()
            .map(|stored| &stored.user)
            .filter(|user| user.tenant_id == tenant_id)
            .filter(|user| match sweep {
                Sweep::DeletedBefore(cutoff) => {
                    user.state == UserState::PendingDelete
                        && user.deleted_at.is_some_and(|at| at < cutoff)
                }
                Sweep::PasswordChangedBefore(cutoff) => {
                    user.state == UserState::Enabled
                        && user.password_changed_at.is_some_and(|at| at < cutoff)
                        && !user.password_never_expired
                        && !user
                            .required_actions
                            .contains(&RequiredAction::UpdatePassword)
                }
            })
            .cloned()
            .collect())
    }
}

impl AuditTrail for MemoryStore {
    async fn audit_trail(&self, tenant_id: &str, user_id: &str) -> ApiResult<Vec<AuditRecord>> {
        let mut records: Vec<AuditRecord> = self
            .tables()
            .audit
            .iter()
            .filter(|record| record.tenant_id == tenant_id && record.user_id == user_id)
            .cloned()
            .collect();
        records.sort_by_key(|record| record.at);
        Ok(records)
    }
}

impl Messages for MemoryStore {
    async fn notification_pending(&self, notification: &Notification) -> ApiResult<bool> {
        let tables = self.tables();
        Ok(tables
            .users
            .get(&(notification.tenant_id.clone(), notification.user_id.clone()))
            .and_then(|stored| {
                stored
                    .messages
                    .get(&(notification.template, notification.channel))
            })
            .is_some_and(|waiting| waiting.notification_id == notification.notification_id))
    }

    async fn delete_notification(&self, notification: &Notification) -> ApiResult<()> {
        let mut tables = self.tables();
        if let Some(stored) = tables
            .users
            .get_mut(&(notification.tenant_id.clone(), notification.user_id.clone()))
        {
            let kind = (notification.template, notification.channel);
            if stored
                .messages
                .get(&kind)
                .is_some_and(|waiting| waiting.notification_id == notification.notification_id)
            {
                stored.messages.remove(&kind);
            }
        }
        Ok(())
    }
}
