//! SpaceONE's generic `Query` (list) and `StatisticsQuery` (stat), evaluated over `UserInfo`
//! documents. Which documents are read, and whether a page or a count can come straight from an
//! index or a counter, is the store's choice (`store::ListPlan`); the meaning is decided here, once.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::http::{Empty, Fields};

/// Longest key or regular expression a query may carry.
const KEY_MAX: usize = 256;
const REGEX_MAX: usize = 1024;
/// Largest page a list answers; larger asks are refused rather than silently cut.
pub const PAGE_LIMIT_MAX: usize = 1000;
const PAGE_START_MAX: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Not,
    Lt,
    Lte,
    Gt,
    Gte,
    Exists,
    Contain,
    NotContain,
    In,
    NotIn,
    ContainIn,
    NotContainIn,
    Regex,
    DatetimeLt,
    DatetimeLte,
    DatetimeGt,
    DatetimeGte,
}

impl Operator {
    fn parse(raw: &str) -> Option<Operator> {
        Some(match raw {
            "eq" => Operator::Eq,
            "not" => Operator::Not,
            "lt" => Operator::Lt,
            "lte" => Operator::Lte,
            "gt" => Operator::Gt,
            "gte" => Operator::Gte,
            "exists" => Operator::Exists,
            "contain" => Operator::Contain,
            "not_contain" => Operator::NotContain,
            "in" => Operator::In,
            "not_in" => Operator::NotIn,
            "contain_in" => Operator::ContainIn,
            "not_contain_in" => Operator::NotContainIn,
            "regex" => Operator::Regex,
            "datetime_lt" => Operator::DatetimeLt,
            "datetime_lte" => Operator::DatetimeLte,
            "datetime_gt" => Operator::DatetimeGt,
            "datetime_gte" => Operator::DatetimeGte,
            _ => return None,
        })
    }

    fn takes_list(self) -> bool {
        matches!(
            self,
            Operator::In | Operator::NotIn | Operator::ContainIn | Operator::NotContainIn
        )
    }
}

/// One `{k, v, o}` condition, with its value prepared for evaluation.
#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub operator: Operator,
    pub value: Value,
    regex: Option<regex_lite::Regex>,
    datetime: Option<i64>,
}

impl Condition {
    /// An equality condition, as the direct fields of `UserQuery` give them.
    pub fn equals(key: &str, value: Value) -> Condition {
        let operator = if value.is_array() {
            Operator::In
        } else {
            Operator::Eq
        };
        Condition {
            key: key.to_owned(),
            operator,
            value,
            regex: None,
            datetime: None,
        }
    }

    /// The values this condition allows for `key` when it is an `eq` or `in` on it.
    pub fn allowed_values(&self, key: &str) -> Option<Vec<&Value>> {
        if self.key != key {
            return None;
        }
        match (self.operator, &self.value) {
            (Operator::Eq, value) => Some(vec![value]),
            (Operator::In, Value::Array(values)) => Some(values.iter().collect()),
            _ => None,
        }
    }

