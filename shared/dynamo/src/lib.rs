//! The DynamoDB implementation of the store: one table, keys and layout in docs/design.md.

pub mod invariants;
mod item;

// The domain's modules under the names the store uses.
use domain::{change, error, model, notes, ops, outbox, store, validate};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use crate::change::UserChange;
use crate::error::{ApiError, ApiResult, UniqueField};
use crate::model::{AuditRecord, Facet, Millis, Tenant, User, UserState};
use crate::outbox::{Channel, Notification, Template};
use crate::store::{
    AuditTrail, LIST_KEYS_MAX, ListSource, Listing, LoginLedger, LoginRecord, Messages, Sweep,
    Tenants, USER_COUNT, Users, counter_deltas, name_order_key, name_order_prefix,
    state_change_deltas, unique_moves, unique_values,
};
use crate::validate::uniqueness_key;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Index of a tenant's users ordered by display name.
pub const BY_NAME_INDEX: &str = "by_name";
/// Index of a tenant's users by facet (state, type, backend), each ordered by display name.
pub const BY_FACET_INDEX: &str = "by_facet";

pub fn tenant_pk(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}
pub fn user_sk(user_id: &str) -> String {
    format!("U#{user_id}")
}
pub const TENANT_SK: &str = "TENANT";
/// The partition listing every tenant (one item per tenant), so housekeeping never scans.
pub const TENANT_REGISTRY_PK: &str = "TENANTS";
/// The attributes of a user item that hold its undelivered messages all start so.
pub const MESSAGE_ATTRIBUTE_PREFIX: &str = "outbox_";
/// The attribute of a user item holding its undelivered message of one template and channel (one
/// each: a newer message replaces the older, whose secret it replaces).
pub fn message_attribute(notification: &Notification) -> String {
    let template = match notification.template {
        Template::TemporaryPassword => "temporary_password",
        Template::VerificationCode => "verification_code",
        Template::PasswordLink => "password_link",
    };
    let channel = match notification.channel {
        Channel::Email => "email",
        Channel::Phone => "phone",
    };
    format!("{MESSAGE_ATTRIBUTE_PREFIX}{template}_{channel}")
}
fn message_value(notification: &Notification) -> ApiResult<AttributeValue> {
    serde_dynamo::to_attribute_value(notification)
        .map_err(|e| ApiError::Internal(format!("notification serialisation: {e}")))
}
/// The undelivered messages a user item holds.
pub fn messages_of(item: &Item) -> ApiResult<Vec<Notification>> {
    item.iter()
        .filter(|(name, _)| name.starts_with(MESSAGE_ATTRIBUTE_PREFIX))
        .map(|(_, value)| {
            serde_dynamo::from_attribute_value(value.clone())
                .map_err(|e| ApiError::Internal(format!("stored message unreadable: {e}")))
        })
        .collect()
}
/// A user's audit records sort by time; the random tail keeps two changes in one millisecond apart.
pub fn audit_sk(user_id: &str, at: Millis) -> String {
    format!(
        "{}{at:015}#{:08x}",
        audit_prefix(user_id),
        rand::random::<u32>()
    )
}
fn audit_prefix(user_id: &str) -> String {
    format!("AUDIT#{user_id}#")
}
pub fn unique_sk(field: UniqueField, value: &str) -> String {
    let kind = match field {
        UniqueField::UserId => "USER_ID",
        UniqueField::LoginName => "LOGIN",
        UniqueField::Email => "EMAIL",
        UniqueField::Phone => "PHONE",
        UniqueField::ExternalId => "EXTERNAL",
    };
    format!("UNIQUE#{kind}#{value}")
}
/// The partition of the login decoys: one for the whole table, so that logins naming tenants that do
/// not exist write nowhere else, and the decoys stay a fixed handful of items.
/// Index queries one keyed list keeps in flight at once (`ListSource::Names`).
const KEYED_QUERIES_IN_FLIGHT: usize = 10;

pub const LOGIN_DECOY_PK: &str = "LOGIN_DECOYS";
/// How many login decoys there are: failed logins for unknown names spread over them.
pub const LOGIN_DECOYS: u64 = 16;
/// About what a user item weighs (its fields, hash and index keys), so that reading a decoy costs
/// what reading a user costs.
const LOGIN_DECOY_PADDING: &str = match std::str::from_utf8(&[b'0'; 768]) {
    Ok(padding) => padding,
    Err(_) => panic!("ASCII is UTF-8"),
};

