//! Users as code: the CloudFormation custom resource `Custom::User`, through the same operations
//! as the API, acting as the deployment itself (`Authority::System`).
//!
//! - The physical id is `<tenant id>/<user id>` (neither may hold a `/`), stable across updates of
//!   everything else. A change of tenant or user id is a replacement: the new user is created, and
//!   CloudFormation then deletes the old one.
//! - The user records the resource that declares it (`managed_by` = `<stack id>|<logical id>`).
//!   A Delete removes only a user this resource declared, so a failed Create of a user someone
//!   else owns, rolled back, never deletes that user.
//! - A replayed Create finds its own user and converges it on the declared properties.
//! - A password never appears in a template: `PasswordSecretId` (and `PasswordSecretKey` for one
//!   member of a JSON secret) names a Secrets Manager secret the function reads, or
//!   `TemporaryPassword: true` mails a temporary one through the notification outbox.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::Value;

use crate::account::{self, Lifecycle, TemporaryPassword};
use crate::app::{App, Secret};
use crate::cloudformation::{DeclaredUser, PasswordSource, parse_physical_id, parse_properties};
use crate::error::{ApiError, ApiResult, UniqueField};
use crate::https::{self, HttpsClient};
use crate::model::{Actor, DisabledBy, RequiredAction, User, UserState};
use crate::ops::{self, Authority, NewUser};
use crate::password::Verified;
use crate::secrets::SecretStore;
use crate::validate::PasswordContext;

pub type UserResourceRequest = CloudFormationCustomResourceRequest<Value, Value>;

/// CloudFormation refuses a response document over 4 KiB; the reason is the only long part.
const REASON_MAX_CHARS: usize = 1_000;

/// What a request does, with what CloudFormation needs to answer it.
struct Context<'a> {
    app: &'a App,
    secrets: &'a SecretStore,
    /// `<stack id>|<logical id>`: the resource, as users record it.
    owner: String,
    actor: Actor,
}

