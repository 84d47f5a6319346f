//! Listing and statistics over a tenant's users: which reads answer a query (by key, by index
//! partition, or the whole tenant once), and when a count comes from the maintained counters instead
//! of from reading users. What the conditions mean is `query`'s; how a user renders is the dialect's.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::ApiResult;
use crate::model::{Facet, User, UserState};
use crate::ops;
use crate::query::{self, Filter, GroupOperator, Query, Stage, StatQuery};
use crate::store::{LIST_KEYS_MAX, ListSource, UserStore, name_order_key};
use crate::token::Caller;

/// The states a listing shows: a user pending deletion is gone.
pub const VISIBLE_STATES: [UserState; 3] =
    [UserState::Enabled, UserState::Disabled, UserState::Pending];

/// The document fields that pick facets.
pub const FACET_KEYS: [&str; 3] = ["state", "user_type", "backend"];

/// Renders a user as the dialect's document (the one conditions are evaluated on).
pub type Render = fn(&User) -> Value;

/// The facets an `eq`/`in` filter on state, type and backend allows; `None` when it restricts none.
fn facets_allowed(filter: &Filter) -> Option<Vec<Facet>> {
    let allowed: Vec<Option<Vec<Value>>> = FACET_KEYS.iter().map(|k| filter.allowed(k)).collect();
    if allowed.iter().all(Option::is_none) {
        return None;
    }
    let permits = |index: usize, name: &str| {
        allowed[index]
            .as_ref()
            .is_none_or(|values| values.iter().any(|v| v.as_str() == Some(name)))
    };
    Some(
        Facet::all_of(&VISIBLE_STATES)
            .into_iter()
            .filter(|f| {
                permits(0, f.state.as_str())
                    && permits(1, f.user_type.as_str())
                    && permits(2, f.backend.as_str())
            })
            .collect(),
    )
}

/// String values an `eq`/`in` on `key` allows, when there are few enough to read by key.
fn keys_allowed(filter: &Filter, key: &str) -> Option<Vec<String>> {
    let values = filter.allowed(key)?;
    let strings: Vec<String> = values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    (strings.len() == values.len() && strings.len() <= LIST_KEYS_MAX).then_some(strings)
}

/// How a listing reads, and whether its page and count come straight from the index and counters.
struct Plan {
    source: ListSource,
    /// The filter is only facet equalities and the order is the index's: the index page is the
    /// answer's page, and the counters are its total.
    exact: Option<Vec<Facet>>,
}

fn plan(filter: &Filter, by_name: Option<bool>, wanted: Option<usize>) -> Plan {
    if let Some(ids) = keys_allowed(filter, "user_id") {
        return Plan {
            source: ListSource::Ids(ids),
            exact: None,
        };
    }
    if let Some(emails) = keys_allowed(filter, "email") {
        return Plan {
            source: ListSource::Emails(emails),
            exact: None,
        };
    }
    if let Some(names) = keys_allowed(filter, "name") {
        return Plan {
            source: ListSource::Names(names),
            exact: None,
        };
    }
    let facets = facets_allowed(filter);
    let exact = by_name.is_some() && filter.only_equalities_on(&FACET_KEYS);
    let desc = by_name.unwrap_or(false);
    let first = if exact { wanted } else { None };
    let source = match &facets {
        Some(facets) => ListSource::Facets {
            facets: facets.clone(),
            desc,
            first,
        },
        None => ListSource::Tenant { desc, first },
    };
    Plan {
        source,
        exact: exact.then(|| facets.unwrap_or_else(|| Facet::all_of(&VISIBLE_STATES))),
    }
}

fn count_of(counters: &HashMap<String, u64>, facets: &[Facet]) -> u64 {
    facets
        .iter()
        .map(|f| counters.get(&f.key()).copied().unwrap_or(0))
        .sum()
}

/// The listing's order when the query gives none or sorts by name: the name indexes' own.
fn name_order(doc: &Value) -> String {
    let text = |key| doc[key].as_str().unwrap_or_default();
    name_order_key(text("name"), text("user_id"))
}

/// `Some(desc)` when the query's order is the name indexes' own.
fn index_order(query: &Query) -> Option<bool> {
    match query.sort.as_slice() {
        [] => Some(false),
        [only] if only.key == "name" => Some(only.desc),
        _ => None,
    }
}