/// The decoy a login's failed attempts write to: FNV-1a of the tenant and the login name's normal
/// form.
pub fn login_decoy_key(tenant_id: &str, name: &str) -> Item {
    let hash = tenant_id
        .bytes()
        .chain([0])
        .chain(uniqueness_key(name).bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    key(
        LOGIN_DECOY_PK.to_owned(),
        format!("{:02}", hash % LOGIN_DECOYS),
    )
}

/// The counter of a facet's users in the tenant item.
pub fn facet_counter(facet: Facet) -> String {
    counter_attribute(&facet.key())
}

/// The tenant item's attribute of a counter (`store::counter_deltas`' names): `user_count`, and
/// `count#<facet>` for a facet's.
fn counter_attribute(counter: &str) -> String {
    if counter == USER_COUNT {
        counter.to_owned()
    } else {
        format!("count#{counter}")
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn user_key(tenant_id: &str, user_id: &str) -> Item {
    key(tenant_pk(tenant_id), user_sk(user_id))
}

/// The user as stored: its fields plus the table and index keys.
pub fn user_item(user: &User) -> ApiResult<Item> {
    let mut item: Item = serde_dynamo::to_item(item::StoredUser::from(user))
        .map_err(|e| ApiError::Internal(format!("user serialisation: {e}")))?;
    item.extend(user_key(&user.tenant_id, &user.user_id));
    let order = name_order_key(
        user.display_name.as_deref().unwrap_or_default(),
        &user.user_id,
    );
    item.insert("gsi1pk".into(), s(tenant_pk(&user.tenant_id)));
    item.insert("gsi1sk".into(), s(order.clone()));
    item.insert(
        "gsi2pk".into(),
        s(format!(
            "{}#{}",
            tenant_pk(&user.tenant_id),
            Facet::of(user).key()
        )),
    );
    item.insert("gsi2sk".into(), s(order));
    Ok(item)
}

/// A new user's item, holding the messages its creation sends.
fn user_item_with_messages(user: &User, notifications: &[Notification]) -> ApiResult<Item> {
    let mut item = user_item(user)?;
    for notification in notifications {
        item.insert(
            message_attribute(notification),
            message_value(notification)?,
        );
    }
    Ok(item)
}

pub fn user_from_item(item: Item) -> ApiResult<User> {
    serde_dynamo::from_item::<_, item::StoredUser>(item)
        .map(User::from)
        .map_err(|e| ApiError::Internal(format!("stored user unreadable: {e}")))
}

/// Maps an SDK failure to the API's answer: what a retry may fix is 503, the rest 500.
pub(crate) fn store_error<E, R>(err: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    // AWS's common server-side failures (`InternalFailure`, `ServiceUnavailable`) and DynamoDB's
    // own: what a retry may fix.
    const TRANSIENT: [&str; 8] = [
        "TransactionConflictException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionInProgressException",
    ];
    let transient = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT.contains(&code)),
        _ => false,
    };
    let throttled = matches!(&err, SdkError::ServiceError(service) if service.err().code().is_some_and(|code| {
        matches!(code, "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded")
    }));
    if throttled {
        crate::notes::note(|notes| notes.store_throttles += 1);
    }
    let detail = DisplayErrorContext(&err).to_string();
    if transient {
        ApiError::Unavailable(detail)
    } else {
        ApiError::Internal(detail)
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// Builds the TransactWriteItems of one change and remembers what each one guards, so that a
/// cancelled transaction answers with the right error.
#[derive(Default)]
struct Transaction {
    items: Vec<TransactWriteItem>,
    guards: Vec<Guard>,
    /// The user a `Guard::FirstAdmin` condition protects.
    protected_user: String,
}

#[derive(Debug, Clone, Copy)]
enum Guard {
    NewUser,
    /// A user pending deletion that a create replaces: someone else replaced it first.
    ReplacedUser,
    UserVersion,
    Unique(UniqueField),
    ReleaseUnique,
    /// The tenant holds fewer users than this.
    TenantQuota(u64),
    TenantExists,
    /// The change would disable or delete the tenant's first administrator.
    FirstAdmin,
    NewTenant,
    NewRecord,
    /// The message to remove is still the one in its user's item.
    WaitingMessage,
}

impl Transaction {
    fn push(&mut self, item: TransactWriteItem, guard: Guard) {
        self.items.push(item);
        self.guards.push(guard);
    }

    /// Puts an item that must not exist yet; `guard` names what a collision means.
    fn put_new(&mut self, table: &str, item: Item, guard: Guard) -> ApiResult<()> {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        self.push(TransactWriteItem::builder().put(put).build(), guard);
        Ok(())
    }

    fn put_unique(
        &mut self,
        table: &str,
        user: &User,
        field: UniqueField,
        value: &str,
    ) -> ApiResult<()> {
        let mut item = key(tenant_pk(&user.tenant_id), unique_sk(field, value));
        item.insert("user_id".into(), s(user.user_id.clone()));
        self.put_new(table, item, Guard::Unique(field))
    }

    fn put_audit(&mut self, table: &str, record: &AuditRecord) -> ApiResult<()> {
        let mut item: Item = serde_dynamo::to_item(record)
            .map_err(|e| ApiError::Internal(format!("audit serialisation: {e}")))?;
        item.extend(key(
            tenant_pk(&record.tenant_id),
            audit_sk(&record.user_id, record.at),
        ));
        self.put_new(table, item, Guard::NewRecord)
    }

    fn release_unique(
        &mut self,
        table: &str,
        user: &User,
        field: UniqueField,
        value: &str,
    ) -> ApiResult<()> {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key(
                tenant_pk(&user.tenant_id),
                unique_sk(field, value),
            )))
            .condition_expression("user_id = :me")
            .expression_attribute_values(":me", s(user.user_id.clone()))
            .build()
            .map_err(build_error)?;
        self.push(
            TransactWriteItem::builder().delete(delete).build(),
            Guard::ReleaseUnique,
        );
        Ok(())
    }

    fn update_tenant_counters(
        &mut self,
        table: &str,
        tenant_id: &str,
        deltas: &[(String, i64)],
        guard: Guard,
    ) -> ApiResult<()> {
        let additions: Vec<String> = (0..deltas.len()).map(|i| format!("#c{i} :c{i}")).collect();
        let mut update = Update::builder()
            .table_name(table)
            .set_key(Some(key(tenant_pk(tenant_id), TENANT_SK.into())))
            .update_expression(format!("ADD {}", additions.join(", ")));
        for (i, (counter, delta)) in deltas.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#c{i}"), counter_attribute(counter))
                .expression_attribute_values(format!(":c{i}"), n(delta));
        }
        update = match guard {
            Guard::TenantQuota(quota) => update
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(user_count) OR user_count < :quota)",
                )
                .expression_attribute_values(":quota", n(quota)),
            Guard::FirstAdmin => update
                .condition_expression("attribute_exists(pk) AND first_admin <> :me")
                .expression_attribute_values(":me", s(self.protected_user.clone())),
            _ => update.condition_expression("attribute_exists(pk)"),
        };
        self.push(
            TransactWriteItem::builder()
                .update(update.build().map_err(build_error)?)
                .build(),
            guard,
        );
        Ok(())
    }

    /// Guards a change that would shut the user out: it must not be the tenant's first administrator.
    fn check_not_first_admin(&mut self, table: &str, tenant_id: &str) -> ApiResult<()> {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key(tenant_pk(tenant_id), TENANT_SK.into())))
            .condition_expression("attribute_exists(pk) AND first_admin <> :me")
            .expression_attribute_values(":me", s(self.protected_user.clone()))
            .build()
            .map_err(build_error)?;
        self.push(
            TransactWriteItem::builder().condition_check(check).build(),
            Guard::FirstAdmin,
        );
        Ok(())
    }

    /// Commits the transaction. A cancellation caused only by another transaction holding one of
    /// the items (the tenant's counter item is shared by every create) is tried again a few
    /// times with jitter, then answered 503.
    async fn commit(self, client: &Client) -> Result<(), TxFailure> {
        if self.items.is_empty() {
            return Ok(());
        }
        if let ([only], [guard]) = (self.items.as_slice(), self.guards.as_slice()) {
            if let Some(result) = write_single(client, only, *guard).await {
                return result;
            }
        }
        for attempt in 0..TRANSACTION_TRIES {
            let result = client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .send()
                .await;
            let cancelled = match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(service)) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                        cancelled.clone()
                    }
                    _ => {
                        return Err(TxFailure::Store(store_error(SdkError::ServiceError(
                            service,
                        ))));
                    }
                },
                Err(other) => return Err(TxFailure::Store(store_error(other))),
            };
            let reasons = cancelled.cancellation_reasons();
            if let Some(index) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                if let Some(guard) = self.guards.get(index) {
                    return Err(TxFailure::Lost(*guard));
                }
            }
            if reasons.iter().any(|r| {
                matches!(
                    r.code(),
                    Some("ThrottlingError" | "ProvisionedThroughputExceeded")
                )
            }) {
                crate::notes::note(|notes| notes.store_throttles += 1);
            }
            let conflict = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            if conflict {
                crate::notes::note(|notes| notes.write_conflicts += 1);
            }
            if !conflict {
                return Err(TxFailure::Store(ApiError::Unavailable(format!(
                    "transaction cancelled: {cancelled}"
                ))));
            }
            let jitter = rand::random_range(5..25) * (attempt as u64 + 1);
            tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
        }
        Err(TxFailure::Store(ApiError::Unavailable(
            "transaction conflicts persisted".into(),
        )))
    }
}