    pub fn matches(&self, doc: &Value) -> bool {
        let field = lookup(doc, &self.key);
        match self.operator {
            Operator::Eq => equals(field, &self.value),
            Operator::Not => !equals(field, &self.value),
            Operator::In => list(&self.value).iter().any(|v| equals(field, v)),
            Operator::NotIn => !list(&self.value).iter().any(|v| equals(field, v)),
            Operator::Lt => compare(field, &self.value).is_some_and(Ordering::is_lt),
            Operator::Lte => compare(field, &self.value).is_some_and(Ordering::is_le),
            Operator::Gt => compare(field, &self.value).is_some_and(Ordering::is_gt),
            Operator::Gte => compare(field, &self.value).is_some_and(Ordering::is_ge),
            Operator::Exists => {
                let present = field.is_some_and(|f| !f.is_null());
                present == self.value.as_bool().unwrap_or(true)
            }
            Operator::Contain => contains(field, &self.value),
            Operator::NotContain => !contains(field, &self.value),
            Operator::ContainIn => list(&self.value).iter().any(|v| contains(field, v)),
            Operator::NotContainIn => !list(&self.value).iter().any(|v| contains(field, v)),
            Operator::Regex => {
                let regex = self.regex.as_ref().expect("compiled when parsed");
                scalars(field).any(|v| v.as_str().is_some_and(|s| regex.is_match(s)))
            }
            Operator::DatetimeLt
            | Operator::DatetimeLte
            | Operator::DatetimeGt
            | Operator::DatetimeGte => {
                let bound = self.datetime.expect("parsed when parsed");
                let Some(at) = field.and_then(Value::as_str).and_then(parse_datetime) else {
                    return false;
                };
                match self.operator {
                    Operator::DatetimeLt => at < bound,
                    Operator::DatetimeLte => at <= bound,
                    Operator::DatetimeGt => at > bound,
                    _ => at >= bound,
                }
            }
        }
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A field's values: the elements of a list, or the value itself.
fn scalars(field: Option<&Value>) -> Box<dyn Iterator<Item = &Value> + '_> {
    match field {
        Some(Value::Array(items)) => Box::new(items.iter()),
        Some(value) => Box::new(std::iter::once(value)),
        None => Box::new(std::iter::empty()),
    }
}

/// A dotted key (`tags.team`) in a document.
pub fn lookup<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(doc, |value, part| value.get(part))
}

fn equals(field: Option<&Value>, wanted: &Value) -> bool {
    if wanted.is_null() {
        return field.is_none_or(Value::is_null);
    }
    scalars(field).any(|v| same(v, wanted)) || field.is_some_and(|f| f == wanted)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn compare(field: Option<&Value>, bound: &Value) -> Option<Ordering> {
    order(field?, bound)
}

/// Numbers with numbers, strings with strings (ISO times compare as text), booleans with booleans.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn contains(field: Option<&Value>, needle: &Value) -> bool {
    let needle = match needle {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    };
    scalars(field).any(|v| match v {
        Value::String(s) => s.to_lowercase().contains(&needle),
        Value::Number(n) => n.to_string().contains(&needle),
        _ => false,
    })
}

/// An ISO 8601 time or date (`2023-01-02`, `2023-01-02T03:04:05Z`, with or without a fraction) as
/// epoch milliseconds.
pub fn parse_datetime(text: &str) -> Option<i64> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(at.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc().timestamp_millis())
}

fn check_key(key: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::RequiredParameter(key.to_owned()));
    }
    if value.chars().count() > KEY_MAX || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            key,
            format!("a field name of at most {KEY_MAX} characters"),
        ));
    }
    Ok(())
}

fn parse_condition(value: Value, at: &str) -> ApiResult<Condition> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(
            at,
            "each condition is an object {k, v, o}",
        ));
    };
    let mut fields = Fields::from_map(map, format!("{at}."), Empty::IsValue);
    let key = match fields.string("k")? {
        Some(key) => key,
        None => fields
            .string("key")?
            .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.k")))?,
    };
    let raw_value = match fields.take("v") {
        Some(value) => Some(value),
        None => fields.take("value"),
    };
    let raw_operator = match fields.string("o")? {
        Some(operator) => Some(operator),
        None => fields.string("operator")?,
    };
    fields.finish()?;
    check_key(&format!("{at}.k"), &key)?;
    let operator_text = raw_operator.unwrap_or_else(|| "eq".into());
    let operator = Operator::parse(&operator_text).ok_or_else(|| {
        ApiError::invalid(
            &format!("{at}.o"),
            format!("unknown operator {operator_text:?}"),
        )
    })?;
    let value = raw_value.unwrap_or(Value::Null);
    let value_key = format!("{at}.v");
    match (operator.takes_list(), &value) {
        (true, Value::Array(_)) | (false, Value::Null) => {}
        (true, _) => {
            return Err(ApiError::invalid(
                &value_key,
                format!("operator {operator_text} takes a list"),
            ));
        }
        (false, Value::Array(_)) => {
            return Err(ApiError::invalid(
                &value_key,
                format!("operator {operator_text} takes a single value, not a list"),
            ));
        }
        (false, _) => {}
    }
    let mut condition = Condition {
        key,
        operator,
        value,
        regex: None,
        datetime: None,
    };
    match operator {
        Operator::Regex => {
            let pattern = condition
                .value
                .as_str()
                .filter(|p| p.len() <= REGEX_MAX)
                .ok_or_else(|| {
                    ApiError::invalid(
                        &value_key,
                        format!("a regular expression of at most {REGEX_MAX} bytes"),
                    )
                })?;
            let regex = regex_lite::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    ApiError::invalid(&value_key, format!("bad regular expression: {e}"))
                })?;
            condition.regex = Some(regex);
        }
        Operator::DatetimeLt
        | Operator::DatetimeLte
        | Operator::DatetimeGt
        | Operator::DatetimeGte => {
            condition.datetime = Some(
                condition
                    .value
                    .as_str()
                    .and_then(parse_datetime)
                    .ok_or_else(|| ApiError::invalid(&value_key, "an ISO 8601 date or time"))?,
            );
        }
        Operator::Exists if !condition.value.is_boolean() && !condition.value.is_null() => {
            return Err(ApiError::invalid(&value_key, "exists takes true or false"));
        }
        _ => {}
    }
    Ok(condition)
}

