//! SpaceONE's generic `Query` (list) and `StatisticsQuery` (stat), evaluated over `UserInfo`
//! documents. Which documents are read, and whether a page or a count can come straight from an
//! index or a counter, is the store's choice (`store::ListPlan`); the meaning is decided here, once.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::{Empty, Fields};

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
    RegexIn,
    Match,
    DatetimeLt,
    DatetimeLte,
    DatetimeGt,
    DatetimeGte,
    TimediffLt,
    TimediffLte,
    TimediffGt,
    TimediffGte,
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
            "regex_in" => Operator::RegexIn,
            "match" => Operator::Match,
            "datetime_lt" => Operator::DatetimeLt,
            "datetime_lte" => Operator::DatetimeLte,
            "datetime_gt" => Operator::DatetimeGt,
            "datetime_gte" => Operator::DatetimeGte,
            "timediff_lt" => Operator::TimediffLt,
            "timediff_lte" => Operator::TimediffLte,
            "timediff_gt" => Operator::TimediffGt,
            "timediff_gte" => Operator::TimediffGte,
            _ => return None,
        })
    }

    fn takes_list(self) -> bool {
        matches!(
            self,
            Operator::In
                | Operator::NotIn
                | Operator::ContainIn
                | Operator::NotContainIn
                | Operator::RegexIn
        )
    }
}

/// One `{k, v, o}` condition, with its value prepared for evaluation.
#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub operator: Operator,
    pub value: Value,
    /// `regex`: one; `regex_in`: one per pattern (case-insensitive, as SpaceONE's `$options: 'i'`).
    regexes: Vec<regex_lite::Regex>,
    /// `datetime_*` and `timediff_*`: the bound, epoch milliseconds.
    datetime: Option<i64>,
    /// `match`: the element test.
    element: Option<ElemMatch>,
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
            regexes: Vec::new(),
            datetime: None,
            element: None,
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
            Operator::Regex | Operator::RegexIn => scalars(field).any(|v| {
                v.as_str()
                    .is_some_and(|s| self.regexes.iter().any(|r| r.is_match(s)))
            }),
            Operator::Match => {
                let test = self.element.as_ref().expect("parsed when parsed");
                matches!(field, Some(Value::Array(items)) if items.iter().any(|e| test.matches(e)))
            }
            Operator::DatetimeLt
            | Operator::DatetimeLte
            | Operator::DatetimeGt
            | Operator::DatetimeGte
            | Operator::TimediffLt
            | Operator::TimediffLte
            | Operator::TimediffGt
            | Operator::TimediffGte => {
                let bound = self.datetime.expect("parsed when parsed");
                let Some(at) = field.and_then(Value::as_str).and_then(parse_datetime) else {
                    return false;
                };
                match self.operator {
                    Operator::DatetimeLt | Operator::TimediffLt => at < bound,
                    Operator::DatetimeLte | Operator::TimediffLte => at <= bound,
                    Operator::DatetimeGt | Operator::TimediffGt => at > bound,
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

/// A `regex`/`regex_in` pattern, matched case-insensitively as SpaceONE's `$options: 'i'`.
fn compile_regex(value: &Value, at: &str) -> ApiResult<regex_lite::Regex> {
    let pattern = value
        .as_str()
        .filter(|p| p.len() <= REGEX_MAX)
        .ok_or_else(|| {
            ApiError::invalid(
                at,
                format!("a regular expression of at most {REGEX_MAX} bytes"),
            )
        })?;
    regex_lite::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::invalid(at, format!("bad regular expression: {e}")))
}

/// Python's `\s` (`str.isspace`): Unicode white space and the four ASCII separators.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// SpaceONE's `utils.parse_timediff_query`, as epoch milliseconds: the regular expression
/// `^\s?(now(/[dwm])?)\s?([+|-])\s?(\d+)([s|m|h|d|w])\s?$` (so `|` is accepted as the sign, and
/// subtracts, while `|` as the unit fails), else the stripped text is one of `now`, `now/d`,
/// `now/w`, `now/m`. A result outside Python's years 1 to 9999 fails, as its `OverflowError` does.
pub fn parse_timediff(text: &str, now: chrono::NaiveDateTime) -> Option<i64> {
    use chrono::{Datelike, Duration, NaiveDateTime};
    let base = |name: &str| -> Option<NaiveDateTime> {
        let midnight = now.date().and_hms_opt(0, 0, 0)?;
        Some(match name {
            "now" => now,
            "now/d" => midnight,
            "now/w" => midnight - Duration::days(i64::from(now.weekday().num_days_from_monday())),
            "now/m" => now.date().with_day(1)?.and_hms_opt(0, 0, 0)?,
            _ => return None,
        })
    };
    let in_range = |at: NaiveDateTime| (1..=9999).contains(&at.year()).then_some(at);
    // The regular expression, by hand (it has no ambiguity to backtrack over).
    let with_delta = || -> Option<NaiveDateTime> {
        let mut rest = text;
        let skip_space = |rest: &mut &str| {
            if let Some(c) = rest.chars().next().filter(|c| py_space(*c)) {
                *rest = &rest[c.len_utf8()..];
            }
        };
        skip_space(&mut rest);
        rest = rest.strip_prefix("now")?;
        let name = match rest.as_bytes() {
            [b'/', unit @ (b'd' | b'w' | b'm'), ..] => {
                rest = &rest[2..];
                match unit {
                    b'd' => "now/d",
                    b'w' => "now/w",
                    _ => "now/m",
                }
            }
            _ => "now",
        };
        skip_space(&mut rest);
        let sign = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '+' | '|' | '-'))?;
        rest = &rest[1..];
        skip_space(&mut rest);
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.chars().next()?;
        rest = &rest[unit.len_utf8()..];
        // `\s?$`: `$` also matches before a final newline.
        let tail_ok = match rest.chars().collect::<Vec<_>>().as_slice() {
            [] | ['\n'] => true,
            [c] | [c, '\n'] => py_space(*c),
            _ => false,
        };
        if !tail_ok {
            return None;
        }
        let delta = match unit {
            's' => Duration::try_seconds(number)?,
            'm' => Duration::try_minutes(number)?,
            'h' => Duration::try_hours(number)?,
            'd' => Duration::try_days(number)?,
            'w' => Duration::try_weeks(number)?,
            _ => return None,
        };
        let base = base(name)?;
        if sign == '+' {
            base.checked_add_signed(delta)
        } else {
            base.checked_sub_signed(delta)
        }
    };
    let at = match with_delta() {
        Some(at) => Some(at),
        None => base(text.trim_matches(py_space)),
    }?;
    in_range(at).map(|at| at.and_utc().timestamp_millis())
}

/// The operators `match` (MongoDB's `$elemMatch`) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElemOperator {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Exists,
}

impl ElemOperator {
    fn parse(raw: &str) -> Option<ElemOperator> {
        Some(match raw {
            "$eq" => ElemOperator::Eq,
            "$ne" => ElemOperator::Ne,
            "$gt" => ElemOperator::Gt,
            "$gte" => ElemOperator::Gte,
            "$lt" => ElemOperator::Lt,
            "$lte" => ElemOperator::Lte,
            "$in" => ElemOperator::In,
            "$nin" => ElemOperator::Nin,
            "$exists" => ElemOperator::Exists,
            _ => return None,
        })
    }