/// A change of one item is written by itself, under the same condition: a single-item write is as
/// atomic as a transaction of one, at half its write units, and on DynamoDB Local 1.2 ms against
/// 2.2 ms (docs/benchmarks.md, "Round trips"). `None` for a kind of write this does not cover.
async fn write_single(
    client: &Client,
    item: &TransactWriteItem,
    guard: Guard,
) -> Option<Result<(), TxFailure>> {
    for attempt in 0..TRANSACTION_TRIES {
        let failed = if let Some(update) = item.update() {
            client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .set_condition_expression(update.condition_expression().map(str::to_owned))
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .send()
                .await
                .err()
                .map(single_write_failure)
        } else if let Some(put) = item.put() {
            client
                .put_item()
                .table_name(put.table_name())
                .set_item(Some(put.item().clone()))
                .set_condition_expression(put.condition_expression().map(str::to_owned))
                .set_expression_attribute_names(put.expression_attribute_names().cloned())
                .set_expression_attribute_values(put.expression_attribute_values().cloned())
                .send()
                .await
                .err()
                .map(single_write_failure)
        } else {
            return None;
        };
        match failed {
            None => return Some(Ok(())),
            Some(SingleWriteFailure::ConditionFailed) => return Some(Err(TxFailure::Lost(guard))),
            Some(SingleWriteFailure::Store(error)) => return Some(Err(TxFailure::Store(error))),
            // The item is part of a transaction in flight: wait as a cancelled transaction does.
            Some(SingleWriteFailure::Conflict) => {
                crate::notes::note(|notes| notes.write_conflicts += 1);
                let jitter = rand::random_range(5..25) * (attempt as u64 + 1);
                tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
            }
        }
    }
    Some(Err(TxFailure::Store(ApiError::Unavailable(
        "transaction conflicts persisted".into(),
    ))))
}

enum SingleWriteFailure {
    ConditionFailed,
    Conflict,
    Store(ApiError),
}

fn single_write_failure<E, R>(err: SdkError<E, R>) -> SingleWriteFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    let code = match &err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    };
    match code {
        Some("ConditionalCheckFailedException") => SingleWriteFailure::ConditionFailed,
        Some("TransactionConflictException") => SingleWriteFailure::Conflict,
        _ => SingleWriteFailure::Store(store_error(err)),
    }
}

/// How often a transaction cancelled by a conflict with another transaction is tried in all.
const TRANSACTION_TRIES: usize = 4;

enum TxFailure {
    /// The guard whose condition failed.
    Lost(Guard),
    Store(ApiError),
}