fn parse_conditions(fields: &mut Fields, key: &str) -> ApiResult<Vec<Condition>> {
    match fields.take(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| parse_condition(item, &format!("query.{key}[{i}]")))
            .collect(),
        Some(_) => Err(ApiError::invalid(
            &format!("query.{key}"),
            "a list of conditions",
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub key: String,
    pub desc: bool,
}

fn parse_sort_entry(value: Value, at: &str) -> ApiResult<Sort> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(at, "{key, desc}"));
    };
    let mut fields = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
    let key = fields
        .string("key")?
        .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.key")))?;
    let desc = fields.boolean("desc")?.unwrap_or(false);
    fields.finish()?;
    check_key(&format!("{at}.key"), &key)?;
    Ok(Sort { key, desc })
}

/// `sort` as `{key, desc}`, a list of them, or `{keys: [...]}` (newer clients).
fn parse_sort(value: Option<Value>, at: &str) -> ApiResult<Vec<Sort>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| parse_sort_entry(item, at))
            .collect(),
        Some(Value::Object(mut map)) if map.contains_key("keys") => {
            parse_sort(map.remove("keys"), at)
        }
        Some(other) => Ok(vec![parse_sort_entry(other, at)?]),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    /// 1-based.
    pub start: usize,
    /// 0: no limit.
    pub limit: usize,
}

fn parse_page(fields: &mut Fields) -> ApiResult<Option<Page>> {
    let Some(mut page) = fields.nested("page", Empty::IsValue)? else {
        return Ok(None);
    };
    let start = page.integer("start")?.unwrap_or(1);
    let limit = page.integer("limit")?.unwrap_or(0);
    page.finish()?;
    if !(1..=PAGE_START_MAX as i64).contains(&start) {
        return Err(ApiError::invalid(
            "query.page.start",
            format!("from 1 to {PAGE_START_MAX}"),
        ));
    }
    if !(0..=PAGE_LIMIT_MAX as i64).contains(&limit) {
        return Err(ApiError::invalid(
            "query.page.limit",
            format!("from 0 (no limit) to {PAGE_LIMIT_MAX}"),
        ));
    }
    Ok(Some(Page {
        start: start as usize,
        limit: limit as usize,
    }))
}

/// The keyword's words, lower-cased: a document matches when any of them is part of one of the
/// keyword fields.
fn parse_keyword(fields: &mut Fields) -> ApiResult<Vec<String>> {
    Ok(fields
        .string("keyword")?
        .map(|k| k.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default())
}

/// The filters every query kind shares.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// All must hold.
    pub all: Vec<Condition>,
    /// One must hold, when there are any.
    pub any: Vec<Condition>,
    pub keyword: Vec<String>,
}

/// The fields a keyword searches.
pub const KEYWORD_FIELDS: [&str; 3] = ["user_id", "name", "email"];

