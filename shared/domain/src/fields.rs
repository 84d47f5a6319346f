//! The fields of a JSON request body, taken one by one with precise errors; what is left at the
//! end is an unknown field. Every dialect reads its vendor's bodies through this.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a JSON object, taken one by one; what is left at the end is an unknown field.
pub struct Fields {
    map: Map<String, Value>,
    prefix: String,
}

/// Whether `""`, `false`, `[]` and `{}` count as absent (SpaceONE drops empty values before its
/// checks); `null` is always absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    IsMissing,
    IsValue,
}

/// Drops the absent values; an empty value of one of `kept` stays a value whatever `empty` says.
fn drop_empty(map: &mut Map<String, Value>, empty: Empty, kept: &[&str]) {
    map.retain(|key, value| match value {
        Value::Null => false,
        _ if kept.contains(&key.as_str()) => true,
        Value::String(s) => empty == Empty::IsValue || !s.is_empty(),
        Value::Bool(b) => empty == Empty::IsValue || *b,
        Value::Array(a) => empty == Empty::IsValue || !a.is_empty(),
        Value::Object(o) => empty == Empty::IsValue || !o.is_empty(),
        Value::Number(_) => true,
    });
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Fields {
    /// Parses a request body that must be one JSON object of at most `MAX_BODY_BYTES`.
    pub fn from_body(body: &[u8], empty: Empty) -> ApiResult<Fields> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::MalformedBody("the body is empty".into()));
        }
        let value =
            crate::json::from_slice(body).map_err(|e| ApiError::MalformedBody(e.to_string()))?;
        match value {
            Value::Object(map) => Ok(Fields::new(map, String::new(), empty)),
            other => Err(ApiError::MalformedBody(format!(
                "expected an object, got {}",
                describe(&other)
            ))),
        }
    }

    /// `from_body`, except that an empty value of one of `kept` stays a value (SpaceONE's explicit
    /// empty `Struct`: `"tags": {}` clears the tags).
    pub fn from_body_keeping(body: &[u8], empty: Empty, kept: &[&str]) -> ApiResult<Fields> {
        let mut fields = Fields::from_body(body, Empty::IsValue)?;
        drop_empty(&mut fields.map, empty, kept);
        Ok(fields)
    }

    fn new(mut map: Map<String, Value>, prefix: String, empty: Empty) -> Fields {
        drop_empty(&mut map, empty, &[]);
        Fields { map, prefix }
    }

    /// The fields of a nested object; `prefix` names it in errors (`query.`).
    pub fn from_map(map: Map<String, Value>, prefix: String, empty: Empty) -> Fields {
        Fields::new(map, prefix, empty)
    }

    /// A field as it came, for values of more than one shape.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// A whole number; protobuf's JSON also spells integers as strings (`"10"`).
    pub fn integer(&mut self, key: &str) -> ApiResult<Option<i64>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(s.parse().ok()),
            Some(other) => Err(self.wrong_type(key, "a whole number", &other)),
        }
    }

    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn wrong_type(&self, key: &str, expected: &str, got: &Value) -> ApiError {
        ApiError::invalid(
            &self.path(key),
            format!("must be {expected}, not {}", describe(got)),
        )
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn string(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", &other)),
        }
    }

    /// A string under either of its two names (a protobuf message's short field name, `k`, or the
    /// long one, `key`); given under both, the long one is left over as an unknown field.
    pub fn string_either(&mut self, short: &str, long: &str) -> ApiResult<Option<String>> {
        match self.string(short)? {
            Some(value) => Ok(Some(value)),
            None => self.string(long),
        }
    }

    pub fn required_string(&mut self, key: &str) -> ApiResult<String> {
        self.string(key)?
            .ok_or_else(|| ApiError::RequiredParameter(self.path(key)))
    }

    pub fn boolean(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong_type(key, "a boolean", &other)),
        }
    }

    /// A free-form JSON object (a protobuf `Struct`).
    pub fn object(&mut self, key: &str) -> ApiResult<Option<Map<String, Value>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(self.wrong_type(key, "an object", &other)),
        }
    }

    /// A nested object whose own fields are checked the same way.
    pub fn nested(&mut self, key: &str, empty: Empty) -> ApiResult<Option<Fields>> {
        let prefix = format!("{}{key}.", self.prefix);
        Ok(self.object(key)?.map(|map| Fields::new(map, prefix, empty)))
    }

    pub fn required_nested(&mut self, key: &str, empty: Empty) -> ApiResult<Fields> {
        self.nested(key, empty)?
            .ok_or_else(|| ApiError::RequiredParameter(self.path(key)))
    }

    pub fn string_list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    other => Err(self.wrong_type(key, "a list of strings", &other)),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(key, "a list of strings", &other)),
        }
    }

    /// Refuses whatever field was not taken.
    pub fn finish(self) -> ApiResult<()> {
        match self.map.keys().next() {
            Some(unknown) => Err(ApiError::UnknownField(format!("{}{unknown}", self.prefix))),
            None => Ok(()),
        }
    }
}