/// Turns a failed commit into the API error: a lost guard names its cause.
fn failure(failed: TxFailure, user: &User) -> ApiError {
    match failed {
        TxFailure::Lost(Guard::NewUser | Guard::ReplacedUser) => {
            ApiError::AlreadyExists(UniqueField::UserId)
        }
        TxFailure::Lost(Guard::Unique(field)) => ApiError::AlreadyExists(field),
        TxFailure::Lost(
            Guard::UserVersion | Guard::ReleaseUnique | Guard::NewRecord | Guard::WaitingMessage,
        ) => {
            crate::notes::note(|notes| notes.write_conflicts += 1);
            ApiError::ConcurrentModification
        }
        TxFailure::Lost(Guard::TenantQuota(_)) => ApiError::QuotaExceeded,
        TxFailure::Lost(Guard::FirstAdmin) => ApiError::FirstAdminProtected,
        TxFailure::Lost(Guard::TenantExists | Guard::NewTenant) => ApiError::NotFound {
            key: "domain_id".into(),
            value: user.tenant_id.clone(),
        },
        TxFailure::Store(error) => error,
    }
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> ApiError {
    ApiError::Internal(format!("request build: {e}"))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// `UserStore::update_user`: the user's conditional update, with what the change moves beside
    /// it in one transaction (uniqueness records, the audit record and counters of a change of
    /// state, the first-administrator guard).
    async fn write_change(&self, change: &UserChange<'_>) -> ApiResult<()> {
        let (before, after, notifications) = (change.before, &change.after, change.notifications);
        let old_item = user_item(before)?;
        let new_item = user_item(after)?;
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        for (i, (attribute, value)) in new_item.iter().enumerate() {
            if old_item.get(attribute) != Some(value) {
                names.insert(format!("#s{i}"), attribute.clone());
                values.insert(format!(":s{i}"), value.clone());
                sets.push(format!("#s{i} = :s{i}"));
            }
        }
        for (i, attribute) in old_item
            .keys()
            .filter(|a| !new_item.contains_key(*a))
            .enumerate()
        {
            names.insert(format!("#r{i}"), attribute.clone());
            removes.push(format!("#r{i}"));
        }
        // A message replaces the undelivered one of its kind (the last of a kind given here wins,
        // as in a new user's item); other kinds' messages stay.
        let messages: BTreeMap<String, &Notification> = notifications
            .iter()
            .map(|notification| (message_attribute(notification), notification))
            .collect();
        for (i, (attribute, notification)) in messages.into_iter().enumerate() {
            names.insert(format!("#m{i}"), attribute);
            values.insert(format!(":m{i}"), message_value(notification)?);
            sets.push(format!("#m{i} = :m{i}"));
        }
        names.insert("#version".into(), "version".into());
        values.insert(":expected".into(), n(before.version));
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        if expression.is_empty() {
            return Ok(());
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(&before.tenant_id, &before.user_id)))
            .update_expression(expression)
            .condition_expression("#version = :expected")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut tx = Transaction::default();
        tx.push(
            TransactWriteItem::builder().update(update).build(),
            Guard::UserVersion,
        );

        self.move_unique_records(&mut tx, before, after)?;
        let shuts_out = change.guards_first_admin;
        if shuts_out {
            tx.protected_user = before.user_id.clone();
        }
        let mut tenant_deltas = Vec::new();
        if let Some(audit) = &change.audit {
            tx.put_audit(&self.table, audit)?;
            tenant_deltas = state_change_deltas(before, after);
        }
        let guard = if shuts_out {
            Guard::FirstAdmin
        } else {
            Guard::TenantExists
        };
        if !tenant_deltas.is_empty() {
            tx.update_tenant_counters(&self.table, &before.tenant_id, &tenant_deltas, guard)?;
        } else if shuts_out {
            tx.check_not_first_admin(&self.table, &before.tenant_id)?;
        }
        tx.commit(&self.client)
            .await
            .map_err(|failed| failure(failed, before))?;
        if change.revokes_tokens() {
            crate::notes::note(|notes| notes.token_revocations += 1);
        }
        Ok(())
    }

    /// Opens the connection to DynamoDB (TCP and TLS) while the function initialises, with a read of
    /// a key no item has, so that the first request finds it open. Best effort: should it fail, the
    /// first request meets the cause and answers for it.
    pub async fn open_connection(&self) {
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key("CONNECTION".into(), "OPEN".into())))
            .send()
            .await;
        match read {
            Ok(_) => {}
            // The local stack creates its table after the app is built; deployed, the first
            // request answers for a missing table.
            Err(SdkError::ServiceError(service))
                if service.err().is_resource_not_found_exception() =>
            {
                tracing::debug!(table = %self.table, "the table does not exist yet");
            }
            Err(error) => {
                // One line: the SDK's full error context holds the whole raw response.
                let cause = std::error::Error::source(&error)
                    .map(|source| format!(": {source}"))
                    .unwrap_or_default();
                let error = match &error {
                    SdkError::ServiceError(service) => format!(
                        "{}: {}",
                        service.err().code().unwrap_or("service error"),
                        service.err().message().unwrap_or_default()
                    ),
                    other => format!("{other}{cause}"),
                };
                tracing::warn!(%error, "could not reach DynamoDB during init");
            }
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every item of a tenant's partition as stored, read consistently page by page (the invariant
    /// checker's view).
    pub(crate) async fn tenant_items(&self, tenant_id: &str) -> ApiResult<Vec<Item>> {
        self.query_partition(
            None,
            "",
            tenant_pk(tenant_id),
            None,
            false,
            None,
            IndexFilter::All,
        )
        .await
    }

    /// Whether the tenant registry lists the tenant.
    pub(crate) async fn tenant_registered(&self, tenant_id: &str) -> ApiResult<bool> {
        Ok(self
            .get_item(key(TENANT_REGISTRY_PK.into(), tenant_pk(tenant_id)))
            .await?
            .is_some())
    }

    async fn get_item(&self, item_key: Item) -> ApiResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item)
    }

    /// Reads items by key, in as many requests of at most 100 keys as needed, asking again for the
    /// keys DynamoDB leaves unprocessed under load.
    async fn batch_get(&self, keys: Vec<Item>) -> ApiResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let mut done = false;
            for _ in 0..5 {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request.clone())
                    .send()
                    .await
                    .map_err(store_error)?;
                if let Some(items) = output.responses.and_then(|mut r| r.remove(&self.table)) {
                    found.extend(items);
                }
                match output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                {
                    Some(rest) if !rest.keys.is_empty() => request = rest,
                    _ => {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                return Err(ApiError::Unavailable(
                    "the store left keys unprocessed".into(),
                ));
            }
        }
        Ok(found)
    }

    /// The users of one index partition in its order, optionally only those whose sort key starts
    /// with `prefix`, stopping once `first` users are read. Users pending deletion are left out by
    /// the query (they still cost their read).
    async fn query_index(
        &self,
        index: &str,
        key_prefix: &str,
        partition: String,
        prefix: Option<String>,
        desc: bool,
        first: Option<usize>,
    ) -> ApiResult<Vec<Item>> {
        self.query_partition(
            Some(index),
            key_prefix,
            partition,
            prefix,
            desc,
            first,
            IndexFilter::Visible,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn query_partition(
        &self,
        index: Option<&str>,
        key_prefix: &str,
        partition: String,
        prefix: Option<String>,
        desc: bool,
        first: Option<usize>,
        filter: IndexFilter,
    ) -> ApiResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let condition = if prefix.is_some() {
                "#pk = :pk AND begins_with(#sk, :prefix)"
            } else {
                "#pk = :pk"
            };
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                // The table itself reads consistently; an index cannot.
                .consistent_read(index.is_none())
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", format!("{key_prefix}pk"))
                .expression_attribute_values(":pk", s(partition.clone()))
                .scan_index_forward(!desc)
                .set_exclusive_start_key(start.take());
            query = match filter {
                IndexFilter::Visible => query
                    .filter_expression("#state <> :deleted")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":deleted", s(UserState::PendingDelete.as_str())),
                IndexFilter::All => query,
                IndexFilter::Sweep(Sweep::DeletedBefore(cutoff)) => query
                    .filter_expression("deleted_at < :cutoff")
                    .expression_attribute_values(":cutoff", n(cutoff)),
                IndexFilter::Sweep(Sweep::PasswordChangedBefore(cutoff)) => query
                    .filter_expression(
                        "password_changed_at < :cutoff \
                         AND (attribute_not_exists(password_never_expired) OR password_never_expired = :no) \
                         AND NOT contains(required_actions, :update_password)",
                    )
                    .expression_attribute_values(":cutoff", n(cutoff))
                    .expression_attribute_values(":no", AttributeValue::Bool(false))
                    .expression_attribute_values(":update_password", s("UPDATE_PASSWORD")),
            };
            if let Some(prefix) = &prefix {
                query = query
                    .expression_attribute_names("#sk", format!("{key_prefix}sk"))
                    .expression_attribute_values(":prefix", s(prefix.clone()));
            }
            if let Some(first) = first {
                let wanted = first.saturating_sub(items.len()).clamp(1, 1000);
                query = query.limit(wanted as i32);
            }
            let output = query.send().await.map_err(store_error)?;
            items.extend(output.items.unwrap_or_default());
            if first.is_some_and(|first| items.len() >= first) {
                items.truncate(first.unwrap_or_default());
                return Ok(items);
            }
            match output.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(items),
            }
        }
    }

    /// Releases the unique values `before` held and `after` drops, and claims the new ones.
    fn move_unique_records(
        &self,
        tx: &mut Transaction,
        before: &User,
        after: &User,
    ) -> ApiResult<()> {
        let (released, taken) = unique_moves(Some(before), after);
        for (field, value) in &released {
            tx.release_unique(&self.table, before, *field, value)?;
        }
        for (field, value) in &taken {
            tx.put_unique(&self.table, after, *field, value)?;
        }
        Ok(())
    }

    fn put_new_user(
        &self,
        tx: &mut Transaction,
        user: &User,
        notifications: &[Notification],
    ) -> ApiResult<()> {
        tx.put_new(
            &self.table,
            user_item_with_messages(user, notifications)?,
            Guard::NewUser,
        )?;
        for (field, value) in unique_values(user) {
            tx.put_unique(&self.table, user, field, &value)?;
        }
        Ok(())
    }
}