    fn holds(self, field: Option<&Value>, value: &Value) -> bool {
        let ordered = |wanted: fn(Ordering) -> bool| {
            scalars(field).any(|v| order(v, value).is_some_and(wanted))
        };
        match self {
            ElemOperator::Eq => equals(field, value),
            ElemOperator::Ne => !equals(field, value),
            ElemOperator::Gt => ordered(Ordering::is_gt),
            ElemOperator::Gte => ordered(Ordering::is_ge),
            ElemOperator::Lt => ordered(Ordering::is_lt),
            ElemOperator::Lte => ordered(Ordering::is_le),
            ElemOperator::In => list(value).iter().any(|v| equals(field, v)),
            ElemOperator::Nin => !list(value).iter().any(|v| equals(field, v)),
            ElemOperator::Exists => field.is_some() == value.as_bool().unwrap_or(true),
        }
    }
}

/// `match`: the value is MongoDB's `$elemMatch` document. A list field matches when one of its
/// elements passes every test: `{"$gte": 5}` tests the element itself, `{"key": value}` or
/// `{"key": {"$ne": value}}` a field of an element that is an object. `{}` accepts any element that
/// is an object or a list, as MongoDB does.
#[derive(Debug, Clone)]
struct ElemMatch {
    own: Vec<(ElemOperator, Value)>,
    fields: Vec<(String, Vec<(ElemOperator, Value)>)>,
}

impl ElemMatch {
    fn parse(value: &Value, at: &str) -> ApiResult<ElemMatch> {
        let Value::Object(map) = value else {
            return Err(ApiError::invalid(
                at,
                "match takes an object (MongoDB's $elemMatch)",
            ));
        };
        let mut tests = 0usize;
        let mut count = |at: &str| {
            tests += 1;
            if tests > CONDITIONS_MAX {
                return Err(ApiError::invalid(
                    at,
                    format!("at most {CONDITIONS_MAX} tests"),
                ));
            }
            Ok(())
        };
        let operator = |name: &str, value: &Value, at: &str| -> ApiResult<(ElemOperator, Value)> {
            let at = format!("{at}.{name}");
            let operator = ElemOperator::parse(name).ok_or_else(|| {
                ApiError::invalid(
                    &at,
                    "one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists",
                )
            })?;
            let shape_ok = match operator {
                ElemOperator::In | ElemOperator::Nin => value.is_array(),
                ElemOperator::Exists => value.is_boolean(),
                _ => !value.is_array(),
            };
            if !shape_ok {
                return Err(ApiError::invalid(
                    &at,
                    "a list for $in and $nin, true or false for $exists, else one value",
                ));
            }
            Ok((operator, value.clone()))
        };
        let mut own = Vec::new();
        let mut fields = Vec::new();
        for (key, spec) in map {
            count(at)?;
            if key.starts_with('$') {
                own.push(operator(key, spec, at)?);
                continue;
            }
            let field_at = format!("{at}.{key}");
            check_key(&field_at, key)?;
            let tests_of = match spec {
                Value::Object(ops) if !ops.is_empty() && ops.keys().all(|k| k.starts_with('$')) => {
                    let mut tests_of = Vec::new();
                    for (name, value) in ops {
                        count(&field_at)?;
                        tests_of.push(operator(name, value, &field_at)?);
                    }
                    tests_of
                }
                Value::Object(ops) if ops.keys().any(|k| k.starts_with('$')) => {
                    return Err(ApiError::invalid(
                        &field_at,
                        "either operators ($eq, ...) or a value, not both",
                    ));
                }
                literal => vec![(ElemOperator::Eq, literal.clone())],
            };
            fields.push((key.clone(), tests_of));
        }
        Ok(ElemMatch { own, fields })
    }

    fn matches(&self, element: &Value) -> bool {
        if self.own.is_empty() && self.fields.is_empty() {
            return element.is_object() || element.is_array();
        }
        self.own.iter().all(|(op, v)| op.holds(Some(element), v))
            && (self.fields.is_empty()
                || element.is_object()
                    && self.fields.iter().all(|(key, tests)| {
                        let field = lookup(element, key);
                        tests.iter().all(|(op, v)| op.holds(field, v))
                    }))
    }
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
    let key = fields
        .string_either("k", "key")?
        .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.k")))?;
    let raw_value = match fields.take("v") {
        Some(value) => Some(value),
        None => fields.take("value"),
    };
    let raw_operator = fields.string_either("o", "operator")?;
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
        regexes: Vec::new(),
        datetime: None,
        element: None,
    };
    match operator {
        Operator::Regex => {
            condition.regexes = vec![compile_regex(&condition.value, &value_key)?];
        }
        Operator::RegexIn => {
            let patterns = list(&condition.value);
            if patterns.is_empty() || patterns.len() > CONDITIONS_MAX {
                return Err(ApiError::invalid(
                    &value_key,
                    format!("from 1 to {CONDITIONS_MAX} regular expressions"),
                ));
            }
            condition.regexes = patterns
                .iter()
                .enumerate()
                .map(|(i, p)| compile_regex(p, &format!("{value_key}[{i}]")))
                .collect::<ApiResult<_>>()?;
        }
        Operator::Match => {
            condition.element = Some(ElemMatch::parse(&condition.value, &value_key)?);
        }
        Operator::TimediffLt
        | Operator::TimediffLte
        | Operator::TimediffGt
        | Operator::TimediffGte => {
            let now = chrono::Utc::now().naive_utc();
            condition.datetime = Some(
                condition
                    .value
                    .as_str()
                    .and_then(|text| parse_timediff(text, now))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            &value_key,
                            "a time difference: now, now/d, now/w or now/m, optionally \
                             followed by + or - and a number of s, m, h, d or w (now/d - 7d)",
                        )
                    })?,
            );
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

/// Conditions a `filter` or a `filter_or` may hold: each is evaluated on every row a plan reads
/// (a `regex` among them), so their number bounds a request's CPU.
pub const CONDITIONS_MAX: usize = 64;

fn parse_conditions(fields: &mut Fields, key: &str) -> ApiResult<Vec<Condition>> {
    match fields.take(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() > CONDITIONS_MAX => Err(ApiError::invalid(
            &format!("query.{key}"),
            format!("at most {CONDITIONS_MAX} conditions"),
        )),
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

/// Regular expressions a whole query may hold (`regex` one each, `regex_in` one per pattern): each
/// runs on every row a plan reads.
pub const REGEXES_MAX: usize = 64;

fn parse_filter(fields: &mut Fields) -> ApiResult<Filter> {
    let filter = Filter {
        all: parse_conditions(fields, "filter")?,
        any: parse_conditions(fields, "filter_or")?,
        keyword: parse_keyword(fields)?,
    };
    let regexes: usize = filter
        .all
        .iter()
        .chain(&filter.any)
        .map(|condition| condition.regexes.len())
        .sum();
    if regexes > REGEXES_MAX {
        return Err(ApiError::invalid(
            "query.filter",
            format!("at most {REGEXES_MAX} regular expressions in all"),
        ));
    }
    Ok(filter)
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
    MergeObjects,
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
            "merge_objects" => GroupOperator::MergeObjects,
            _ => return None,
        })
    }
}

/// A group key's `date_format`: `year`, `month`, `day` (MongoDB's `$year`, `$month`,
/// `$dayOfMonth`, numbers), or else a `$dateToString` format (`%Y-%m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    Year,
    Month,
    Day,
    Format(String),
}

/// The `$dateToString` specifiers understood (UTC, so `%z` is `+0000`).
const DATE_SPECIFIERS: &str = "dGHjLmMSuUVwYz%";