impl Context<'_> {
    fn authority(&self) -> Authority<'_> {
        Authority::System(&self.actor)
    }

    /// Whether this resource declared the user.
    fn owns(&self, user: &User) -> bool {
        user.managed_by.as_deref() == Some(self.owner.as_str())
    }

    /// The deployment's allow-list (`UserResourceTenants`): whoever may invoke the function may
    /// manage these tenants' users, and only these.
    fn may_manage(&self, tenant_id: &str) -> ApiResult<()> {
        crate::telemetry::note(|notes| notes.actor = Some(self.actor.user_id.clone()));
        match &self.app.config.provisioning_tenants {
            Some(allowed) if !allowed.iter().any(|t| t == tenant_id) => {
                Err(ApiError::PermissionDenied(format!(
                    "Custom::User may not manage tenant {tenant_id} (UserResourceTenants)"
                )))
            }
            _ => Ok(()),
        }
    }

    async fn password(&self, declared: &DeclaredUser) -> ApiResult<Option<Secret>> {
        match &declared.password {
            PasswordSource::Secret { id, key } => self
                .secrets
                .read("PasswordSecretId", id, key.as_deref())
                .await
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Creates the declared user; a replayed Create (the user exists and this resource declared
    /// it) converges it instead.
    async fn create(&self, declared: &DeclaredUser) -> ApiResult<User> {
        self.may_manage(&declared.tenant_id)?;
        let password = self.password(declared).await?;
        let new_user = NewUser {
            tenant_id: declared.tenant_id.clone(),
            user_id: declared.user_id.clone(),
            login_name: None,
            display_name: declared.name.clone(),
            email: declared.email.clone(),
            password: password.as_ref().map(|p| p.0.clone()),
            user_type: declared.user_type,
            backend: declared.backend,
            language: declared.language.clone(),
            timezone: declared.timezone.clone(),
            tags: declared.tags.clone(),
            role: declared.role,
            temporary_password: declared.password == PasswordSource::Temporary,
            disabled: !declared.enabled,
            required_actions: declared.required_actions.clone(),
            managed_by: Some(self.owner.clone()),
        };
        match ops::create_user(self.app, self.authority(), new_user).await {
            Err(ApiError::AlreadyExists(UniqueField::UserId)) => {
                let existing = self.owned_user(declared).await?;
                self.converge(existing, declared, None, None).await
            }
            other => other,
        }
    }

    /// The declared user as stored, if this resource declared it.
    async fn owned_user(&self, declared: &DeclaredUser) -> ApiResult<User> {
        let existing = ops::read_managed_user(
            self.app,
            self.authority(),
            &declared.tenant_id,
            &declared.user_id,
        )
        .await?;
        if !self.owns(&existing) {
            return Err(ApiError::AlreadyExists(UniqueField::UserId));
        }
        Ok(existing)
    }

    async fn update(&self, declared: &DeclaredUser, old: Option<&DeclaredUser>) -> ApiResult<User> {
        self.may_manage(&declared.tenant_id)?;
        let existing = match ops::read_managed_user(
            self.app,
            self.authority(),
            &declared.tenant_id,
            &declared.user_id,
        )
        .await
        {
            // Deleted outside the template since: declare it again.
            Err(ApiError::NotFound { .. }) => return self.create(declared).await,
            other => other?,
        };
        if !self.owns(&existing) {
            return Err(ApiError::StateConflict(format!(
                "the user {} is not declared by this resource",
                declared.user_id
            )));
        }
        let password = match old {
            Some(old) if old.password == declared.password => None,
            _ => self.password(declared).await?,
        };
        self.converge(existing, declared, old, password).await
    }

    /// Brings a stored user to what the template changed, in one conditional write: only the
    /// properties whose declaration changed (all of them for a replayed Create, `old` = `None`),
    /// so that a stack update never undoes an administrator's unrelated change (a disable, a new
    /// role). Required actions newly declared are added (a user clears them by acting); a new
    /// secret reference sets its password; a newly asked temporary password is mailed.
    async fn converge(
        &self,
        before: User,
        declared: &DeclaredUser,
        old: Option<&DeclaredUser>,
        password: Option<Secret>,
    ) -> ApiResult<User> {
        if before.user_type != declared.user_type {
            return Err(ApiError::invalid(
                "UserType",
                "cannot change: declare the user under a new UserId",
            ));
        }
        if before.backend != declared.backend {
            return Err(ApiError::invalid(
                "Backend",
                "cannot change: declare the user under a new UserId",
            ));
        }
        fn changed<T: PartialEq>(
            old: Option<&DeclaredUser>,
            declared: &DeclaredUser,
            field: impl Fn(&DeclaredUser) -> &T,
        ) -> bool {
            old.is_none_or(|old| field(old) != field(declared))
        }
        let new_hash = match &password {
            Some(password) => {
                let context = PasswordContext {
                    login_name: &before.login_name,
                    email: declared.email.as_deref(),
                    phone: before.phone.as_deref(),
                };
                self.app
                    .config
                    .password_policy
                    .check(&password.0, &context)?;
                match ops::verify_password(&password.0, before.password_hash.as_deref()).await {
                    Verified::No => Some(ops::hash_password(&password.0).await?),
                    _ => None,
                }
            }
            None => None,
        };
        let temporary = match old {
            Some(old)
                if declared.password == PasswordSource::Temporary
                    && old.password != PasswordSource::Temporary =>
            {
                Some(TemporaryPassword::generate(self.app).await?)
            }
            _ => None,
        };
        let added_actions: Vec<RequiredAction> = declared
            .required_actions
            .iter()
            .filter(|action| old.is_none_or(|old| !old.required_actions.contains(action)))
            .copied()
            .collect();
        ops::write_managed_user(self.app, &self.actor, before, |user, now| {
            if changed(old, declared, |d| &d.name) {
                user.display_name = declared.name.clone();
            }
            if changed(old, declared, |d| &d.email) && user.email != declared.email {
                user.set_email(declared.email.clone());
            }
            if changed(old, declared, |d| &d.language)
                && let Some(language) = &declared.language
            {
                user.language = language.clone();
            }
            if changed(old, declared, |d| &d.timezone)
                && let Some(timezone) = &declared.timezone
            {
                user.timezone = timezone.clone();
            }
            if changed(old, declared, |d| &d.tags) {
                user.tags = declared.tags.clone();
            }
            if changed(old, declared, |d| &d.role) && user.role != declared.role {
                user.role = declared.role;
                user.revoke_tokens();
            }
            if changed(old, declared, |d| &d.enabled) {
                // A user the directory disabled stays disabled: only the directory enables it.
                let directory_disabled = user.disabled_by == Some(DisabledBy::Sync);
                match (declared.enabled, user.state) {
                    (true, UserState::Disabled) if !directory_disabled => {
                        account::apply_lifecycle(user, Lifecycle::Enable, now)?;
                    }
                    (false, UserState::Enabled | UserState::Pending) => {
                        account::apply_lifecycle(user, Lifecycle::Disable, now)?;
                    }
                    _ => {}
                }
            }
            account::require_actions(user, &added_actions)?;
            if let Some(hash) = new_hash {
                user.set_password(hash, now);
            }
            match temporary {
                Some(temporary) => temporary.set_and_mail(self.app, user, now),
                None => Ok(Vec::new()),
            }
        })
        .await
    }

    /// Deletes the user behind a physical id if this resource declared it; anything else (a
    /// failed Create's id, a user already gone, someone else's user) is left alone.
    async fn delete(&self, physical_id: &str) -> ApiResult<()> {
        let Some((tenant_id, user_id)) = parse_physical_id(physical_id) else {
            return Ok(());
        };
        self.may_manage(tenant_id)?;
        let existing =
            match ops::read_managed_user(self.app, self.authority(), tenant_id, user_id).await {
                Err(ApiError::NotFound { .. }) => return Ok(()),
                other => other?,
            };
        if !self.owns(&existing) {
            tracing::info!(
                tenant_id,
                user_id,
                "not declared by this resource: left alone"
            );
            return Ok(());
        }
        ops::write_managed_user(self.app, &self.actor, existing, |user, now| {
            account::apply_lifecycle(user, Lifecycle::Delete, now).map(|()| Vec::new())
        })
        .await
        .map(drop)
    }
}

/// What every kind of request carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHead<'a> {
    /// `Create`, `Update` or `Delete`.
    pub kind: &'static str,
    pub stack_id: &'a str,
    pub request_id: &'a str,
    pub logical_id: &'a str,
    pub response_url: &'a str,
}

/// The request's head; `None` for a request type this crate version does not know.
pub fn head(request: &UserResourceRequest) -> Option<RequestHead<'_>> {
    let (kind, stack_id, request_id, logical_id, response_url) = match request {
        CloudFormationCustomResourceRequest::Create(r) => (
            "Create",
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
            &r.response_url,
        ),
        CloudFormationCustomResourceRequest::Update(r) => (
            "Update",
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
            &r.response_url,
        ),
        CloudFormationCustomResourceRequest::Delete(r) => (
            "Delete",
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
            &r.response_url,
        ),
        _ => return None,
    };
    Some(RequestHead {
        kind,
        stack_id,
        request_id,
        logical_id,
        response_url,
    })
}