/// The maintained counters of a tenant item: `user_count` and one per facet.
fn counters_of(tenant_item: Item) -> HashMap<String, u64> {
    tenant_item
        .into_iter()
        .filter(|(name, _)| name == USER_COUNT || name.starts_with("count#"))
        .filter_map(|(name, value)| {
            let count = value.as_n().ok()?.parse::<i64>().ok()?;
            Some((
                name.strip_prefix("count#").unwrap_or(&name).to_owned(),
                count.max(0) as u64,
            ))
        })
        .collect()
}

/// Which items of a partition a query keeps.
#[derive(Debug, Clone, Copy)]
enum IndexFilter {
    /// Users that are not pending deletion.
    Visible,
    All,
    Sweep(Sweep),
}

impl Users for DynamoStore {
    async fn get_user(&self, tenant_id: &str, user_id: &str) -> ApiResult<Option<User>> {
        self.get_item(user_key(tenant_id, user_id))
            .await?
            .map(user_from_item)
            .transpose()
    }

    async fn get_user_pair(
        &self,
        tenant_id: &str,
        first: &str,
        second: &str,
    ) -> ApiResult<(Option<User>, Option<User>)> {
        if first == second {
            let user = self.get_user(tenant_id, first).await?;
            return Ok((user.clone(), user));
        }
        let found: Vec<User> = self
            .batch_get(vec![
                user_key(tenant_id, first),
                user_key(tenant_id, second),
            ])
            .await?
            .into_iter()
            .map(user_from_item)
            .collect::<ApiResult<_>>()?;
        let pick = |id: &str| found.iter().find(|u| u.user_id == id).cloned();
        Ok((pick(first), pick(second)))
    }