impl DateFormat {
    fn parse(raw: &str, at: &str) -> ApiResult<DateFormat> {
        Ok(match raw {
            "year" => DateFormat::Year,
            "month" => DateFormat::Month,
            "day" => DateFormat::Day,
            format => {
                let mut chars = format.chars();
                let mut well_formed = format.chars().count() <= KEY_MAX;
                while let Some(c) = chars.next() {
                    if c == '%' && !chars.next().is_some_and(|s| DATE_SPECIFIERS.contains(s)) {
                        well_formed = false;
                    }
                }
                if !well_formed {
                    return Err(ApiError::invalid(
                        at,
                        format!(
                            "year, month, day or a $dateToString format of at most {KEY_MAX} \
                             characters using %d %G %H %j %L %m %M %S %u %U %V %w %Y %z %%"
                        ),
                    ));
                }
                DateFormat::Format(format.to_owned())
            }
        })
    }

    /// The group key of a value: `null` for a missing or null one; a value that is not a date
    /// fails the query, as MongoDB's date operators do.
    fn apply(&self, value: Option<&Value>, key: &str) -> ApiResult<Value> {
        use chrono::{Datelike, Timelike};
        let at = match value {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(Value::String(text)) => parse_datetime(text),
            Some(_) => None,
        };
        let at = at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .ok_or_else(|| {
                ApiError::invalid(
                    "query.aggregate",
                    format!("date_format: {key} is not a date"),
                )
            })?;
        Ok(match self {
            DateFormat::Year => json!(at.year()),
            DateFormat::Month => json!(at.month()),
            DateFormat::Day => json!(at.day()),
            DateFormat::Format(format) => {
                let mut out = String::new();
                let mut chars = format.chars();
                while let Some(c) = chars.next() {
                    if c != '%' {
                        out.push(c);
                        continue;
                    }
                    let spec = chars.next().expect("checked when parsed");
                    let part = match spec {
                        'L' => format!("{:03}", at.timestamp_subsec_millis()),
                        'w' => (at.weekday().num_days_from_sunday() + 1).to_string(),
                        'z' => "+0000".into(),
                        '%' => "%".into(),
                        'H' => format!("{:02}", at.hour()),
                        other => at.format(&format!("%{other}")).to_string(),
                    };
                    out.push_str(&part);
                }
                json!(out)
            }
        })
    }
}

#[derive(Debug, Clone)]
pub struct GroupKey {
    pub key: String,
    pub name: String,
    pub date_format: Option<DateFormat>,
}

/// The operators of a group field's `conditions` (MongoDB's aggregation comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOperator {
    Eq,
    Not,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
pub struct GroupCondition {
    pub key: String,
    pub operator: CompareOperator,
    pub value: Value,
}

impl GroupCondition {
    fn holds(&self, row: &Value) -> bool {
        let ordering = aggregate_order(lookup(row, &self.key), &self.value);
        match self.operator {
            CompareOperator::Eq => ordering.is_eq(),
            CompareOperator::Not => ordering.is_ne(),
            CompareOperator::Gt => ordering.is_gt(),
            CompareOperator::Gte => ordering.is_ge(),
            CompareOperator::Lt => ordering.is_lt(),
            CompareOperator::Lte => ordering.is_le(),
        }
    }
}

/// MongoDB's order across types for aggregation comparisons: missing, null, numbers, strings,
/// objects, lists, booleans.
fn aggregate_order(a: Option<&Value>, b: &Value) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(Value::Object(_)) => 4,
            Some(Value::Array(_)) => 5,
            Some(Value::Bool(_)) => 6,
        }
    }
    match (a, b) {
        (Some(Value::Array(x)), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(x, y)| aggregate_order(Some(x), y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Some(Value::Object(x)), Value::Object(y)) => x
            .iter()
            .zip(y)
            .map(|((xk, xv), (yk, yv))| xk.cmp(yk).then_with(|| aggregate_order(Some(xv), yv)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Some(x), y) if rank(Some(x)) == rank(Some(y)) => order(x, y).unwrap_or(Ordering::Equal),
        (a, b) => rank(a).cmp(&rank(Some(b))),
    }
}

#[derive(Debug, Clone)]
pub struct GroupField {
    pub key: Option<String>,
    pub name: String,
    pub operator: GroupOperator,
    /// `push` without a key: the object pushed for each row, as `(key, name)`.
    pub fields: Vec<(String, String)>,
    /// `count`, `sum`, `average`: only the rows meeting all of them count (`$cond`).
    pub conditions: Vec<GroupCondition>,
}

/// The operators of a `project` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectOperator {
    Size,
    Sum,
    ArrayToObject,
    ObjectToArray,
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl ProjectOperator {
    fn parse(raw: &str) -> Option<ProjectOperator> {
        Some(match raw {
            "size" => ProjectOperator::Size,
            "sum" => ProjectOperator::Sum,
            "array_to_object" => ProjectOperator::ArrayToObject,
            "object_to_array" => ProjectOperator::ObjectToArray,
            "add" => ProjectOperator::Add,
            "subtract" => ProjectOperator::Subtract,
            "multiply" => ProjectOperator::Multiply,
            "divide" => ProjectOperator::Divide,
            _ => return None,
        })
    }

    fn calculates(self) -> bool {
        matches!(
            self,
            ProjectOperator::Add
                | ProjectOperator::Subtract
                | ProjectOperator::Multiply
                | ProjectOperator::Divide
        )
    }
}

/// One operand of a calculation: a field, a number, or another calculation.
#[derive(Debug, Clone)]
pub enum Operand {
    Key(String),
    Number(Value),
    Calculation(Calculation),
}

#[derive(Debug, Clone)]
pub struct Calculation {
    pub operator: ProjectOperator,
    pub operands: Vec<Operand>,
}

/// Nesting of calculations a `project` field may hold.
const CALCULATION_DEPTH_MAX: usize = 8;

#[derive(Debug, Clone)]
pub struct ProjectField {
    pub key: Option<String>,
    pub name: String,
    pub operator: Option<ProjectOperator>,
    pub calculation: Option<Calculation>,
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
    Unwind {
        path: String,
    },
    Project {
        fields: Vec<ProjectField>,
        exclude_keys: bool,
    },
}

/// Values (every JSON node counts one) the rows of an `unwind` may hold in all: unwinding copies
/// the rest of each row once per element.
pub const UNWIND_VALUES_MAX: usize = 2_000_000;
/// Stages one `aggregate` may hold, and rows any stage may pass on: with both, a pipeline's work is
/// bounded (hundreds of sorts of the rows an unwind multiplied ran into the function's timeout).
pub const STAGES_MAX: usize = 16;
pub const PIPELINE_ROWS_MAX: usize = 100_000;

/// The `StatisticsQuery` of `stat`.
#[derive(Debug, Clone)]
pub struct StatQuery {
    pub filter: Filter,
    pub distinct: Option<String>,
    pub page: Option<Page>,
    pub aggregate: Vec<Stage>,
}

/// A list of at most `CONDITIONS_MAX` entries.
fn bounded(entries: Vec<(Fields, String)>, at: &str) -> ApiResult<Vec<(Fields, String)>> {
    if entries.len() > CONDITIONS_MAX {
        return Err(ApiError::invalid(
            at,
            format!("at most {CONDITIONS_MAX} entries"),
        ));
    }
    Ok(entries)
}

fn parse_group_condition(value: Value, at: &str) -> ApiResult<GroupCondition> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(at, "an object {key, value, operator}"));
    };
    let mut entry = Fields::from_map(map, format!("{at}."), Empty::IsValue);
    let key = entry
        .string_either("k", "key")?
        .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.key")))?;
    let value = match entry.take("v") {
        Some(value) => Some(value),
        None => entry.take("value"),
    }
    .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.value")))?;
    let raw = entry
        .string_either("o", "operator")?
        .ok_or_else(|| ApiError::RequiredParameter(format!("{at}.operator")))?;
    entry.finish()?;
    check_key(&format!("{at}.key"), &key)?;
    let operator = match raw.as_str() {
        "eq" => CompareOperator::Eq,
        "not" => CompareOperator::Not,
        "gt" => CompareOperator::Gt,
        "gte" => CompareOperator::Gte,
        "lt" => CompareOperator::Lt,
        "lte" => CompareOperator::Lte,
        _ => {
            return Err(ApiError::invalid(
                &format!("{at}.operator"),
                format!("{raw:?} is not one of eq, not, gt, gte, lt, lte"),
            ));
        }
    };
    Ok(GroupCondition {
        key,
        operator,
        value,
    })
}

