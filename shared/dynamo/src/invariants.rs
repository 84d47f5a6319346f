//! The invariant checker: reads one tenant's partition as it is stored and reports whatever
//! contradicts the rules every write keeps (docs/design.md, "Invariants"). It changes nothing.
//! Housekeeping runs it on demand (`{"action": "check"}`), and the race and fault tests end with it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::ApiResult;
use crate::model::{Backend, Facet, LockReason, User, UserState};
use crate::store::unique_values;
use crate::{
    DynamoStore, Item, SK, TENANT_SK, facet_counter, message_attribute, messages_of, unique_sk,
    user_from_item, user_item,
};

/// Which rule an item breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A uniqueness record whose user does not exist.
    OrphanUniqueRecord,
    /// A uniqueness record whose user exists but no longer holds the value.
    StaleUniqueRecord,
    /// A user's unique value without a record owned by that user.
    MissingUniqueRecord,
    /// A counter of the tenant item that differs from a recount of the users.
    CounterDrift,
    /// A user item that cannot be read, sits under another key, whose fields contradict its state,
    /// or that holds a message that is not its own or not in its place.
    InvalidUser,
    /// Index keys of a user item that differ from those its fields give.
    StaleIndexKeys,
    /// Users without a tenant item, or a tenant missing from the tenant registry.
    MissingTenant,
    /// An item no write of this project makes.
    UnknownItem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    /// The item's sort key (within the tenant's partition).
    pub item: String,
    pub detail: String,
}

/// One tenant's check: what was read and what is broken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TenantCheck {
    pub tenant_id: String,
    pub items: usize,
    pub users: usize,
    pub unique_records: usize,
    pub findings: Vec<Finding>,
}

/// The counters a tenant item carries, by attribute name.
fn counters_of(item: &Item) -> BTreeMap<String, i64> {
    item.iter()
        .filter(|(name, _)| *name == "user_count" || name.starts_with("count#"))
        .map(|(name, value)| {
            let count = value
                .as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(i64::MIN);
            (name.clone(), count)
        })
        .collect()
}

/// The rules a single user's fields must keep, whatever the rest of the partition holds.
fn state_contradictions(user: &User) -> Vec<String> {
    let mut broken = Vec::new();
    if (user.state == UserState::PendingDelete) != user.deleted_at.is_some() {
        broken.push(format!(
            "state {} with deleted_at {:?}",
            user.state.as_str(),
            user.deleted_at
        ));
    }
    if user.state == UserState::Disabled && user.disabled_by.is_none() {
        broken.push("DISABLED without who disabled it".into());
    }
    if user.state == UserState::Pending && user.backend != Backend::External {
        broken.push("PENDING but not an EXTERNAL user".into());
    }
    match (user.lock, user.locked_until) {
        (Some(LockReason::TooManyFailures), None) => {
            broken.push("locked for failed logins without an end".into())
        }
        (Some(LockReason::Admin), Some(_)) => {
            broken.push("locked by an administrator with an end".into())
        }
        (None, Some(_)) => broken.push("a lock end without a lock".into()),
        _ => {}
    }
    broken
}