    async fn find_user_id(
        &self,
        tenant_id: &str,
        field: UniqueField,
        value: &str,
    ) -> ApiResult<Option<String>> {
        if crate::validate::fits_uniqueness_key(field.key(), value).is_err() {
            return Ok(None);
        }
        let item_key = key(
            tenant_pk(tenant_id),
            unique_sk(field, &uniqueness_key(value)),
        );
        Ok(self
            .get_item(item_key)
            .await?
            .and_then(|mut item| item.remove("user_id"))
            .and_then(|value| value.as_s().ok().cloned()))
    }

    async fn taken_unique_value(
        &self,
        before: &User,
        after: &User,
    ) -> ApiResult<Option<UniqueField>> {
        let (_, new) = unique_moves(Some(before), after);
        if new.is_empty() {
            return Ok(None);
        }
        let sort_key = |(field, value): &(UniqueField, String)| unique_sk(*field, value);
        let holders = self
            .batch_get(
                new.iter()
                    .map(|value| key(tenant_pk(&after.tenant_id), sort_key(value)))
                    .collect(),
            )
            .await?;
        let held_by_another = |value: &(UniqueField, String)| {
            let sk = s(sort_key(value));
            holders.iter().any(|item| {
                item.get(SK) == Some(&sk) && item.get("user_id") != Some(&s(after.user_id.clone()))
            })
        };
        Ok(new.iter().find(|value| held_by_another(value)).map(|v| v.0))
    }

    async fn create_user(
        &self,
        user: &User,
        quota: u64,
        notifications: &[Notification],
        replacing: Option<(&User, &AuditRecord)>,
    ) -> ApiResult<()> {
        let mut tx = Transaction::default();
        let deltas = match replacing {
            None => {
                self.put_new_user(&mut tx, user, notifications)?;
                counter_deltas(user, 1)
            }
            Some((old, audit)) => {
                tx.put_audit(&self.table, audit)?;
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(user_item_with_messages(user, notifications)?))
                    .condition_expression("#version = :expected AND #state = :pending_delete")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":expected", n(old.version))
                    .expression_attribute_values(
                        ":pending_delete",
                        s(UserState::PendingDelete.as_str()),
                    )
                    .build()
                    .map_err(build_error)?;
                tx.push(
                    TransactWriteItem::builder().put(put).build(),
                    Guard::ReplacedUser,
                );
                self.move_unique_records(&mut tx, old, user)?;
                state_change_deltas(old, user)
            }
        };
        tx.update_tenant_counters(
            &self.table,
            &user.tenant_id,
            &deltas,
            Guard::TenantQuota(quota),
        )?;
        tx.commit(&self.client)
            .await
            .map_err(|failed| failure(failed, user))
    }

    async fn update_user(&self, change: &UserChange<'_>) -> ApiResult<()> {
        self.write_change(change).await
    }

    async fn purge_user(&self, user: &User) -> ApiResult<()> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(&user.tenant_id, &user.user_id)))
            .condition_expression("#version = :expected AND #state = :pending_delete")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":expected", n(user.version))
            .expression_attribute_values(":pending_delete", s(UserState::PendingDelete.as_str()))
            .build()
            .map_err(build_error)?;
        let mut tx = Transaction::default();
        tx.push(
            TransactWriteItem::builder().delete(delete).build(),
            Guard::UserVersion,
        );
        for (field, value) in unique_values(user) {
            tx.release_unique(&self.table, user, field, &value)?;
        }
        tx.update_tenant_counters(
            &self.table,
            &user.tenant_id,
            &counter_deltas(user, -1),
            Guard::TenantExists,
        )?;
        tx.commit(&self.client)
            .await
            .map_err(|failed| failure(failed, user))
    }
}