/// The document CloudFormation gets for a request; every outcome is one (a failure included),
/// since a request left unanswered holds the stack for an hour. With it, the HTTP status the
/// outcome would have (for the access line).
pub async fn answer(
    app: &App,
    secrets: &SecretStore,
    request: &UserResourceRequest,
) -> (CloudFormationCustomResourceResponse, u16) {
    let RequestHead {
        kind,
        stack_id,
        request_id,
        logical_id,
        ..
    } = head(request).unwrap_or(RequestHead {
        kind: "Unknown",
        ..RequestHead::default()
    });
    let context = Context {
        app,
        secrets,
        owner: format!("{stack_id}|{logical_id}"),
        actor: Actor {
            user_id: "cloudformation".into(),
            endpoint: format!("{kind} {logical_id}"),
        },
    };
    let (physical_id, outcome) = match request {
        CloudFormationCustomResourceRequest::Create(r) => {
            match parse_properties(&r.resource_properties) {
                Ok(declared) => (
                    declared.physical_id(),
                    context.create(&declared).await.map(Some),
                ),
                Err(error) => (format!("unprovisioned:{}", r.request_id), Err(error)),
            }
        }
        CloudFormationCustomResourceRequest::Update(r) => {
            match parse_properties(&r.resource_properties) {
                Ok(declared) if declared.physical_id() != r.physical_resource_id => {
                    // A new tenant or user id: a replacement, after which CloudFormation deletes
                    // the old user. A failed one leaves the resource as it was.
                    match context.create(&declared).await {
                        Ok(user) => (declared.physical_id(), Ok(Some(user))),
                        Err(error) => (r.physical_resource_id.clone(), Err(error)),
                    }
                }
                Ok(declared) => {
                    let old = parse_properties(&r.old_resource_properties).ok();
                    let outcome = context.update(&declared, old.as_ref()).await;
                    (r.physical_resource_id.clone(), outcome.map(Some))
                }
                Err(error) => (r.physical_resource_id.clone(), Err(error)),
            }
        }
        CloudFormationCustomResourceRequest::Delete(r) => (
            r.physical_resource_id.clone(),
            context.delete(&r.physical_resource_id).await.map(|()| None),
        ),
        _ => (
            String::new(),
            Err(ApiError::invalid("RequestType", "unknown request type")),
        ),
    };
    let mut response = CloudFormationCustomResourceResponse::default();
    response.physical_resource_id = physical_id;
    response.stack_id = stack_id.to_owned();
    response.request_id = request_id.to_owned();
    response.logical_resource_id = logical_id.to_owned();
    let status = match &outcome {
        Ok(_) => 200,
        Err(error) => error.status(),
    };
    match outcome {
        Ok(user) => {
            response.status = CloudFormationCustomResourceResponseStatus::Success;
            if let Some(user) = user {
                response.data = HashMap::from([
                    ("TenantId".to_owned(), user.tenant_id),
                    ("UserId".to_owned(), user.user_id),
                    ("LoginName".to_owned(), user.login_name),
                    ("State".to_owned(), user.state.as_str().to_owned()),
                ]);
            }
        }
        Err(error) => {
            crate::http::record_error(&error, crate::Dialect::Own);
            response.status = CloudFormationCustomResourceResponseStatus::Failed;
            response.reason = Some(error.to_string().chars().take(REASON_MAX_CHARS).collect());
        }
    }
    (response, status)
}

/// Puts the answer to CloudFormation's pre-signed response URL (S3, or loopback in the tests).
pub async fn respond(
    client: &HttpsClient,
    response_url: &str,
    response: &CloudFormationCustomResourceResponse,
) -> Result<(), String> {
    let url = https::outbound_url("ResponseURL", response_url)?;
    // CloudFormation's response URLs are pre-signed S3 URLs: no other HTTPS host gets the answer.
    let aws_host = url.host().is_some_and(|host| {
        host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
    });
    if url.scheme_str() == Some("https") && !aws_host {
        return Err("the ResponseURL is not an AWS (S3) URL".into());
    }
    let body = serde_json::to_vec(response).map_err(|e| format!("response document: {e}"))?;
    // The URL's signature covers no content type: send none.
    let request = hyper::Request::put(url)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("response request: {e}"))?;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), client.request(request))
        .await
        .map_err(|_| "the response URL timed out".to_owned())?
        .map_err(|e| format!("the response URL is unreachable: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the response URL answered {}", answer.status()))
    }
}
