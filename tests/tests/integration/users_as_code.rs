//! Users as code: the `Custom::User` CloudFormation resource (functions/user_resource) against
//! DynamoDB Local, answering to a response URL on 127.0.0.1, with passwords from a Secrets Manager
//! stand-in or mailed through the outbox.

use crate::common;

use std::collections::HashMap;

use common::{TestEnv, config, unique_tenant};
use lambda::model::{Role, UserState};
use lambda::outbox::Template;
use lambda::provisioning::UserResourceRequest;
use lambda::secrets::SecretStore;
use local_stack::cloudformation::{ResponseBin, secrets_manager};
use serde_json::{Value, json};
use user_resource::Resources;

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/people/5b6a-11ef";
const ALICE_PASSWORD: &str = "Alice-Secret-Passw0rd";
const NEW_PASSWORD: &str = "Rotated-Secret-Passw0rd";

struct Harness {
    env: TestEnv,
    bin: ResponseBin,
    resources: &'static Resources,
}

impl Harness {
    async fn new() -> Harness {
        Harness::with(config()).await
    }

    async fn with(settings: lambda::app::Config) -> Harness {
        let env = TestEnv::with_config(settings).await;
        let bin = ResponseBin::start().await;
        let endpoint = secrets_manager(HashMap::from([
            ("people/alice".to_owned(), ALICE_PASSWORD.to_owned()),
            (
                "people/json".to_owned(),
                json!({"password": NEW_PASSWORD, "note": "x"}).to_string(),
            ),
        ]))
        .await;
        let sdk = lambda::app::sdk_config(Some(&endpoint)).await;
        let resources = Box::leak(Box::new(Resources {
            app: env.app,
            secrets: SecretStore::new(&sdk, None),
            http: lambda::https::client().unwrap(),
        }));
        Harness {
            env,
            bin,
            resources,
        }
    }

    fn alice(&self) -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:user-resource",
            "TenantId": self.env.tenant,
            "UserId": "alice@example.com",
            "Name": "Alice",
            "Email": "alice@example.com",
            "Role": "MEMBER",
            "RequiredActions": [],
            "Tags": {"team": "platform"},
            "PasswordSecretId": "people/alice",
        })
    }

    fn event(&self, kind: &str, name: &str, logical: &str, extra: Value) -> UserResourceRequest {
        let mut event = json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:user-resource",
            "ResponseURL": self.bin.url(name),
            "StackId": STACK,
            "RequestId": format!("request-{name}"),
            "ResourceType": "Custom::User",
            "LogicalResourceId": logical,
        });
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(event).expect("a CloudFormation custom-resource request")
    }

    /// Runs the request and returns the one response document CloudFormation received.
    async fn run(&self, name: &str, request: UserResourceRequest) -> Value {
        user_resource::handle(self.resources, request)
            .await
            .expect("the answer was delivered");
        let received = self.bin.received(name);
        assert_eq!(received.len(), 1, "one answer per request");
        assert_eq!(received[0].method, "PUT");
        assert_eq!(
            received[0].content_type, None,
            "the pre-signed URL signs no content type"
        );
        let document: Value = serde_json::from_slice(&received[0].body).unwrap();
        let text = document.to_string();
        for secret in [ALICE_PASSWORD, NEW_PASSWORD, "$argon2"] {
            assert!(!text.contains(secret), "a secret in the answer: {text}");
        }
        assert_eq!(document["StackId"], STACK);
        assert_eq!(document["RequestId"], format!("request-{name}"));
        document
    }

    async fn create(&self, name: &str, logical: &str, properties: Value) -> Value {
        let event = self.event(
            "Create",
            name,
            logical,
            json!({"ResourceProperties": properties}),
        );
        self.run(name, event).await
    }

    async fn update(&self, name: &str, physical: &str, old: Value, properties: Value) -> Value {
        let event = self.event(
            "Update",
            name,
            "Alice",
            json!({"PhysicalResourceId": physical, "OldResourceProperties": old,
                   "ResourceProperties": properties}),
        );
        self.run(name, event).await
    }

    async fn delete(&self, name: &str, logical: &str, physical: &str, properties: Value) -> Value {
        let event = self.event(
            "Delete",
            name,
            logical,
            json!({"PhysicalResourceId": physical, "ResourceProperties": properties}),
        );
        self.run(name, event).await
    }

    fn physical(&self, user_id: &str) -> String {
        format!("{}/{user_id}", self.env.tenant)
    }
}