impl LoginLedger for DynamoStore {
    async fn record_login(&self, user: &User, record: &LoginRecord) -> ApiResult<()> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(&user.tenant_id, &user.user_id)))
            .expression_attribute_names("#failed", "failed_logins")
            .expression_attribute_names("#lock", "lock")
            .expression_attribute_values(":too_many", s("TOO_MANY_FAILURES"));
        let request = match record {
            LoginRecord::Attempt { failed_logins, window_start, now } => request
                .update_expression("SET #failed = :count, failed_window_start = :window")
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#failed) OR #failed = :previous) \
                     AND (attribute_not_exists(#lock) OR (#lock = :too_many AND locked_until <= :now))",
                )
                .expression_attribute_values(":count", n(failed_logins))
                .expression_attribute_values(":window", n(window_start))
                .expression_attribute_values(":previous", n(user.failed_logins))
                .expression_attribute_values(":now", n(now)),
            LoginRecord::Lockout { until } => request
                .update_expression("SET #lock = :too_many, locked_until = :until, #failed = :zero REMOVE failed_window_start")
                .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#lock) OR #lock = :too_many)")
                .expression_attribute_values(":until", n(until))
                .expression_attribute_values(":zero", n(0)),
            LoginRecord::Success { at, rehashed } => {
                let mut set = "SET last_accessed_at = :at, #failed = :zero".to_owned();
                let mut request = request
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":at", n(at))
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":tv", n(user.token_version))
                    .expression_attribute_values(":enabled", s(UserState::Enabled.as_str()));
                if let Some(fresh) = rehashed {
                    set.push_str(", password_hash = :fresh");
                    request = request.expression_attribute_values(":fresh", s(fresh.clone()));
                }
                request
                    .update_expression(format!("{set} REMOVE failed_window_start, locked_until, #lock"))
                    .condition_expression(
                        "attribute_exists(pk) AND token_version = :tv AND #state = :enabled \
                         AND (attribute_not_exists(#lock) OR #lock = :too_many)",
                    )
            }
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service))
                if service.err().is_conditional_check_failed_exception() =>
            {
                crate::notes::note(|notes| notes.write_conflicts += 1);
                Err(ApiError::ConcurrentModification)
            }
            Err(other) => Err(store_error(other)),
        }
    }

    async fn probe_login(&self, tenant_id: &str, name: &str) -> ApiResult<()> {
        let now = crate::ops::now();
        // The shape of a counted attempt (`record_login`): a SET under a condition that holds.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(login_decoy_key(tenant_id, name)))
            .update_expression(
                "SET #failed = :count, failed_window_start = :window, decoy = if_not_exists(decoy, :padding)",
            )
            .condition_expression("attribute_not_exists(#lock) OR locked_until <= :now")
            .expression_attribute_names("#failed", "failed_logins")
            .expression_attribute_names("#lock", "lock")
            .expression_attribute_values(":count", n(1))
            .expression_attribute_values(":window", n(now))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":padding", s(LOGIN_DECOY_PADDING))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn read_login_decoy(&self, tenant_id: &str, name: &str) -> ApiResult<()> {
        // Read and decoded as a user would be; that it is none is the expected answer.
        if let Some(item) = self.get_item(login_decoy_key(tenant_id, name)).await? {
            let _ = user_from_item(item);
        }
        Ok(())
    }
}

impl Tenants for DynamoStore {
    async fn get_tenant(&self, tenant_id: &str) -> ApiResult<Option<Tenant>> {
        self.get_item(key(tenant_pk(tenant_id), TENANT_SK.into()))
            .await?
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|e| ApiError::Internal(format!("stored tenant unreadable: {e}")))
            })
            .transpose()
    }

    async fn tenant_counters(&self, tenant_id: &str) -> ApiResult<HashMap<String, u64>> {
        let item = self
            .get_item(key(tenant_pk(tenant_id), TENANT_SK.into()))
            .await?
            .unwrap_or_default();
        Ok(counters_of(item))
    }

    async fn get_user_and_counters(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> ApiResult<(Option<User>, HashMap<String, u64>)> {
        let tenant_key = key(tenant_pk(tenant_id), TENANT_SK.into());
        let mut user = None;
        let mut counters = HashMap::new();
        for item in self
            .batch_get(vec![user_key(tenant_id, user_id), tenant_key])
            .await?
        {
            if item
                .get(SK)
                .and_then(|sk| sk.as_s().ok())
                .map(String::as_str)
                == Some(TENANT_SK)
            {
                counters = counters_of(item);
            } else {
                user = Some(user_from_item(item)?);
            }
        }
        Ok((user, counters))
    }

    async fn list_tenants(&self) -> ApiResult<Vec<String>> {
        let items = self
            .query_partition(
                None,
                "",
                TENANT_REGISTRY_PK.into(),
                None,
                false,
                None,
                IndexFilter::All,
            )
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|mut item| item.remove("tenant_id"))
            .filter_map(|id| id.as_s().ok().cloned())
            .collect())
    }

    async fn create_tenant(&self, tenant: &Tenant, admin: &User) -> ApiResult<bool> {
        let mut item: Item = serde_dynamo::to_item(tenant)
            .map_err(|e| ApiError::Internal(format!("tenant serialisation: {e}")))?;
        item.extend(key(tenant_pk(&tenant.tenant_id), TENANT_SK.into()));
        for (counter, delta) in counter_deltas(admin, 1) {
            item.insert(counter_attribute(&counter), n(delta));
        }
        let mut tx = Transaction::default();
        tx.put_new(&self.table, item, Guard::NewTenant)?;
        let mut registration = key(TENANT_REGISTRY_PK.into(), tenant_pk(&tenant.tenant_id));
        registration.insert("tenant_id".into(), s(tenant.tenant_id.clone()));
        tx.put_new(&self.table, registration, Guard::NewTenant)?;
        self.put_new_user(&mut tx, admin, &[])?;
        match tx.commit(&self.client).await {
            Ok(()) => Ok(true),
            Err(TxFailure::Lost(Guard::NewTenant)) => Ok(false),
            Err(failed) => Err(failure(failed, admin)),
        }
    }
}