/// A page of users matching `query`, rendered, and the total number that match.
pub async fn list<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    query: &Query,
    render: Render,
) -> ApiResult<(Vec<Value>, u64)> {
    let wanted = query
        .page
        .filter(|p| p.limit > 0)
        .map(|p| p.start - 1 + p.limit);
    let plan = plan(&query.filter, index_order(query), wanted);
    let (docs, total) = match (&plan.exact, query.count_only) {
        (Some(facets), true) => {
            let ((), counters) =
                ops::as_admin_counting(app, caller, tenant_id, std::future::ready(Ok(()))).await?;
            (Vec::new(), count_of(&counters, facets))
        }
        (Some(facets), false) => {
            let (users, counters) = ops::as_admin_counting(
                app,
                caller,
                tenant_id,
                app.store.list_users(tenant_id, &plan.source),
            )
            .await?;
            let docs: Vec<Value> = users.iter().map(render).collect();
            (docs, count_of(&counters, facets))
        }
        (None, _) => {
            ops::as_admin(app, caller, tenant_id, async {
                let users = app.store.list_users(tenant_id, &plan.source).await?;
                let mut docs: Vec<Value> = users
                    .iter()
                    .map(render)
                    .filter(|doc| query.filter.matches(doc))
                    .collect();
                match index_order(query) {
                    Some(desc) => {
                        docs.sort_by_cached_key(name_order);
                        if desc {
                            docs.reverse();
                        }
                    }
                    None => query::sort_documents(&mut docs, &query.sort),
                }
                let total = docs.len() as u64;
                Ok((docs, total))
            })
            .await?
        }
    };
    if query.count_only {
        return Ok((Vec::new(), total));
    }
    let docs = query::page_of(docs, query.page);
    let docs = docs
        .into_iter()
        .map(|doc| match (&query.only, query.minimal) {
            (Some(only), _) => query::project(doc, only),
            (None, true) => query::project(doc, &MINIMAL.map(String::from)),
            (None, false) => doc,
        })
        .collect();
    Ok((docs, total))
}

/// What `minimal` keeps.
const MINIMAL: [&str; 4] = ["user_id", "name", "state", "user_type"];

/// The answer's rows straight from the counters, when the query is a `distinct` of a facet key, or
/// starts with a `count` or a `group` by facet keys with only counts; `None` when it needs the users.
fn rows_from_counters(
    query: &StatQuery,
    counters: &HashMap<String, u64>,
) -> Option<ApiResult<Vec<Value>>> {
    let facets = facets_allowed(&query.filter).unwrap_or_else(|| Facet::all_of(&VISIBLE_STATES));
    let facet_doc = |f: &Facet| json!({"state": f.state.as_str(), "user_type": f.user_type.as_str(), "backend": f.backend.as_str()});
    if let Some(key) = &query.distinct {
        if !FACET_KEYS.contains(&key.as_str()) {
            return None;
        }
        let present: Vec<Value> = facets
            .iter()
            .filter(|f| counters.get(&f.key()).copied().unwrap_or(0) > 0)
            .map(facet_doc)
            .collect();
        return Some(Ok(query::distinct(&present, key)));
    }
    let rows = match query.aggregate.first()? {
        // MongoDB's `$count` over no rows yields no row.
        Stage::Count { name } => match count_of(counters, &facets) {
            0 => Vec::new(),
            count => vec![json!({ name.as_str(): count })],
        },
        Stage::Group { keys, fields } => {
            let by_facets = keys
                .iter()
                .all(|k| FACET_KEYS.contains(&k.key.as_str()) && k.date_format.is_none())
                && fields
                    .iter()
                    .all(|f| f.operator == GroupOperator::Count && f.conditions.is_empty());
            if !by_facets {
                return None;
            }
            let mut groups: BTreeMap<String, (Map<String, Value>, u64)> = BTreeMap::new();
            for facet in &facets {
                let count = counters.get(&facet.key()).copied().unwrap_or(0);
                if count == 0 {
                    continue;
                }
                let doc = facet_doc(facet);
                let id: Map<String, Value> = keys
                    .iter()
                    .map(|k| (k.name.clone(), doc[k.key.as_str()].clone()))
                    .collect();
                let entry = groups
                    .entry(Value::Object(id.clone()).to_string())
                    .or_insert((id, 0));
                entry.1 += count;
            }
            groups
                .into_values()
                .map(|(mut row, count)| {
                    for field in fields {
                        row.insert(field.name.clone(), json!(count));
                    }
                    Value::Object(row)
                })
                .collect()
        }
        _ => return None,
    };
    Some(query::aggregate_after(rows, &query.aggregate, 1))
}

/// SpaceONE `stat`: the aggregate stages (or `distinct`) over the matching users, `total_count`
/// when the page has a limit.
pub async fn stat<S: UserStore>(
    app: &App<S>,
    caller: &Caller,
    tenant_id: &str,
    query: &StatQuery,
    render: Render,
) -> ApiResult<Value> {
    let counters_suffice = query.filter.only_equalities_on(&FACET_KEYS);
    let plan = plan(&query.filter, None, None);
    let from_counters = if counters_suffice {
        let ((), counters) =
            ops::as_admin_counting(app, caller, tenant_id, std::future::ready(Ok(()))).await?;
        rows_from_counters(query, &counters)
    } else {
        None
    };
    let rows = match from_counters {
        Some(rows) => rows?,
        None => {
            let from_users = async {
                let users = app.store.list_users(tenant_id, &plan.source).await?;
                let docs: Vec<Value> = users
                    .iter()
                    .map(render)
                    .filter(|doc| query.filter.matches(doc))
                    .collect();
                Ok(match &query.distinct {
                    Some(key) => query::distinct(&docs, key),
                    None => query::aggregate(docs, &query.aggregate)?,
                })
            };
            if counters_suffice {
                // The caller was checked with the counters.
                from_users.await?
            } else {
                ops::as_admin(app, caller, tenant_id, from_users).await?
            }
        }
    };
    let total = rows.len();
    let mut answer = json!({ "results": query::page_of(rows, query.page) });
    if query.page.is_some_and(|p| p.limit > 0) {
        answer["total_count"] = json!(total);
    }
    Ok(answer)
}