fn with(mut properties: Value, changes: Value) -> Value {
    properties
        .as_object_mut()
        .unwrap()
        .extend(changes.as_object().unwrap().clone());
    properties
}

#[tokio::test]
async fn create_declares_the_user_with_the_secret_password_and_a_replay_changes_nothing() {
    let h = Harness::new().await;
    let answer = h.create("create", "Alice", h.alice()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"],
        h.physical("alice@example.com")
    );
    assert_eq!(answer["LogicalResourceId"], "Alice");
    assert_eq!(answer["Data"]["UserId"], "alice@example.com");
    assert_eq!(answer["Data"]["TenantId"], h.env.tenant);
    assert_eq!(answer["Data"]["State"], "ENABLED");

    let stored = h.env.stored("alice@example.com").await;
    assert_eq!(stored.display_name.as_deref(), Some("Alice"));
    assert_eq!(stored.email.as_deref(), Some("alice@example.com"));
    assert_eq!(stored.tags["team"], "platform");
    assert_eq!(stored.role, Role::Member);
    assert_eq!(
        stored.managed_by.as_deref(),
        Some(format!("{STACK}|Alice").as_str())
    );
    // The password is the secret's: the user can sign in with it.
    h.env.login("alice@example.com", ALICE_PASSWORD).await;

    // The same Create again (CloudFormation retried it): the same answer, nothing written.
    let stored = h.env.stored("alice@example.com").await;
    let replay = h.create("create-replay", "Alice", h.alice()).await;
    assert_eq!(replay["Status"], "SUCCESS", "{replay}");
    assert_eq!(replay["PhysicalResourceId"], answer["PhysicalResourceId"]);
    assert_eq!(h.env.stored("alice@example.com").await, stored);

    // The API sees the user like any other.
    let info = h.env.get_info("alice@example.com").await;
    assert_eq!(info.status, 200, "{}", info.raw);
    assert_eq!(info.body["name"], "Alice");
}

#[tokio::test]
async fn update_changes_the_email_disables_the_user_and_rotates_the_password() {
    let h = Harness::new().await;
    let physical = h.physical("alice@example.com");
    assert_eq!(h.create("c", "Alice", h.alice()).await["Status"], "SUCCESS");
    let token = h.env.login("alice@example.com", ALICE_PASSWORD).await;
    let before = h.env.stored("alice@example.com").await;

    let changed = with(
        h.alice(),
        json!({"Email": "alice@new.example.com", "State": "DISABLED", "Name": "Alice B",
               "RequiredActions": ["UPDATE_PASSWORD"]}),
    );
    let answer = h.update("u1", &physical, h.alice(), changed.clone()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical);
    assert_eq!(answer["Data"]["State"], "DISABLED");
    let after = h.env.stored("alice@example.com").await;
    assert_eq!(after.email.as_deref(), Some("alice@new.example.com"));
    assert!(!after.email_verified);
    assert_eq!(after.display_name.as_deref(), Some("Alice B"));
    assert_eq!(after.state, UserState::Disabled);
    assert!(
        after
            .required_actions
            .contains(&lambda::model::RequiredAction::UpdatePassword)
    );
    assert_eq!(
        after.password_hash, before.password_hash,
        "same secret, same password"
    );
    // The disable revoked the user's token (which could ask for a code to its own address).
    let refused = h
        .env
        .spaceone(
            "verify-email",
            &token,
            json!({"user_id": "alice@example.com", "domain_id": h.env.tenant}),
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.raw);
    // The old address is free again, the new one taken.
    let taken = h
        .env
        .spaceone(
            "create",
            &h.env.admin_token,
            json!({"user_id": "bob@example.com", "backend": "LOCAL", "domain_id": h.env.tenant,
                   "password": "Bob-Passw0rd!", "email": "alice@new.example.com"}),
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.raw);

    // Enabled again, with a password from a member of a JSON secret.
    let rotated = with(
        changed.clone(),
        json!({"State": "ENABLED", "PasswordSecretId": "people/json", "PasswordSecretKey": "password"}),
    );
    let answer = h.update("u2", &physical, changed, rotated).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let after = h.env.stored("alice@example.com").await;
    assert_eq!(after.state, UserState::Enabled);
    assert!(
        after.required_actions.is_empty(),
        "a new password clears UPDATE_PASSWORD"
    );
    let old = h.env.try_login("alice@example.com", ALICE_PASSWORD).await;
    assert_eq!(old.status, 401, "{}", old.raw);
    h.env.login("alice@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_update_that_cannot_apply_fails_with_a_reason_and_changes_nothing() {
    let h = Harness::new().await;
    let physical = h.physical("alice@example.com");
    assert_eq!(h.create("c", "Alice", h.alice()).await["Status"], "SUCCESS");
    let before = h.env.stored("alice@example.com").await;

    let answer = h
        .update(
            "type",
            &physical,
            h.alice(),
            with(
                h.alice(),
                json!({"UserType": "API_USER", "PasswordSecretId": null}),
            ),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"], physical,
        "the resource stays as it was"
    );
    assert!(
        answer["Reason"].as_str().unwrap().contains("UserType"),
        "{answer}"
    );

    let answer = h
        .update(
            "unknown",
            &physical,
            h.alice(),
            with(h.alice(), json!({"Password": "in-the-template"})),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"].as_str().unwrap().contains("Password"),
        "{answer}"
    );

    let answer = h
        .update(
            "secret",
            &physical,
            h.alice(),
            with(h.alice(), json!({"PasswordSecretId": "people/missing"})),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("people/missing"),
        "{answer}"
    );

    let answer = h
        .update(
            "member",
            &physical,
            h.alice(),
            with(
                h.alice(),
                json!({"PasswordSecretId": "people/json", "PasswordSecretKey": "secret"}),
            ),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"].as_str().unwrap().contains("\"secret\""),
        "{answer}"
    );

    assert_eq!(h.env.stored("alice@example.com").await, before);
}