impl Filter {
    pub fn matches(&self, doc: &Value) -> bool {
        self.all.iter().all(|c| c.matches(doc))
            && (self.any.is_empty() || self.any.iter().any(|c| c.matches(doc)))
            && (self.keyword.is_empty()
                || self.keyword.iter().any(|word| {
                    KEYWORD_FIELDS.iter().any(|key| {
                        lookup(doc, key)
                            .and_then(Value::as_str)
                            .is_some_and(|s| s.to_lowercase().contains(word))
                    })
                }))
    }

    /// Whether only `eq`/`in` conditions on the given keys remain (an index or counter can answer).
    pub fn only_equalities_on(&self, keys: &[&str]) -> bool {
        self.any.is_empty()
            && self.keyword.is_empty()
            && self
                .all
                .iter()
                .all(|c| keys.iter().any(|k| c.allowed_values(k).is_some()))
    }

    /// The values allowed for `key` by every `eq`/`in` on it (`None`: unrestricted).
    pub fn allowed(&self, key: &str) -> Option<Vec<Value>> {
        let mut allowed: Option<Vec<Value>> = None;
        for values in self.all.iter().filter_map(|c| c.allowed_values(key)) {
            let values: Vec<Value> = values.into_iter().cloned().collect();
            allowed = Some(match allowed {
                None => values,
                Some(before) => before.into_iter().filter(|v| values.contains(v)).collect(),
            });
        }
        allowed
    }
}

fn parse_filter(fields: &mut Fields) -> ApiResult<Filter> {
    Ok(Filter {
        all: parse_conditions(fields, "filter")?,
        any: parse_conditions(fields, "filter_or")?,
        keyword: parse_keyword(fields)?,
    })
}

/// The generic `Query` of `list`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub filter: Filter,
    pub sort: Vec<Sort>,
    pub page: Option<Page>,
    pub only: Option<Vec<String>>,
    pub minimal: bool,
    pub count_only: bool,
}

pub fn parse_query(value: Option<Map<String, Value>>) -> ApiResult<Query> {
    let Some(map) = value else {
        return Ok(Query::default());
    };
    let mut fields = Fields::from_map(map, "query.".into(), Empty::IsMissing);
    let filter = parse_filter(&mut fields)?;
    let sort = parse_sort(fields.take("sort"), "query.sort")?;
    let page = parse_page(&mut fields)?;
    let only = fields.string_list("only")?;
    if let Some(only) = &only {
        for key in only {
            check_key("query.only", key)?;
        }
    }
    let minimal = fields.boolean("minimal")?.unwrap_or(false);
    let count_only = fields.boolean("count_only")?.unwrap_or(false);
    fields.finish()?;
    Ok(Query {
        filter,
        sort,
        page,
        only,
        minimal,
        count_only,
    })
}

/// Orders documents by the sort keys; documents missing a key (or holding null) sort first, as in
/// MongoDB. The sort is stable: ties keep their order.
pub fn sort_documents(docs: &mut [Value], sort: &[Sort]) {
    docs.sort_by(|a, b| compare_documents(a, b, sort));
}