fn parse_group(body: Value, at: &str) -> ApiResult<Stage> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid(at, "an object {keys, fields}"));
    };
    let mut group = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
    let keys = group
        .take("keys")
        .map(|v| named_entries(v, &format!("{at}.keys")))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|(mut entry, entry_at)| {
            // The proto's `AggregateGroupKey` names them `k` and `n` too.
            let key = entry
                .string_either("k", "key")?
                .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.key")))?;
            let name = entry
                .string_either("n", "name")?
                .unwrap_or_else(|| key.clone());
            let date_format = entry
                .string("date_format")?
                .map(|raw| DateFormat::parse(&raw, &format!("{entry_at}.date_format")))
                .transpose()?;
            entry.finish()?;
            check_key(&format!("{entry_at}.key"), &key)?;
            Ok(GroupKey {
                key,
                name,
                date_format,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let fields = group
        .take("fields")
        .map(|v| named_entries(v, &format!("{at}.fields")))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|(mut entry, entry_at)| {
            // `AggregateGroupField`: `k`, `n`, `o` or their long names, `fields`, `conditions`.
            let key = entry.string_either("k", "key")?;
            let name = entry
                .string_either("n", "name")?
                .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.name")))?;
            let raw = entry
                .string_either("o", "operator")?
                .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.operator")))?;
            let sub_at = format!("{entry_at}.fields");
            let sub_fields = entry
                .take("fields")
                .map(|v| named_entries(v, &sub_at))
                .transpose()?
                .map(|entries| bounded(entries, &sub_at))
                .transpose()?
                .unwrap_or_default()
                .into_iter()
                .map(|(mut sub, sub_at)| {
                    let key = sub
                        .string_either("k", "key")?
                        .ok_or_else(|| ApiError::RequiredParameter(format!("{sub_at}.key")))?;
                    let name = sub
                        .string_either("n", "name")?
                        .ok_or_else(|| ApiError::RequiredParameter(format!("{sub_at}.name")))?;
                    sub.finish()?;
                    check_key(&format!("{sub_at}.key"), &key)?;
                    Ok((key, name))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            let conditions_at = format!("{entry_at}.conditions");
            let conditions = match entry.take("conditions") {
                None => Vec::new(),
                Some(Value::Array(items)) if items.len() <= CONDITIONS_MAX => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| parse_group_condition(item, &format!("{conditions_at}[{i}]")))
                    .collect::<ApiResult<Vec<_>>>()?,
                Some(_) => {
                    return Err(ApiError::invalid(
                        &conditions_at,
                        format!("a list of at most {CONDITIONS_MAX} conditions"),
                    ));
                }
            };
            entry.finish()?;
            let operator = GroupOperator::parse(&raw).ok_or_else(|| {
                ApiError::invalid(
                    &format!("{entry_at}.operator"),
                    format!("unknown operator {raw:?}"),
                )
            })?;
            if let Some(key) = &key {
                check_key(&format!("{entry_at}.key"), key)?;
            }
            let needs_key = match operator {
                GroupOperator::Count => false,
                GroupOperator::Push => sub_fields.is_empty(),
                _ => true,
            };
            if needs_key && key.is_none() {
                return Err(ApiError::RequiredParameter(format!("{entry_at}.key")));
            }
            if !conditions.is_empty()
                && !matches!(
                    operator,
                    GroupOperator::Count | GroupOperator::Sum | GroupOperator::Average
                )
            {
                return Err(ApiError::invalid(
                    &conditions_at,
                    format!("only count, sum and average take conditions, not {raw}"),
                ));
            }
            Ok(GroupField {
                key,
                name,
                operator,
                fields: sub_fields,
                conditions,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    group.finish()?;
    if keys.is_empty() && fields.is_empty() {
        return Err(ApiError::RequiredParameter(format!("{at}.keys")));
    }
    Ok(Stage::Group { keys, fields })
}

fn parse_calculation(
    operator: ProjectOperator,
    operands: Value,
    at: &str,
    depth: usize,
    count: &mut usize,
) -> ApiResult<Calculation> {
    let Value::Array(items) = operands else {
        return Err(ApiError::invalid(
            at,
            "a list of keys, numbers or calculations",
        ));
    };
    if matches!(
        operator,
        ProjectOperator::Subtract | ProjectOperator::Divide
    ) && items.len() != 2
    {
        return Err(ApiError::invalid(at, "subtract and divide take two fields"));
    }
    let operands = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let item_at = format!("{at}[{i}]");
            *count += 1;
            if *count > CONDITIONS_MAX {
                return Err(ApiError::invalid(
                    at,
                    format!("at most {CONDITIONS_MAX} operands in all"),
                ));
            }
            Ok(match item {
                Value::String(key) => {
                    check_key(&item_at, &key)?;
                    Operand::Key(key)
                }
                number @ Value::Number(_) => Operand::Number(number),
                Value::Object(map) if depth < CALCULATION_DEPTH_MAX => {
                    let mut sub = Fields::from_map(map, format!("{item_at}."), Empty::IsMissing);
                    let raw = sub.string_either("o", "operator")?.ok_or_else(|| {
                        ApiError::RequiredParameter(format!("{item_at}.operator"))
                    })?;
                    let fields = match sub.take("f") {
                        Some(fields) => Some(fields),
                        None => sub.take("fields"),
                    }
                    .ok_or_else(|| ApiError::RequiredParameter(format!("{item_at}.fields")))?;
                    sub.finish()?;
                    let operator = ProjectOperator::parse(&raw)
                        .filter(|o| o.calculates())
                        .ok_or_else(|| {
                            ApiError::invalid(
                                &format!("{item_at}.operator"),
                                "one of add, subtract, multiply, divide",
                            )
                        })?;
                    Operand::Calculation(parse_calculation(
                        operator,
                        fields,
                        &format!("{item_at}.fields"),
                        depth + 1,
                        count,
                    )?)
                }
                Value::Object(_) => {
                    return Err(ApiError::invalid(
                        &item_at,
                        format!("calculations nest at most {CALCULATION_DEPTH_MAX} deep"),
                    ));
                }
                _ => {
                    return Err(ApiError::invalid(
                        &item_at,
                        "a key, a number or a calculation {operator, fields}",
                    ));
                }
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Calculation { operator, operands })
}

fn parse_project(body: Value, at: &str) -> ApiResult<Stage> {
    let Value::Object(map) = body else {
        return Err(ApiError::invalid(at, "an object {fields, exclude_keys}"));
    };
    let mut project = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
    let exclude_keys = project.boolean("exclude_keys")?.unwrap_or(false);
    let fields_at = format!("{at}.fields");
    let fields = project
        .take("fields")
        .map(|v| named_entries(v, &fields_at))
        .transpose()?
        .map(|entries| bounded(entries, &fields_at))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|(mut entry, entry_at)| {
            let key = entry.string_either("k", "key")?;
            let name = entry
                .string_either("n", "name")?
                .ok_or_else(|| ApiError::RequiredParameter(format!("{entry_at}.name")))?;
            let raw = entry.string_either("o", "operator")?;
            let operands = match entry.take("f") {
                Some(fields) => Some(fields),
                None => entry.take("fields"),
            };
            entry.finish()?;
            let operator = raw
                .map(|raw| {
                    ProjectOperator::parse(&raw).ok_or_else(|| {
                        ApiError::invalid(
                            &format!("{entry_at}.operator"),
                            format!(
                                "{raw:?} is not one of size, sum, array_to_object, \
                                 object_to_array, add, subtract, multiply, divide"
                            ),
                        )
                    })
                })
                .transpose()?;
            if let Some(key) = &key {
                check_key(&format!("{entry_at}.key"), key)?;
            }
            let calculation = match (operator, operands) {
                (Some(operator), Some(operands)) if operator.calculates() => {
                    Some(parse_calculation(
                        operator,
                        operands,
                        &format!("{entry_at}.fields"),
                        1,
                        &mut 0,
                    )?)
                }
                (Some(operator), None) if operator.calculates() => {
                    return Err(ApiError::RequiredParameter(format!("{entry_at}.fields")));
                }
                (_, Some(_)) => {
                    return Err(ApiError::invalid(
                        &format!("{entry_at}.fields"),
                        "only add, subtract, multiply and divide take fields",
                    ));
                }
                (_, None) if key.is_none() => {
                    return Err(ApiError::RequiredParameter(format!("{entry_at}.key")));
                }
                (_, None) => None,
            };
            Ok(ProjectField {
                key,
                name,
                operator,
                calculation,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    project.finish()?;
    if fields.is_empty() {
        return Err(ApiError::RequiredParameter(fields_at));
    }
    Ok(Stage::Project {
        fields,
        exclude_keys,
    })
}

const STAGES: &str = "unwind, group, count, sort, project, limit or skip";

fn parse_stage(value: Value, at: &str) -> ApiResult<Stage> {
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(at, "each stage is an object"));
    };
    if map.len() != 1 {
        return Err(ApiError::invalid(
            at,
            format!("each stage has exactly one of {STAGES}"),
        ));
    }
    let (kind, body) = map.into_iter().next().expect("one entry");
    let at = format!("{at}.{kind}");
    match kind.as_str() {
        "group" => parse_group(body, &at),
        "project" => parse_project(body, &at),
        "unwind" => {
            let Value::Object(map) = body else {
                return Err(ApiError::invalid(&at, "an object {path}"));
            };
            let mut unwind = Fields::from_map(map, format!("{at}."), Empty::IsMissing);
            let path = unwind.required_string("path")?;
            unwind.finish()?;
            check_key(&format!("{at}.path"), &path)?;
            Ok(Stage::Unwind { path })
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
            format!("unknown stage {other:?}: {STAGES}"),
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
        Some(Value::Array(stages)) if stages.len() > STAGES_MAX => {
            return Err(ApiError::invalid(
                "query.aggregate",
                format!("at most {STAGES_MAX} stages"),
            ));
        }
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
pub fn aggregate(rows: Vec<Value>, stages: &[Stage]) -> ApiResult<Vec<Value>> {
    aggregate_after(rows, stages, 0)
}

/// Runs the stages after the first `done` ones, whose result `rows` already are (an answer from
/// the counters).
pub fn aggregate_after(
    mut rows: Vec<Value>,
    stages: &[Stage],
    done: usize,
) -> ApiResult<Vec<Value>> {
    // The names of the group keys so far (MongoDB's `_id`), which a `project` keeps.
    let mut group_keys: Vec<String> = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        if i >= done {
            rows = match stage {
                Stage::Group { keys, fields } => group(rows, keys, fields)?,
                // MongoDB's `$count` over no rows yields no row.
                Stage::Count { .. } if rows.is_empty() => rows,
                Stage::Count { name } => vec![json!({ name.as_str(): rows.len() })],
                Stage::Sort(sort) => {
                    sort_documents(&mut rows, sort);
                    rows
                }
                Stage::Limit(n) => rows.into_iter().take(*n).collect(),
                Stage::Skip(n) => rows.into_iter().skip(*n).collect(),
                Stage::Unwind { path } => {
                    let unwound = unwind(rows, path)?;
                    if unwound.len() > PIPELINE_ROWS_MAX {
                        return Err(failed(format!(
                            "unwind would make more than {PIPELINE_ROWS_MAX} rows; narrow the filter"
                        )));
                    }
                    unwound
                }
                Stage::Project {
                    fields,
                    exclude_keys,
                } => {
                    let kept: &[String] = if *exclude_keys { &[] } else { &group_keys };
                    rows.iter()
                        .map(|row| project_row(row, fields, kept))
                        .collect::<ApiResult<_>>()?
                }
            };
        }
        match stage {
            Stage::Group { keys, .. } => group_keys.extend(keys.iter().map(|k| k.name.clone())),
            Stage::Project {
                exclude_keys: true, ..
            } => group_keys.clear(),
            _ => {}
        }
    }
    Ok(rows)
}

/// JSON nodes in a value.
fn weight(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(weight).sum(),
        Value::Object(map) => map.values().map(weight).sum(),
        _ => 0,
    }
}

/// Sets a dotted key of a document to a value (the key exists: it was just read).
fn set_path(doc: &mut Value, key: &str, value: Value) {
    let mut at = doc;
    for part in key.split('.') {
        match at.get_mut(part) {
            Some(next) => at = next,
            None => return,
        }
    }
    *at = value;
}

/// MongoDB's `$unwind`: a row per element of the list at `path`; a row whose list is empty,
/// or whose path is missing or null, goes; one with any other value stays as it is.
fn unwind(rows: Vec<Value>, path: &str) -> ApiResult<Vec<Value>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut values = 0usize;
    let too_many = || {
        ApiError::invalid(
            "query.aggregate",
            format!("unwind would make more than {UNWIND_VALUES_MAX} values; narrow the filter"),
        )
    };
    for row in rows {
        match lookup(&row, path) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                let items = items.clone();
                let rest = weight(&row) - weight(&Value::Array(items.clone()));
                for item in items {
                    values = values.saturating_add(rest).saturating_add(weight(&item));
                    if values > UNWIND_VALUES_MAX {
                        return Err(too_many());
                    }
                    let mut copy = row.clone();
                    set_path(&mut copy, path, item);
                    out.push(copy);
                }
            }
            Some(_) => {
                values = values.saturating_add(weight(&row));
                if values > UNWIND_VALUES_MAX {
                    return Err(too_many());
                }
                out.push(row);
            }
        }
    }
    Ok(out)
}

fn failed(message: String) -> ApiError {
    ApiError::invalid("query.aggregate", message)
}

/// One row of a `project`: the group keys (unless excluded), then each field; a field naming a
/// missing key is left out, as in MongoDB.
fn project_row(row: &Value, fields: &[ProjectField], kept: &[String]) -> ApiResult<Value> {
    let mut out = Map::new();
    for key in kept {
        if let Some(value) = row.get(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    for field in fields {
        let key = field.key.as_deref().unwrap_or_default();
        let value = match (&field.calculation, field.operator) {
            (Some(calculation), _) => Some(calculate(calculation, row)?),
            (None, Some(operator)) => Some(project_value(operator, lookup(row, key), key)?),
            (None, None) => lookup(row, key).cloned(),
        };
        if let Some(value) = value {
            out.insert(field.name.clone(), value);
        }
    }
    Ok(Value::Object(out))
}

/// `size`, `sum`, `array_to_object`, `object_to_array` of one value; what MongoDB refuses fails
/// the query.
fn project_value(operator: ProjectOperator, value: Option<&Value>, key: &str) -> ApiResult<Value> {
    Ok(match (operator, value) {
        (ProjectOperator::Size, Some(Value::Array(items))) => json!(items.len()),
        (ProjectOperator::Size, _) => {
            return Err(failed(format!("size: {key} is not a list")));
        }
        (ProjectOperator::Sum, Some(Value::Array(items))) => {
            number(items.iter().filter_map(Value::as_f64).sum())
        }
        (ProjectOperator::Sum, Some(Value::Number(n))) => Value::Number(n.clone()),
        (ProjectOperator::Sum, _) => json!(0),
        (_, None | Some(Value::Null)) => Value::Null,
        (ProjectOperator::ArrayToObject, Some(Value::Array(items))) => {
            let mut out = Map::new();
            for item in items {
                let (k, v) = match item {
                    Value::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                    Value::Object(pair) if pair.len() == 2 => {
                        match (pair.get("k"), pair.get("v")) {
                            (Some(k), Some(v)) => (k, v),
                            _ => {
                                return Err(failed(format!(
                                    "array_to_object: {key} holds other than [k, v] or {{k, v}}"
                                )));
                            }
                        }
                    }
                    _ => {
                        return Err(failed(format!(
                            "array_to_object: {key} holds other than [k, v] or {{k, v}}"
                        )));
                    }
                };
                let Value::String(k) = k else {
                    return Err(failed(format!(
                        "array_to_object: a key in {key} is not a string"
                    )));
                };
                out.insert(k.clone(), v.clone());
            }
            Value::Object(out)
        }
        (ProjectOperator::ObjectToArray, Some(Value::Object(map))) => {
            Value::Array(map.iter().map(|(k, v)| json!({"k": k, "v": v})).collect())
        }
        (operator, _) => {
            return Err(failed(format!("{operator:?}: {key} has the wrong type")));
        }
    })
}

/// `add`, `subtract`, `multiply`, `divide`: `null` when an operand is missing or null; an operand
/// that is not a number, or a division by zero, fails the query, as in MongoDB.
fn calculate(calculation: &Calculation, row: &Value) -> ApiResult<Value> {
    let mut numbers = Vec::with_capacity(calculation.operands.len());
    let mut null = false;
    for operand in &calculation.operands {
        let value = match operand {
            Operand::Key(key) => lookup(row, key).cloned().unwrap_or(Value::Null),
            Operand::Number(n) => n.clone(),
            Operand::Calculation(inner) => calculate(inner, row)?,
        };
        match value {
            Value::Null => null = true,
            Value::Number(n) => numbers.push(n.as_f64().unwrap_or_default()),
            _ => {
                return Err(failed(format!("{:?} takes numbers", calculation.operator)));
            }
        }
    }
    if null {
        return Ok(Value::Null);
    }
    Ok(number(match calculation.operator {
        ProjectOperator::Add => numbers.iter().sum(),
        ProjectOperator::Multiply => numbers.iter().product(),
        ProjectOperator::Subtract => numbers[0] - numbers[1],
        _ if numbers[1] == 0.0 => return Err(failed("divide by zero".into())),
        _ => numbers[0] / numbers[1],
    }))
}

fn group(rows: Vec<Value>, keys: &[GroupKey], fields: &[GroupField]) -> ApiResult<Vec<Value>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    for row in rows {
        let mut id = Map::new();
        for key in keys {
            let value = lookup(&row, &key.key);
            let value = match &key.date_format {
                Some(format) => format.apply(value, &key.key)?,
                None => value.cloned().unwrap_or(Value::Null),
            };
            id.insert(key.name.clone(), value);
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
    Ok(groups
        .into_iter()
        .map(|(mut out, members)| {
            for field in fields {
                let key = field.key.as_deref().unwrap_or_default();
                let passes = |m: &Value| field.conditions.iter().all(|c| c.holds(m));
                let values = || {
                    members
                        .iter()
                        .filter_map(|m| lookup(m, key))
                        .filter(|v| !v.is_null())
                };
                // With conditions, a row that fails them counts as 0 (`$cond: [..., "$key", 0]`).
                let numbers = || {
                    members.iter().filter_map(move |m| {
                        if passes(m) {
                            lookup(m, key).and_then(Value::as_f64)
                        } else {
                            Some(0.0)
                        }
                    })
                };
                let value = match field.operator {
                    GroupOperator::Count => json!(members.iter().filter(|m| passes(m)).count()),
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
                    GroupOperator::Push if field.key.is_none() => Value::Array(
                        members
                            .iter()
                            .map(|m| {
                                let pushed: Map<String, Value> = field
                                    .fields
                                    .iter()
                                    .filter_map(|(k, n)| Some((n.clone(), lookup(m, k)?.clone())))
                                    .collect();
                                Value::Object(pushed)
                            })
                            .collect(),
                    ),
                    GroupOperator::Push => Value::Array(values().cloned().collect()),
                    GroupOperator::AddToSet => Value::Array(unique(values())),
                    // `$mergeObjects`: later rows' members win; what is not an object is skipped.
                    GroupOperator::MergeObjects => Value::Object(
                        values()
                            .filter_map(Value::as_object)
                            .flat_map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())))
                            .collect(),
                    ),
                };
                out.insert(field.name.clone(), value);
            }
            Value::Object(out)
        })
        .collect())
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
        let rows = aggregate(docs(), &stat.aggregate).unwrap();
        assert_eq!(
            rows,
            [json!({"state": "ENABLED", "count": 2, "names": ["Ann", "Cid"]})]
        );
        let counted = aggregate(docs(), &[Stage::Count { name: "n".into() }]).unwrap();
        assert_eq!(counted, [json!({"n": 3})]);
        // MongoDB's `$count` over no rows is no row at all.
        let none = aggregate(Vec::new(), &[Stage::Count { name: "n".into() }]).unwrap();
        assert_eq!(none, Vec::<Value>::new());
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

    fn stat_rows(rows: Vec<Value>, aggregate_stages: Value) -> ApiResult<Vec<Value>> {
        let query = json!({ "aggregate": aggregate_stages });
        let stat = parse_stat_query(query.as_object().cloned().unwrap())?;
        aggregate(rows, &stat.aggregate)
    }

    fn refused(query: Value) -> bool {
        let map = query.as_object().cloned().unwrap();
        let listed = parse_query(Some(map.clone()));
        let stat = parse_stat_query(map);
        matches!(listed, Err(ref e) if e.status() == 400)
            || matches!(stat, Err(ref e) if e.status() == 400)
    }

    #[test]
    fn regex_is_case_insensitive_and_regex_in_takes_any_of_its_patterns() {
        let cases = [
            (json!({"k": "name", "v": "^ANN$", "o": "regex"}), "a@x.io"),
            (
                json!({"k": "user_id", "v": ["^A@", "Y\\.IO$"], "o": "regex_in"}),
                "a@x.io c@y.io",
            ),
            (
                json!({"k": "required_actions", "v": ["password"], "o": "regex_in"}),
                "a@x.io",
            ),
        ];
        for (condition, expected) in cases {
            let got = ids(&json!({"filter": [condition.clone()]})).join(" ");
            assert_eq!(got, expected, "{condition}");
        }
        let many: Vec<String> = (0..=CONDITIONS_MAX).map(|i| format!("^{i}")).collect();
        for bad in [
            json!({"k": "name", "v": [], "o": "regex_in"}),
            json!({"k": "name", "v": "^a", "o": "regex_in"}),
            json!({"k": "name", "v": ["("], "o": "regex_in"}),
            json!({"k": "name", "v": [1], "o": "regex_in"}),
            json!({"k": "name", "v": many, "o": "regex_in"}),
            json!({"k": "name", "v": ["x".repeat(REGEX_MAX + 1)], "o": "regex_in"}),
        ] {
            assert!(refused(json!({"filter": [bad.clone()]})), "{bad}");
        }
    }

    #[test]
    fn match_tests_the_elements_of_a_list() {
        let rows = [
            json!({"user_id": "p", "scores": [1, 7], "roles": [{"name": "a", "level": 2}, {"name": "b", "level": 9}]}),
            json!({"user_id": "q", "scores": [4], "roles": [{"name": "a", "level": 9}]}),
            json!({"user_id": "r", "scores": 5, "roles": []}),
        ];
        let picked = |condition: Value| {
            let query = json!({"filter": [condition]});
            let query = parse_query(query.as_object().cloned()).unwrap();
            rows.iter()
                .filter(|d| query.filter.matches(d))
                .map(|d| d["user_id"].as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            picked(json!({"k": "roles", "v": {"name": "a", "level": {"$gte": 5}}, "o": "match"})),
            "q"
        );
        assert_eq!(
            picked(json!({"k": "roles", "v": {"name": {"$in": ["b", "c"]}}, "o": "match"})),
            "p"
        );
        assert_eq!(
            picked(json!({"k": "scores", "v": {"$gt": 3, "$lt": 6}, "o": "match"})),
            "q",
            "not a list: no element matches"
        );
        assert_eq!(picked(json!({"k": "roles", "v": {}, "o": "match"})), "p q");
        let many: Map<String, Value> = (0..=CONDITIONS_MAX)
            .map(|i| (format!("f{i}"), json!(i)))
            .collect();
        for bad in [
            json!({"k": "roles", "v": "a", "o": "match"}),
            json!({"k": "roles", "v": ["a"], "o": "match"}),
            json!({"k": "roles", "v": {"$where": "1"}, "o": "match"}),
            json!({"k": "roles", "v": {"name": {"$regex": "a"}}, "o": "match"}),
            json!({"k": "roles", "v": {"name": {"$eq": 1, "x": 2}}, "o": "match"}),
            json!({"k": "roles", "v": {"$in": "a"}, "o": "match"}),
            json!({"k": "roles", "v": many, "o": "match"}),
        ] {
            assert!(refused(json!({"filter": [bad.clone()]})), "{bad}");
        }
    }

    #[test]
    fn timediff_reads_the_time_as_spaceone_does() {
        // A Wednesday.
        let now = chrono::NaiveDate::from_ymd_opt(2024, 5, 15)
            .unwrap()
            .and_hms_milli_opt(13, 14, 15, 500)
            .unwrap();
        let at = |text: &str| parse_datetime(text).unwrap();
        let cases = [
            ("now", at("2024-05-15T13:14:15.500Z")),
            ("now/d", at("2024-05-15")),
            ("now/w", at("2024-05-13")),
            ("now/m", at("2024-05-01")),
            ("now/d - 7d", at("2024-05-08")),
            ("now/d-7d", at("2024-05-08")),
            (" now +1h ", at("2024-05-15T14:14:15.500Z")),
            ("now - 2w", at("2024-05-01T13:14:15.500Z")),
            ("now-30m", at("2024-05-15T12:44:15.500Z")),
            ("now-5s", at("2024-05-15T13:14:10.500Z")),
            // `[+|-]` lets `|` through, and it subtracts.
            ("now|1d", at("2024-05-14T13:14:15.500Z")),
            ("now/d+1d\n", at("2024-05-16")),
            ("  now/m  ", at("2024-05-01")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timediff(text, now), Some(expected), "{text:?}");
        }
        for bad in [
            "",
            "yesterday",
            "now - 7",
            "now - d",
            "now -  7d",
            "  now-7d",
            "now-7y",
            "now|1|",
            "now-1d  ",
            "now/y",
            "NOW",
            "now-99999999999d",
            "now - 7 d",
        ] {
            assert_eq!(parse_timediff(bad, now), None, "{bad:?}");
        }
        let cases = [
            (
                json!({"k": "created_at", "v": "now/d", "o": "timediff_lt"}),
                "a@x.io b@x.io c@y.io",
            ),
            (
                json!({"k": "created_at", "v": "now", "o": "timediff_gt"}),
                "",
            ),
            (
                json!({"k": "created_at", "v": "now/d - 7d", "o": "timediff_lte"}),
                "a@x.io b@x.io c@y.io",
            ),
            (
                json!({"k": "created_at", "v": "now + 1w", "o": "timediff_gte"}),
                "",
            ),
        ];
        for (condition, expected) in cases {
            let got = ids(&json!({"filter": [condition.clone()]})).join(" ");
            assert_eq!(got, expected, "{condition}");
        }
        for bad in [json!("7d"), json!(7), json!(["now"])] {
            let condition = json!({"k": "created_at", "v": bad, "o": "timediff_gt"});
            assert!(
                refused(json!({"filter": [condition.clone()]})),
                "{condition}"
            );
        }
    }

    #[test]
    fn date_format_groups_by_year_month_day_or_a_format() {
        let rows = stat_rows(
            docs(),
            json!([{"group": {
                "keys": [{"key": "created_at", "name": "year", "date_format": "year"},
                         {"key": "created_at", "name": "month", "date_format": "%Y-%m"}],
                "fields": [{"name": "n", "operator": "count"}]}}]),
        )
        .unwrap();
        assert_eq!(
            rows,
            [
                json!({"year": 2024, "month": "2024-01", "n": 1}),
                json!({"year": 2024, "month": "2024-03", "n": 1}),
                json!({"year": 2024, "month": "2024-05", "n": 1})
            ]
        );
        let rows = stat_rows(
            docs(),
            json!([{"group": {"keys": [{"key": "created_at", "name": "d", "date_format": "%d|%j|%w|%u|%H:%M:%S.%L%z %%"},
                                       {"key": "created_at", "name": "day", "date_format": "day"},
                                       {"key": "created_at", "name": "m", "date_format": "month"}]}},
                   {"limit": 1}]),
        )
        .unwrap();
        // 2024-01-02 is a Tuesday: %w counts from Sunday = 1, %u from Monday = 1.
        assert_eq!(
            rows,
            [json!({"d": "02|002|3|2|00:00:00.000+0000 %", "day": 2, "m": 1})]
        );
        // A value that is not a date fails the query, as MongoDB's date operators do.
        let not_a_date = stat_rows(
            docs(),
            json!([{"group": {"keys": [{"key": "name", "name": "y", "date_format": "year"}]}}]),
        );
        assert_eq!(not_a_date.unwrap_err().status(), 400);
        for format in ["%Q", "%", "x".repeat(KEY_MAX + 1).as_str()] {
            let query = json!({"aggregate": [{"group": {"keys": [{"key": "created_at", "date_format": format}]}}]});
            assert!(refused(query), "{format}");
        }
    }

    #[test]
    fn push_takes_sub_fields_and_count_sum_average_take_conditions() {
        let rows = vec![
            json!({"team": "a", "user": "p", "n": 1, "state": "ENABLED"}),
            json!({"team": "a", "user": "q", "n": 4, "state": "DISABLED"}),
            json!({"team": "b", "user": "r", "state": "ENABLED"}),
        ];
        let answer = stat_rows(
            rows,
            json!([{"group": {"keys": [{"key": "team", "name": "team"}], "fields": [
                {"name": "who", "operator": "push", "fields": [{"key": "user", "name": "u"}, {"k": "n", "n": "count"}]},
                {"name": "enabled", "operator": "count", "conditions": [{"key": "state", "value": "ENABLED", "operator": "eq"}]},
                {"key": "n", "name": "big", "operator": "sum", "conditions": [{"k": "n", "v": 2, "o": "gt"}]},
                {"key": "n", "name": "avg", "operator": "average", "conditions": [{"k": "state", "v": "ENABLED", "o": "not"}]}
            ]}}]),
        )
        .unwrap();
        assert_eq!(
            answer,
            [
                json!({"team": "a", "who": [{"u": "p", "count": 1}, {"u": "q", "count": 4}], "enabled": 1, "big": 4, "avg": 2}),
                json!({"team": "b", "who": [{"u": "r"}], "enabled": 1, "big": 0, "avg": 0})
            ]
        );
        let merged = stat_rows(
            vec![json!({"t": {"a": 1, "b": 1}}), json!({"t": {"b": 2}}), json!({"t": 3})],
            json!([{"group": {"fields": [{"key": "t", "name": "t", "operator": "merge_objects"}]}}]),
        )
        .unwrap();
        assert_eq!(merged, [json!({"t": {"a": 1, "b": 2}})]);
        let many: Vec<Value> = (0..=CONDITIONS_MAX)
            .map(|i| json!({"k": "n", "v": i, "o": "not"}))
            .collect();
        for bad in [
            json!({"name": "x", "operator": "push"}),
            json!({"key": "n", "name": "x", "operator": "max", "conditions": [{"k": "n", "v": 1, "o": "eq"}]}),
            json!({"key": "n", "name": "x", "operator": "push", "conditions": [{"k": "n", "v": 1, "o": "eq"}]}),
            json!({"name": "x", "operator": "count", "conditions": [{"k": "n", "v": 1, "o": "regex"}]}),
            json!({"name": "x", "operator": "count", "conditions": [{"k": "n", "o": "eq"}]}),
            json!({"name": "x", "operator": "count", "conditions": many}),
            json!({"name": "x", "operator": "push", "fields": [{"key": "n"}]}),
        ] {
            let query = json!({"aggregate": [{"group": {"fields": [bad.clone()]}}]});
            assert!(refused(query), "{bad}");
        }
    }

    #[test]
    fn unwind_and_project_reshape_rows() {
        let rows = vec![
            json!({"user": "p", "roles": ["a", "b"], "n": 6, "tags": {"x": 1}}),
            json!({"user": "q", "roles": [], "n": 3}),
            json!({"user": "r", "n": 2}),
            json!({"user": "s", "roles": "c", "n": 1}),
        ];
        let unwound = stat_rows(rows.clone(), json!([{"unwind": {"path": "roles"}}])).unwrap();
        assert_eq!(
            unwound
                .iter()
                .map(|r| format!("{}:{}", r["user"], r["roles"]))
                .collect::<Vec<_>>(),
            ["\"p\":\"a\"", "\"p\":\"b\"", "\"s\":\"c\""]
        );
        let projected = stat_rows(
            rows.clone(),
            json!([
                {"group": {"keys": [{"key": "user", "name": "user"}],
                           "fields": [{"key": "n", "name": "n", "operator": "sum"},
                                      {"key": "roles", "name": "roles", "operator": "first"},
                                      {"key": "tags", "name": "tags", "operator": "first"}]}},
                {"limit": 1},
                {"project": {"fields": [
                    {"key": "n", "name": "copy"},
                    {"key": "roles", "name": "size", "operator": "size"},
                    {"key": "roles", "name": "total", "operator": "sum"},
                    {"key": "tags", "name": "pairs", "operator": "object_to_array"},
                    {"name": "calc", "operator": "divide", "fields": [{"operator": "add", "fields": ["n", 2]}, 4]},
                    {"name": "diff", "operator": "subtract", "fields": ["n", "missing"]},
                    {"key": "missing", "name": "gone"}
                ]}}
            ]),
        )
        .unwrap();
        assert_eq!(
            projected,
            [
                json!({"user": "p", "copy": 6, "size": 2, "total": 0, "pairs": [{"k": "x", "v": 1}], "calc": 2, "diff": null})
            ]
        );
        let excluded = stat_rows(
            vec![json!({"pairs": [["a", 1], {"k": "b", "v": 2}]})],
            json!([{"group": {"keys": [{"key": "pairs", "name": "pairs"}]}},
                   {"project": {"exclude_keys": true, "fields": [{"key": "pairs", "name": "o", "operator": "array_to_object"}]}}]),
        );
        assert_eq!(excluded.unwrap(), [json!({"o": {"a": 1, "b": 2}})]);
        for (stages, why) in [
            (
                json!([{"project": {"fields": [{"key": "n", "name": "s", "operator": "size"}]}}]),
                "size of a number",
            ),
            (
                json!([{"project": {"fields": [{"name": "d", "operator": "divide", "fields": ["n", 0]}]}}]),
                "divide by zero",
            ),
            (
                json!([{"project": {"fields": [{"name": "d", "operator": "add", "fields": ["user"]}]}}]),
                "adding text",
            ),
        ] {
            assert_eq!(
                stat_rows(rows.clone(), stages).unwrap_err().status(),
                400,
                "{why}"
            );
        }
        let mut deep = json!(["n"]);
        for _ in 0..CALCULATION_DEPTH_MAX {
            deep = json!([{"operator": "add", "fields": deep}]);
        }
        let operands: Vec<Value> = (0..=CONDITIONS_MAX).map(|i| json!(i)).collect();
        for bad in [
            json!({"project": {}}),
            json!({"project": {"fields": [{"key": "n"}]}}),
            json!({"project": {"fields": [{"name": "x"}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "pow", "key": "n"}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "add"}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "subtract", "fields": [1]}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "add", "fields": [true]}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "add", "fields": deep}]}}),
            json!({"project": {"fields": [{"name": "x", "operator": "add", "fields": operands}]}}),
            json!({"unwind": {}}),
            json!({"unwind": {"path": "x".repeat(KEY_MAX + 1)}}),
            json!({"unwind": "roles"}),
        ] {
            assert!(refused(json!({"aggregate": [bad.clone()]})), "{bad}");
        }
    }

    #[test]
    fn unwind_is_bounded_by_the_values_it_would_copy() {
        let wide: Vec<Value> = (0..2000).map(|i| json!(i)).collect();
        let rows = vec![json!({"a": wide.clone(), "b": wide})];
        let err = stat_rows(rows, json!([{"unwind": {"path": "a"}}])).unwrap_err();
        assert_eq!(err.status(), 400);
        // Few values, but more rows than any stage may pass on.
        let rows: Vec<Value> = (0..400)
            .map(|_| json!({"a": (0..300).collect::<Vec<u32>>()}))
            .collect();
        let err = stat_rows(rows, json!([{"unwind": {"path": "a"}}])).unwrap_err();
        assert!(format!("{err:?}").contains("100000 rows"), "{err:?}");
    }
}