#[tokio::test]
async fn delete_removes_only_the_user_the_resource_declared() {
    let h = Harness::new().await;
    let physical = h.physical("alice@example.com");
    assert_eq!(h.create("c", "Alice", h.alice()).await["Status"], "SUCCESS");

    // Another resource (another logical id) declaring the same user fails, and its rollback
    // Delete leaves Alice alone.
    let clash = h.create("clash", "AliceAgain", h.alice()).await;
    assert_eq!(clash["Status"], "FAILED", "{clash}");
    let rollback = h
        .delete(
            "clash-delete",
            "AliceAgain",
            clash["PhysicalResourceId"].as_str().unwrap(),
            h.alice(),
        )
        .await;
    assert_eq!(rollback["Status"], "SUCCESS", "{rollback}");
    assert_eq!(
        h.env.stored("alice@example.com").await.state,
        UserState::Enabled
    );

    // A user created through the API is not the template's to delete either.
    h.env
        .create_user("carol@example.com", "Carol-Passw0rd!", json!({}))
        .await;
    let carol = with(
        h.alice(),
        json!({"UserId": "carol@example.com", "Email": null}),
    );
    assert_eq!(
        h.create("carol", "Carol", carol.clone()).await["Status"],
        "FAILED"
    );
    let answer = h
        .delete(
            "carol-delete",
            "Carol",
            &h.physical("carol@example.com"),
            carol,
        )
        .await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(
        h.env.stored("carol@example.com").await.state,
        UserState::Enabled
    );

    // The declaring resource's Delete deletes Alice (pending deletion, like the API's delete).
    let answer = h.delete("d", "Alice", &physical, h.alice()).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], physical);
    assert_eq!(
        h.env.stored("alice@example.com").await.state,
        UserState::PendingDelete
    );
    assert_eq!(h.env.get_info("alice@example.com").await.status, 404);
    // Deleting again (a retried Delete) is fine.
    let again = h.delete("d2", "Alice", &physical, h.alice()).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
}

#[tokio::test]
async fn a_new_user_id_replaces_the_user_and_the_old_one_is_deleted_after() {
    let h = Harness::new().await;
    let old_physical = h.physical("alice@example.com");
    assert_eq!(h.create("c", "Alice", h.alice()).await["Status"], "SUCCESS");
    let renamed = with(
        h.alice(),
        json!({"UserId": "alice2@example.com", "Email": "alice2@example.com"}),
    );
    let answer = h
        .update("rename", &old_physical, h.alice(), renamed.clone())
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["PhysicalResourceId"],
        h.physical("alice2@example.com")
    );
    assert_eq!(
        h.env.stored("alice2@example.com").await.state,
        UserState::Enabled
    );
    // CloudFormation's clean-up deletes the old physical id.
    let cleanup = h.delete("cleanup", "Alice", &old_physical, h.alice()).await;
    assert_eq!(cleanup["Status"], "SUCCESS");
    assert_eq!(
        h.env.stored("alice@example.com").await.state,
        UserState::PendingDelete
    );
    assert_eq!(
        h.env.stored("alice2@example.com").await.state,
        UserState::Enabled
    );
}