/// Checks one tenant's partition.
pub async fn check_tenant(store: &DynamoStore, tenant_id: &str) -> ApiResult<TenantCheck> {
    let items = store.tenant_items(tenant_id).await?;
    let mut check = TenantCheck {
        tenant_id: tenant_id.to_owned(),
        items: items.len(),
        ..TenantCheck::default()
    };
    let mut findings: Vec<Finding> = Vec::new();
    let mut finding = |rule: Rule, item: &str, detail: String| {
        findings.push(Finding {
            rule,
            item: item.to_owned(),
            detail,
        })
    };
    let mut users: Vec<(Item, User)> = Vec::new();
    // Record sort key → the user id it names.
    let mut unique: BTreeMap<String, String> = BTreeMap::new();
    let mut tenant_item: Option<Item> = None;
    for item in items {
        let sk = item
            .get(SK)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk == TENANT_SK {
            tenant_item = Some(item);
        } else if let Some(user_id) = sk.strip_prefix("U#") {
            match user_from_item(item.clone()) {
                Ok(user) if user.tenant_id != tenant_id || user.user_id != user_id => finding(
                    Rule::InvalidUser,
                    &sk,
                    format!("holds user {}/{}", user.tenant_id, user.user_id),
                ),
                Ok(user) => users.push((item, user)),
                Err(error) => finding(Rule::InvalidUser, &sk, error.to_string()),
            }
        } else if sk.starts_with("UNIQUE#") {
            match item.get("user_id").and_then(|v| v.as_s().ok()) {
                Some(owner) => {
                    unique.insert(sk, owner.clone());
                }
                None => finding(
                    Rule::UnknownItem,
                    &sk,
                    "a uniqueness record without user".into(),
                ),
            }
        } else if !sk.starts_with("AUDIT#") {
            finding(Rule::UnknownItem, &sk, "no write makes this item".into());
        }
    }
    check.users = users.len();
    check.unique_records = unique.len();

    let by_id: HashMap<&str, &User> = users
        .iter()
        .map(|(_, user)| (user.user_id.as_str(), user))
        .collect();
    let mut recount: BTreeMap<String, i64> = BTreeMap::new();
    for (item, user) in &users {
        let sk = format!("U#{}", user.user_id);
        for broken in state_contradictions(user) {
            finding(Rule::InvalidUser, &sk, broken);
        }
        match messages_of(item) {
            Ok(messages) => {
                for message in messages {
                    let attribute = message_attribute(&message);
                    let placed = item.get(&attribute).is_some_and(|held| {
                        held.as_m().ok().and_then(|m| m.get("notification_id"))
                            == Some(&aws_sdk_dynamodb::types::AttributeValue::S(
                                message.notification_id.clone(),
                            ))
                    });
                    if message.tenant_id != user.tenant_id
                        || message.user_id != user.user_id
                        || !placed
                    {
                        finding(
                            Rule::InvalidUser,
                            &sk,
                            format!(
                                "holds message {} that is not its own",
                                message.notification_id
                            ),
                        );
                    }
                }
            }
            Err(error) => finding(Rule::InvalidUser, &sk, error.to_string()),
        }
        let expected = user_item(user)?;
        for index_key in ["gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
            if item.get(index_key) != expected.get(index_key) {
                finding(
                    Rule::StaleIndexKeys,
                    &sk,
                    format!("{index_key} disagrees with the user's fields"),
                );
            }
        }
        // The quota counts the users not pending deletion (store::counter_deltas).
        if user.state != UserState::PendingDelete {
            *recount.entry("user_count".into()).or_default() += 1;
        }
        *recount.entry(facet_counter(Facet::of(user))).or_default() += 1;
        for (field, value) in unique_values(user) {
            let record = unique_sk(field, &value);
            match unique.get(&record) {
                Some(owner) if *owner == user.user_id => {}
                Some(owner) => finding(
                    Rule::MissingUniqueRecord,
                    &sk,
                    format!("{record} is owned by {owner}"),
                ),
                None => finding(Rule::MissingUniqueRecord, &sk, format!("no {record}")),
            }
        }
    }
    for (record, owner) in &unique {
        match by_id.get(owner.as_str()) {
            None => finding(
                Rule::OrphanUniqueRecord,
                record,
                format!("names missing user {owner}"),
            ),
            Some(user) => {
                let held = unique_values(user)
                    .into_iter()
                    .any(|(field, value)| unique_sk(field, &value) == *record);
                if !held {
                    finding(
                        Rule::StaleUniqueRecord,
                        record,
                        format!("{owner} no longer holds it"),
                    );
                }
            }
        }
    }

    match &tenant_item {
        None if !users.is_empty() => finding(
            Rule::MissingTenant,
            TENANT_SK,
            format!("{} users without a tenant item", users.len()),
        ),
        None => {}
        Some(item) => {
            let stored = counters_of(item);
            let names: std::collections::BTreeSet<&String> =
                stored.keys().chain(recount.keys()).collect();
            for name in names {
                let kept = stored.get(name).copied().unwrap_or(0);
                let counted = recount.get(name).copied().unwrap_or(0);
                if kept != counted {
                    finding(
                        Rule::CounterDrift,
                        TENANT_SK,
                        format!("{name} is {kept}, a recount gives {counted}"),
                    );
                }
            }
            if !store.tenant_registered(tenant_id).await? {
                finding(
                    Rule::MissingTenant,
                    TENANT_SK,
                    "not in the tenant registry (housekeeping skips it)".into(),
                );
            }
        }
    }
    findings.sort_by(|a, b| (a.rule, &a.item).cmp(&(b.rule, &b.item)));
    check.findings = findings;
    Ok(check)
}

/// A check of several tenants: the findings of each, and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub tenants: Vec<TenantCheck>,
    pub findings: usize,
}

/// Checks the given tenant, or every registered tenant.
pub async fn check(store: &DynamoStore, tenant_id: Option<&str>) -> ApiResult<CheckReport> {
    use crate::store::Tenants;
    let tenants = match tenant_id {
        Some(tenant) => vec![tenant.to_owned()],
        None => store.list_tenants().await?,
    };
    let mut report = CheckReport::default();
    for tenant in tenants {
        let tenant_check = check_tenant(store, &tenant).await?;
        report.findings += tenant_check.findings.len();
        report.tenants.push(tenant_check);
    }
    Ok(report)
}