fn compare_documents(a: &Value, b: &Value, sort: &[Sort]) -> Ordering {
    let present = |doc: &'_ Value, key: &str| lookup(doc, key).filter(|v| !v.is_null()).cloned();
    for key in sort {
        let ordering = match (present(a, &key.key), present(b, &key.key)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => order(&x, &y).unwrap_or(Ordering::Equal),
        };
        let ordering = if key.desc {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// The page of a sorted result.
pub fn page_of<T>(items: Vec<T>, page: Option<Page>) -> Vec<T> {
    match page {
        None => items,
        Some(page) => {
            let skipped = items.into_iter().skip(page.start - 1);
            if page.limit == 0 {
                skipped.collect()
            } else {
                skipped.take(page.limit).collect()
            }
        }
    }
}

/// Keeps only the given keys of a document.
pub fn project(doc: Value, keys: &[String]) -> Value {
    match doc {
        Value::Object(mut map) => {
            map.retain(|key, _| keys.iter().any(|k| k == key));
            Value::Object(map)
        }
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOperator {
    Count,
    Sum,
    Average,
    Max,
    Min,
    First,
    Last,
    AddToSet,
    Push,
}

impl GroupOperator {
    fn parse(raw: &str) -> Option<GroupOperator> {
        Some(match raw {
            "count" => GroupOperator::Count,
            "sum" => GroupOperator::Sum,
            "average" => GroupOperator::Average,
            "max" => GroupOperator::Max,
            "min" => GroupOperator::Min,
            "first" => GroupOperator::First,
            "last" => GroupOperator::Last,
            "add_to_set" => GroupOperator::AddToSet,
            "push" => GroupOperator::Push,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct GroupKey {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct GroupField {
    pub key: Option<String>,
    pub name: String,
    pub operator: GroupOperator,
}

#[derive(Debug, Clone)]
pub enum Stage {
    Group {
        keys: Vec<GroupKey>,
        fields: Vec<GroupField>,
    },
    Count {
        name: String,
    },
    Sort(Vec<Sort>),
    Limit(usize),
    Skip(usize),
}

/// The `StatisticsQuery` of `stat`.
#[derive(Debug, Clone)]
pub struct StatQuery {
    pub filter: Filter,
    pub distinct: Option<String>,
    pub page: Option<Page>,
    pub aggregate: Vec<Stage>,
}

fn parse_stage(value: Value, at: &str) -> ApiResult<Stage> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(at, "each stage is an object"));
    };
    if map.len() != 1 {
        return Err(ApiError::invalid(
            at,
            "each stage has exactly one of group, count, sort, limit, skip",
        ));
    }
    let (kind, body) = map.into_iter().next().expect("one entry");
    let at = format!("{at}.{kind}");
    match kind.as_str() {
        "group" => {
            let Value::Object(map) = body else {
                return Err(ApiError::invalid(&at, "an object {keys, fields}"));
            };
            let mut group = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
            let keys = group
                .take("keys")
                .map(|v| named_entries(v, &format!("{at}.keys")))
                .transpose()?
                .unwrap_or_default()
                .into_iter()
                .map(|(mut entry, entry_at)| {
                    let key = entry
                        .string("key")?
                        .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.key")))?;
                    let name = entry.string("name")?.unwrap_or_else(|| key.clone());
                    entry.finish()?;
                    check_key(&format!("{entry_at}.key"), &key)?;
                    Ok(GroupKey { key, name })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            let fields = group
                .take("fields")
                .map(|v| named_entries(v, &format!("{at}.fields")))
                .transpose()?
                .unwrap_or_default()
                .into_iter()
                .map(|(mut entry, entry_at)| {
                    let key = entry.string("key")?;
                    let name = entry
                        .string("name")?
                        .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.name")))?;
                    let raw = entry.string("operator")?.ok_or_else(|| {
                        ApiError::RequiredParameter(format!("{entry_at}.operator"))
                    })?;
                    entry.finish()?;
                    let operator = GroupOperator::parse(&raw).ok_or_else(|| {
                        ApiError::invalid(
                            &format!("{entry_at}.operator"),
                            format!("unknown operator {raw:?}"),
                        )
                    })?;
                    if operator != GroupOperator::Count && key.is_none() {
                        return Err(ApiError::RequiredParameter(format!("{entry_at}.key")));
                    }
                    Ok(GroupField {
                        key,
                        name,
                        operator,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            group.finish()?;
            if keys.is_empty() && fields.is_empty() {
                return Err(ApiError::RequiredParameter(format!("{at}.keys")));
            }
            Ok(Stage::Group { keys, fields })
        }
        "count" => {
            let Value::Object(map) = body else {
                return Err(ApiError::invalid(&at, "an object {name}"));
            };
            let mut count = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
            let name = count.required_string("name")?;
            count.finish()?;
            Ok(Stage::Count { name })
        }
        "sort" => {
            let sort = parse_sort(Some(body), &at)?;
            if sort.is_empty() {
                return Err(ApiError::RequiredParameter(format!("{at}.key")));
            }
            Ok(Stage::Sort(sort))
        }
        "limit" | "skip" => {
            let n = body
                .as_u64()
                .filter(|n| *n <= PAGE_START_MAX as u64)
                .ok_or_else(|| {
                    ApiError::invalid(&at, format!("a whole number up to {PAGE_START_MAX}"))
                })? as usize;
            Ok(if kind == "limit" {
                Stage::Limit(n)
            } else {
                Stage::Skip(n)
            })
        }
        other => Err(ApiError::invalid(
            &at,
            format!("unknown stage {other:?}: group, count, sort, limit or skip"),
        )),
    }
}

/// A list of objects, each as `Fields` with its own path.
fn named_entries(value: Value, at: &str) -> ApiResult<Vec<(Fields, String)>> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid(at, "a list of objects"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let entry_at = format!("{at}[{i}]");
            match item {
                Value::Object(map) => Ok((
                    Fields::from_map(map, format!("{entry_at}."), Empty::IsMissing),
                    entry_at,
                )),
                _ => Err(ApiError::invalid(&entry_at, "an object")),
            }
        })
        .collect()
}

pub fn parse_stat_query(map: Map<String, Value>) -> ApiResult<StatQuery> {
    let mut fields = Fields::from_map(map, "query.".into(), Empty::IsMissing);
    let filter = parse_filter(&mut fields)?;
    let distinct = fields.string("distinct")?;
    if let Some(distinct) = &distinct {
        check_key("query.distinct", distinct)?;
    }
    let page = parse_page(&mut fields)?;
    let aggregate = match fields.take("aggregate") {
        None => Vec::new(),
        Some(Value::Array(stages)) => stages
            .into_iter()
            .enumerate()
            .map(|(i, stage)| parse_stage(stage, &format!("query.aggregate[{i}]")))
            .collect::<ApiResult<Vec<_>>>()?,
        // One stage given on its own.
        Some(stage @ Value::Object(_)) => vec![parse_stage(stage, "query.aggregate")?],
        Some(_) => {
            return Err(ApiError::invalid("query.aggregate", "a list of stages"));
        }
    };
    fields.finish()?;
    if aggregate.is_empty() && distinct.is_none() {
        return Err(ApiError::RequiredParameter("query.aggregate".into()));
    }
    Ok(StatQuery {
        filter,
        distinct,
        page,
        aggregate,
    })
}

/// Runs the aggregate stages over the matched documents.
pub fn aggregate(mut rows: Vec<Value>, stages: &[Stage]) -> Vec<Value> {
    for stage in stages {
        rows = match stage {
            Stage::Group { keys, fields } => group(rows, keys, fields),
            Stage::Count { name } => vec![json!({ name.as_str(): rows.len() })],
            Stage::Sort(sort) => {
                sort_documents(&mut rows, sort);
                rows
            }
            Stage::Limit(n) => rows.into_iter().take(*n).collect(),
            Stage::Skip(n) => rows.into_iter().skip(*n).collect(),
        };
    }
    rows
}

fn group(rows: Vec<Value>, keys: &[GroupKey], fields: &[GroupField]) -> Vec<Value> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    for row in rows {
        let mut id = Map::new();
        for key in keys {
            id.insert(
                key.name.clone(),
                lookup(&row, &key.key).cloned().unwrap_or(Value::Null),
            );
        }
        match index.entry(Value::Object(id.clone()).to_string()) {
            Entry::Occupied(at) => groups[*at.get()].1.push(row),
            Entry::Vacant(slot) => {
                slot.insert(groups.len());
                groups.push((id, vec![row]));
            }
        }
    }
    // Groups in the order of their keys (missing first), so that answers are stable.
    let by_keys: Vec<Sort> = keys
        .iter()
        .map(|k| Sort {
            key: k.name.clone(),
            desc: false,
        })
        .collect();
    groups.sort_by(|(a, _), (b, _)| {
        compare_documents(
            &Value::Object(a.clone()),
            &Value::Object(b.clone()),
            &by_keys,
        )
    });
    groups
        .into_iter()
        .map(|(mut out, members)| {
            for field in fields {
                let values = || {
                    members
                        .iter()
                        .filter_map(|m| lookup(m, field.key.as_deref().unwrap_or_default()))
                        .filter(|v| !v.is_null())
                };
                let numbers = || values().filter_map(Value::as_f64);
                let value = match field.operator {
                    GroupOperator::Count => json!(members.len()),
                    GroupOperator::Sum => number(numbers().sum()),
                    GroupOperator::Average => {
                        let count = numbers().count();
                        if count == 0 {
                            Value::Null
                        } else {
                            number(numbers().sum::<f64>() / count as f64)
                        }
                    }
                    GroupOperator::Max => values()
                        .max_by(|a, b| order(a, b).unwrap_or(Ordering::Equal))
                        .cloned()
                        .unwrap_or(Value::Null),
                    GroupOperator::Min => values()
                        .min_by(|a, b| order(a, b).unwrap_or(Ordering::Equal))
                        .cloned()
                        .unwrap_or(Value::Null),
                    GroupOperator::First => values().next().cloned().unwrap_or(Value::Null),
                    GroupOperator::Last => values().next_back().cloned().unwrap_or(Value::Null),
                    GroupOperator::Push => Value::Array(values().cloned().collect()),
                    GroupOperator::AddToSet => Value::Array(unique(values())),
                };
                out.insert(field.name.clone(), value);
            }
            Value::Object(out)
        })
        .collect()
}

/// A whole number renders without a fraction, as MongoDB's integer sums do.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The sorted distinct values of `key` (list fields contribute their elements).
pub fn distinct(docs: &[Value], key: &str) -> Vec<Value> {
    let mut values = unique(
        docs.iter()
            .flat_map(|doc| scalars(lookup(doc, key)))
            .filter(|v| !v.is_null()),
    );
    values.sort_by(|a, b| order(a, b).unwrap_or(Ordering::Equal));
    values
}

/// The values in first-seen order without repeats, in linear time.
fn unique<'a>(values: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut seen = HashSet::new();
    values
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<Value> {
        vec![
            json!({"user_id": "a@x.io", "name": "Ann", "state": "ENABLED", "tags": {"team": "red"}, "created_at": "2024-01-02T00:00:00.000Z", "required_actions": ["UPDATE_PASSWORD"]}),
            json!({"user_id": "b@x.io", "name": "Bob", "state": "DISABLED", "tags": {"team": "blue"}, "created_at": "2024-03-02T00:00:00.000Z", "required_actions": []}),
            json!({"user_id": "c@y.io", "name": "Cid", "state": "ENABLED", "created_at": "2024-05-02T00:00:00.000Z", "required_actions": []}),
        ]
    }

    fn ids(query: &Value) -> Vec<String> {
        let query = parse_query(query.as_object().cloned()).unwrap();
        docs()
            .into_iter()
            .filter(|d| query.filter.matches(d))
            .map(|d| d["user_id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_operator_selects_what_it_names() {
        let cases = [
            (
                json!({"k": "state", "v": "ENABLED", "o": "eq"}),
                "a@x.io c@y.io",
            ),
            (
                json!({"key": "state", "value": "ENABLED", "operator": "not"}),
                "b@x.io",
            ),
            (json!({"k": "name", "v": "Bob", "o": "lt"}), "a@x.io"),
            (
                json!({"k": "name", "v": "Bob", "o": "lte"}),
                "a@x.io b@x.io",
            ),
            (json!({"k": "name", "v": "Bob", "o": "gt"}), "c@y.io"),
            (
                json!({"k": "name", "v": "Bob", "o": "gte"}),
                "b@x.io c@y.io",
            ),
            (
                json!({"k": "tags.team", "v": true, "o": "exists"}),
                "a@x.io b@x.io",
            ),
            (
                json!({"k": "tags.team", "v": false, "o": "exists"}),
                "c@y.io",
            ),
            (
                json!({"k": "user_id", "v": "X.IO", "o": "contain"}),
                "a@x.io b@x.io",
            ),
            (
                json!({"k": "user_id", "v": "x.io", "o": "not_contain"}),
                "c@y.io",
            ),
            (
                json!({"k": "name", "v": ["Ann", "Cid"], "o": "in"}),
                "a@x.io c@y.io",
            ),
            (
                json!({"k": "name", "v": ["Ann", "Cid"], "o": "not_in"}),
                "b@x.io",
            ),
            (
                json!({"k": "name", "v": ["nn", "ID"], "o": "contain_in"}),
                "a@x.io c@y.io",
            ),
            (
                json!({"k": "name", "v": ["nn", "ID"], "o": "not_contain_in"}),
                "b@x.io",
            ),
            (
                json!({"k": "user_id", "v": "^[ab]@", "o": "regex"}),
                "a@x.io b@x.io",
            ),
            (
                json!({"k": "created_at", "v": "2024-03-02", "o": "datetime_lt"}),
                "a@x.io",
            ),
            (
                json!({"k": "created_at", "v": "2024-03-02T00:00:00Z", "o": "datetime_lte"}),
                "a@x.io b@x.io",
            ),
            (
                json!({"k": "created_at", "v": "2024-03-02", "o": "datetime_gt"}),
                "c@y.io",
            ),
            (
                json!({"k": "created_at", "v": "2024-03-02", "o": "datetime_gte"}),
                "b@x.io c@y.io",
            ),
            (
                json!({"k": "required_actions", "v": "UPDATE_PASSWORD", "o": "eq"}),
                "a@x.io",
            ),
        ];
        for (condition, expected) in cases {
            let got = ids(&json!({"filter": [condition.clone()]})).join(" ");
            assert_eq!(got, expected, "{condition}");
        }
    }

    #[test]
    fn filter_or_and_keyword_widen_and_narrow() {
        let either = json!({"filter_or": [{"k": "name", "v": "Ann"}, {"k": "name", "v": "Cid"}]});
        assert_eq!(ids(&either), ["a@x.io", "c@y.io"]);
        assert_eq!(ids(&json!({"keyword": "zzz bob"})), ["b@x.io"]);
        assert_eq!(ids(&json!({"keyword": "Y.IO"})), ["c@y.io"]);
    }

    #[test]
    fn lists_and_single_values_are_not_interchangeable() {
        for condition in [
            json!({"k": "name", "v": ["Ann"], "o": "eq"}),
            json!({"k": "name", "v": "Ann", "o": "in"}),
            json!({"k": "name", "v": "Ann", "o": "like"}),
            json!({"k": "name", "v": "(", "o": "regex"}),
            json!({"k": "created_at", "v": "yesterday", "o": "datetime_gt"}),
            json!({"v": "Ann"}),
        ] {
            let query = json!({"filter": [condition.clone()]});
            let err = parse_query(query.as_object().cloned()).unwrap_err();
            assert_eq!(err.status(), 400, "{condition}: {err:?}");
        }
    }

    #[test]
    fn pages_are_bounded() {
        for page in [
            json!({"start": 0}),
            json!({"start": -1}),
            json!({"limit": -5}),
            json!({"limit": 1_000_000_000}),
        ] {
            let query = json!({ "page": page.clone() });
            assert!(parse_query(query.as_object().cloned()).is_err(), "{page}");
        }
        let page = Some(Page { start: 2, limit: 1 });
        assert_eq!(page_of(vec![1, 2, 3], page), [2]);
    }

    #[test]
    fn group_count_sort_limit_and_distinct() {
        let query = json!({"aggregate": [
            {"group": {"keys": [{"key": "state", "name": "state"}],
                       "fields": [{"name": "count", "operator": "count"},
                                  {"key": "name", "name": "names", "operator": "push"}]}},
            {"sort": {"key": "count", "desc": true}},
            {"limit": 1}
        ]});
        let stat = parse_stat_query(query.as_object().cloned().unwrap()).unwrap();
        let rows = aggregate(docs(), &stat.aggregate);
        assert_eq!(
            rows,
            [json!({"state": "ENABLED", "count": 2, "names": ["Ann", "Cid"]})]
        );
        let counted = aggregate(docs(), &[Stage::Count { name: "n".into() }]);
        assert_eq!(counted, [json!({"n": 3})]);
        assert_eq!(
            distinct(&docs(), "state"),
            [json!("DISABLED"), json!("ENABLED")]
        );
        let neither = json!({"filter": []});
        assert_eq!(
            parse_stat_query(neither.as_object().cloned().unwrap())
                .unwrap_err()
                .status(),
            400
        );
    }
}