#[tokio::test]
async fn bad_properties_fail_before_anything_is_written() {
    let h = Harness::new().await;
    let before = h.env.partition().await.len();
    for (name, properties, reason) in [
        ("no-user", json!({"TenantId": h.env.tenant}), "UserId"),
        (
            "bad-state",
            with(h.alice(), json!({"State": "ASLEEP"})),
            "State",
        ),
        (
            "both",
            with(h.alice(), json!({"TemporaryPassword": "true"})),
            "TemporaryPassword",
        ),
        (
            "api-password",
            with(h.alice(), json!({"UserType": "API_USER"})),
            "LOCAL USER",
        ),
        (
            "bad-email",
            with(h.alice(), json!({"Email": "not an address"})),
            "Email",
        ),
        (
            "no-tenant",
            with(h.alice(), json!({"TenantId": unique_tenant("none")})),
            "tenant",
        ),
        (
            "tag-twice",
            with(
                h.alice(),
                json!({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]}),
            ),
            "Tags[1]",
        ),
    ] {
        let answer = h.create(name, "Alice", properties).await;
        assert_eq!(answer["Status"], "FAILED", "{name}: {answer}");
        let given = answer["Reason"].as_str().unwrap().to_lowercase();
        assert!(given.contains(&reason.to_lowercase()), "{name}: {answer}");
        // Its rollback Delete finds nothing of its own to delete.
        let physical = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
        assert!(!physical.is_empty());
        let rollback = h
            .delete(&format!("{name}-delete"), "Alice", &physical, json!({}))
            .await;
        assert_eq!(rollback["Status"], "SUCCESS", "{name}: {rollback}");
    }
    assert_eq!(h.env.partition().await.len(), before, "nothing was written");
}