impl Listing for DynamoStore {
    async fn list_users(&self, tenant_id: &str, source: &ListSource) -> ApiResult<Vec<User>> {
        let pk = tenant_pk(tenant_id);
        let items = match source {
            ListSource::Ids(ids) => {
                // Ids no user can have match nothing (and no key could hold them).
                let ids: BTreeSet<&String> = ids
                    .iter()
                    .filter(|id| crate::validate::user_id(id).is_ok())
                    .take(LIST_KEYS_MAX)
                    .collect();
                self.batch_get(ids.into_iter().map(|id| user_key(tenant_id, id)).collect())
                    .await?
            }
            ListSource::Emails(emails) => {
                let addresses: BTreeSet<String> = emails
                    .iter()
                    .filter(|e| crate::validate::fits_uniqueness_key("email", e).is_ok())
                    .map(|e| uniqueness_key(e))
                    .take(LIST_KEYS_MAX)
                    .collect();
                let unique_keys = addresses
                    .iter()
                    .map(|e| key(pk.clone(), unique_sk(UniqueField::Email, e)))
                    .collect();
                let ids: Vec<Item> = self
                    .batch_get(unique_keys)
                    .await?
                    .into_iter()
                    .filter_map(|mut item| item.remove("user_id"))
                    .filter_map(|id| id.as_s().ok().map(|id| user_key(tenant_id, id)))
                    .collect();
                self.batch_get(ids).await?
            }
            ListSource::Names(names) => {
                use futures_util::{StreamExt, TryStreamExt};
                let prefixes: BTreeSet<String> = names
                    .iter()
                    .take(LIST_KEYS_MAX)
                    .map(|name| format!("{}#", name_order_prefix(name)))
                    .collect();
                // One query per name, a few at a time: side by side they take one query's time
                // (100 in a row took 390 ms), and a bounded number in flight keeps one request from
                // taking the table's read capacity in a burst.
                futures_util::stream::iter(prefixes)
                    .map(|prefix| {
                        self.query_index(
                            BY_NAME_INDEX,
                            "gsi1",
                            pk.clone(),
                            Some(prefix),
                            false,
                            None,
                        )
                    })
                    .buffered(KEYED_QUERIES_IN_FLIGHT)
                    .try_concat()
                    .await?
            }
            ListSource::Facets {
                facets,
                desc,
                first,
            } => {
                let queries = facets.iter().map(|facet| {
                    self.query_index(
                        BY_FACET_INDEX,
                        "gsi2",
                        format!("{pk}#{}", facet.key()),
                        None,
                        *desc,
                        *first,
                    )
                });
                let mut items: Vec<Item> = futures_util::future::try_join_all(queries)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect();
                let order = |item: &Item| {
                    item.get("gsi2sk")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                items.sort_by_cached_key(order);
                if *desc {
                    items.reverse();
                }
                if let Some(first) = first {
                    items.truncate(*first);
                }
                items
            }
            ListSource::Tenant { desc, first } => {
                self.query_index(BY_NAME_INDEX, "gsi1", pk, None, *desc, *first)
                    .await?
            }
        };
        items
            .into_iter()
            .map(user_from_item)
            .filter(|user| {
                user.as_ref()
                    .map_or(true, |u| u.state != UserState::PendingDelete)
            })
            .collect()
    }

    async fn sweep(&self, tenant_id: &str, sweep: Sweep) -> ApiResult<Vec<User>> {
        let states = match sweep {
            Sweep::DeletedBefore(_) => [UserState::PendingDelete],
            Sweep::PasswordChangedBefore(_) => [UserState::Enabled],
        };
        let mut users = Vec::new();
        for facet in Facet::all_of(&states) {
            let items = self
                .query_partition(
                    Some(BY_FACET_INDEX),
                    "gsi2",
                    format!("{}#{}", tenant_pk(tenant_id), facet.key()),
                    None,
                    false,
                    None,
                    IndexFilter::Sweep(sweep),
                )
                .await?;
            for item in items {
                users.push(user_from_item(item)?);
            }
        }
        Ok(users)
    }
}

impl AuditTrail for DynamoStore {
    async fn audit_trail(&self, tenant_id: &str, user_id: &str) -> ApiResult<Vec<AuditRecord>> {
        self.query_partition(
            None,
            "",
            tenant_pk(tenant_id),
            Some(audit_prefix(user_id)),
            false,
            None,
            IndexFilter::All,
        )
        .await?
        .into_iter()
        .map(|item| {
            serde_dynamo::from_item(item)
                .map_err(|e| ApiError::Internal(format!("audit record unreadable: {e}")))
        })
        .collect()
    }
}

impl Messages for DynamoStore {
    async fn notification_pending(&self, notification: &Notification) -> ApiResult<bool> {
        let attribute = message_attribute(notification);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(user_key(
                &notification.tenant_id,
                &notification.user_id,
            )))
            .consistent_read(true)
            .projection_expression("#message.notification_id")
            .expression_attribute_names("#message", &attribute)
            .send()
            .await
            .map_err(store_error)?;
        let waiting_id = output
            .item
            .and_then(|mut item| item.remove(&attribute))
            .and_then(|message| message.as_m().ok()?.get("notification_id").cloned());
        Ok(
            waiting_id.as_ref().and_then(|id| id.as_s().ok())
                == Some(&notification.notification_id),
        )
    }

    async fn delete_notification(&self, notification: &Notification) -> ApiResult<()> {
        let remove = Update::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(
                &notification.tenant_id,
                &notification.user_id,
            )))
            .update_expression("REMOVE #message")
            .condition_expression("#message.notification_id = :id")
            .expression_attribute_names("#message", message_attribute(notification))
            .expression_attribute_values(":id", s(notification.notification_id.clone()))
            .build()
            .map_err(build_error)?;
        // A single write: it waits out a transaction in flight on the user (a failure here after
        // the message went out would have the retry send it again).
        let mut tx = Transaction::default();
        tx.push(
            TransactWriteItem::builder().update(remove).build(),
            Guard::WaitingMessage,
        );
        match tx.commit(&self.client).await {
            // Replaced by a newer message, or its user deleted, meanwhile: nothing left to remove.
            Ok(()) | Err(TxFailure::Lost(_)) => Ok(()),
            Err(TxFailure::Store(error)) => Err(error),
        }
    }
}
