//! JSON request bodies with every object key given once.
//!
//! `serde_json` keeps the last of two equal keys. A proxy, a WAF or a log reader that keeps the
//! first would then see another request than the one served (`{"domain_id": "other",
//! "domain_id": "local"}`), so a body that repeats a key, at any depth, is refused as malformed.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses one JSON document, refusing a key repeated within any object.
pub fn from_slice(body: &[u8]) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = UniqueKeys.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Builds a `serde_json::Value` as `Value`'s own `Deserialize` does, but fails on a repeated key.
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        UniqueKeys.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
        while let Some(item) = seq.next_element_seed(UniqueKeys)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key \"{}\" is given more than once",
                    key.escape_debug()
                )));
            }
            let value = map.next_value_seed(UniqueKeys)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_serde_json_parses() {
        let body = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": {"d": []}}"#;
        assert_eq!(
            from_slice(body).unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
    }

    #[test]
    fn refuses_a_repeated_key_at_any_depth() {
        for body in [
            r#"{"domain_id": "other", "domain_id": "local"}"#,
            r#"{"auth": {"user": {"name": "nobody", "name": "admin"}}}"#,
            r#"{"query": {"filter": [{"k": "a", "k": "b"}]}}"#,
            // The same key spelled with an escape is the same key.
            r#"{"name": "a", "n\u0061me": "b"}"#,
        ] {
            let error = from_slice(body.as_bytes()).unwrap_err().to_string();
            assert!(error.contains("more than once"), "{body}: {error}");
        }
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        let value = from_slice(br#"{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]}"#);
        assert_eq!(
            value.unwrap(),
            json!({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]})
        );
    }

    #[test]
    fn refuses_trailing_content() {
        assert!(from_slice(br#"{"a": 1} {"a": 2}"#).is_err());
    }
}