#[tokio::test]
async fn a_temporary_password_goes_through_the_outbox_and_must_be_changed() {
    let h = Harness::new().await;
    let properties = with(
        h.alice(),
        json!({"PasswordSecretId": null, "TemporaryPassword": "true", "Role": "ADMIN", "State": "ENABLED"}),
    );
    let answer = h.create("temp", "Alice", properties).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let stored = h.env.stored("alice@example.com").await;
    assert_eq!(stored.role, Role::Admin);
    assert!(
        stored
            .required_actions
            .contains(&lambda::model::RequiredAction::UpdatePassword)
    );
    let temporary = h
        .env
        .last_secret("alice@example.com", Template::TemporaryPassword)
        .await
        .expect("a temporary password in the outbox");
    assert!(!answer.to_string().contains(&temporary));
    // The temporary password signs in, and nothing but a password change is allowed with it.
    let token = h.env.login("alice@example.com", &temporary).await;
    let refused = h
        .env
        .spaceone(
            "get",
            &token,
            json!({"user_id": "admin", "domain_id": h.env.tenant}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.raw);
}

#[tokio::test]
async fn the_event_file_replays_against_the_local_stack() {
    let h = Harness::new().await;
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/user_resource.json");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{{DOMAIN_ID}}", &h.env.tenant)
        .replace("{{RESPONSE_URL}}", &h.bin.url("event"));
    let request: UserResourceRequest = serde_json::from_str(&text).unwrap();
    user_resource::observed(h.resources, "user_resource", request, None)
        .await
        .unwrap();
    // Its access line, by CloudFormation's request id.
    let line = common::access_line("0d9f1c5e-6c53-4b3a-9a87-1f0e7c8d9b10");
    assert_eq!(line["route"], "Custom::User Create");
    assert_eq!(line["tenant"], h.env.tenant);
    assert_eq!(line["target_user"], "dana@example.com");
    assert_eq!(line["status"], 200);
    let received = h.bin.received("event");
    let answer: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let user_id = answer["Data"]["UserId"].as_str().unwrap();
    assert!(
        h.env
            .last_secret(user_id, Template::TemporaryPassword)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn an_update_applies_only_what_the_template_changed() {
    let h = Harness::new().await;
    let physical = h.physical("alice@example.com");
    assert_eq!(h.create("c", "Alice", h.alice()).await["Status"], "SUCCESS");
    // An administrator disables Alice and changes her tags through the API.
    let disabled = h
        .env
        .spaceone(
            "disable",
            &h.env.admin_token,
            json!({"user_id": "alice@example.com", "domain_id": h.env.tenant}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);
    let tagged = h
        .env
        .spaceone(
            "update",
            &h.env.admin_token,
            json!({"user_id": "alice@example.com", "domain_id": h.env.tenant,
                   "tags": {"team": "incident"}}),
        )
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.raw);

    // A stack update that only renames her keeps the disable and the tags.
    let renamed = with(h.alice(), json!({"Name": "Alice Renamed"}));
    let answer = h
        .update("rename", &physical, h.alice(), renamed.clone())
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let stored = h.env.stored("alice@example.com").await;
    assert_eq!(stored.display_name.as_deref(), Some("Alice Renamed"));
    assert_eq!(stored.state, UserState::Disabled);
    assert_eq!(stored.tags["team"], "incident");

    // Asking for a temporary password in an update mails one that must be changed.
    let temporary = with(
        renamed.clone(),
        json!({"PasswordSecretId": null, "TemporaryPassword": "true"}),
    );
    let answer = h
        .update("temporary", &physical, renamed, temporary.clone())
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let stored = h.env.stored("alice@example.com").await;
    assert_eq!(
        stored.state,
        UserState::Disabled,
        "State is not in the change"
    );
    assert!(
        stored
            .required_actions
            .contains(&lambda::model::RequiredAction::UpdatePassword)
    );
    let mailed = h
        .env
        .last_secret("alice@example.com", Template::TemporaryPassword)
        .await
        .expect("a temporary password in the outbox");

    // Declaring her disabled, then enabled, is a change the template makes: she can sign in.
    let off = with(temporary.clone(), json!({"State": "DISABLED"}));
    assert_eq!(
        h.update("off", &physical, temporary, off.clone()).await["Status"],
        "SUCCESS"
    );
    let on = with(off.clone(), json!({"State": "ENABLED"}));
    assert_eq!(
        h.update("on", &physical, off, on).await["Status"],
        "SUCCESS"
    );
    assert_eq!(
        h.env.stored("alice@example.com").await.state,
        UserState::Enabled
    );
    h.env.login("alice@example.com", &mailed).await;
}

#[tokio::test]
async fn only_the_allowed_tenants_are_managed_and_answers_go_to_aws_only() {
    let h = Harness::with(lambda::app::Config {
        provisioning_tenants: Some(vec!["another-tenant".into()]),
        ..config()
    })
    .await;
    let answer = h.create("refused", "Alice", h.alice()).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("UserResourceTenants"),
        "{answer}"
    );
    assert_eq!(h.env.get_info("alice@example.com").await.status, 404);

    // An answer is only ever put to S3 (or, in tests, loopback).
    let response = lambda::provisioning::answer(
        h.resources.app,
        &h.resources.secrets,
        &h.event(
            "Delete",
            "x",
            "Alice",
            json!({"PhysicalResourceId": "unprovisioned:x",
                                                 "ResourceProperties": {}}),
        ),
    )
    .await
    .0;
    let client = lambda::https::client().unwrap();
    for url in [
        "https://collector.example.com/steal",
        "http://10.0.0.1/internal",
    ] {
        assert!(
            lambda::provisioning::respond(&client, url, &response)
                .await
                .is_err(),
            "{url}"
        );
    }
}

/// Issue 31, item 1: CloudFormation templates give tags as `[{"Key", "Value"}]`; they are kept as
/// the one object the API answers.
#[tokio::test]
async fn tags_in_cloudformation_form_are_kept_as_an_object() {
    let h = Harness::new().await;
    let properties = with(
        h.alice(),
        json!({"Tags": [{"Key": "team", "Value": "platform"}, {"Key": "cost-centre", "Value": "42"}]}),
    );
    let answer = h.create("listed", "Alice", properties).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let info = h.env.get_info("alice@example.com").await;
    assert_eq!(
        info.body["tags"],
        json!({"team": "platform", "cost-centre": "42"})
    );
}
