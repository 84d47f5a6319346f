//! Reads `template.yaml`, so that the local stack serves exactly its routes and creates exactly its
//! table.

use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_yaml::Value;

pub fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("template.yaml")
}

pub fn load() -> Result<Value, String> {
    let path = template_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(name, resource)| Some((name.as_str()?, resource)))
}

/// One API route of the template: method, path (with `{param}` placeholders) and the function
/// directory under `functions/` that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
    pub resource: String,
}

/// A function of the template: its resource name and its directory under `functions/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub resource: String,
    pub directory: String,
}

pub fn functions(template: &Value) -> Vec<Function> {
    resources(template)
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|(name, r)| {
            let code_uri = r["Properties"]["CodeUri"].as_str()?;
            let directory = code_uri.strip_prefix("functions/")?.trim_end_matches('/');
            Some(Function {
                resource: name.to_owned(),
                directory: directory.to_owned(),
            })
        })
        .collect()
}

/// The `MemorySize` (MB) the template gives the function in `functions/<directory>`: its own, else
/// the global one.
pub fn memory_size(template: &Value, directory: &str) -> Option<u64> {
    let function = functions(template)
        .into_iter()
        .find(|f| f.directory == directory)?;
    template["Resources"][function.resource.as_str()]["Properties"]["MemorySize"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["MemorySize"].as_u64())
}

pub fn routes(template: &Value) -> Vec<Route> {
    let mut routes = Vec::new();
    for function in functions(template) {
        let events = &template["Resources"][function.resource.as_str()]["Properties"]["Events"];
        for (_, event) in events.as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("Api") {
                continue;
            }
            let properties = &event["Properties"];
            if let (Some(path), Some(method)) =
                (properties["Path"].as_str(), properties["Method"].as_str())
            {
                routes.push(Route {
                    method: method.to_uppercase(),
                    path: path.to_owned(),
                    function: function.directory.clone(),
                    resource: function.resource.clone(),
                });
            }
        }
    }
    routes
}

fn table(template: &Value) -> Result<&Value, String> {
    resources(template)
        .find(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .map(|(_, r)| &r["Properties"])
        .ok_or_else(|| "template.yaml has no AWS::DynamoDB::Table".to_owned())
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("table definition: {key} missing"))
}

fn key_schema(value: &Value) -> Result<Vec<KeySchemaElement>, String> {
    value
        .as_sequence()
        .ok_or("table definition: KeySchema missing")?
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(text(element, "AttributeName")?)
                .key_type(KeyType::from(text(element, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Creates the template's table in the store the client points at; `Ok(false)` if it exists.
pub async fn create_table(client: &Client, table_name: &str) -> Result<bool, String> {
    let template = load()?;
    let properties = table(&template)?;
    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest);
    for attribute in properties["AttributeDefinitions"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(attribute, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(attribute, "AttributeType")?))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    request = request.set_key_schema(Some(key_schema(&properties["KeySchema"])?));
    for index in properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let non_key: Option<Vec<String>> = index["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            });
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(text(
                &index["Projection"],
                "ProjectionType",
            )?))
            .set_non_key_attributes(non_key)
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName")?)
                .set_key_schema(Some(key_schema(&index["KeySchema"])?))
                .projection(projection)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(view) = properties["StreamSpecification"]["StreamViewType"].as_str() {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match request.send().await {
        Ok(_) => {
            enable_time_to_live(client, table_name, &properties["TimeToLiveSpecification"]).await?;
            Ok(true)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(format!(
            "creating table {table_name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )),
    }
}

async fn enable_time_to_live(
    client: &Client,
    table_name: &str,
    specification: &Value,
) -> Result<(), String> {
    let Some(attribute) = specification["AttributeName"].as_str() else {
        return Ok(());
    };
    let enabled = specification["Enabled"].as_bool().unwrap_or(false);
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(enabled)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "time to live on {table_name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })
}
