//! The scheduled sweep: purges users whose deletion is older than the retention (freeing their
//! unique login name, email and phone), and requires a password change of users whose password
//! has outlived the policy's maximum age. Each tenant is swept on its own; one failing user or
//! tenant never stops the others.

use serde::Serialize;

use crate::app::App;
use crate::change::UserChange;
use crate::error::ApiError;
use crate::model::{Actor, Millis, RequiredAction};
use crate::store::{Sweep, UserStore};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub tenants: usize,
    /// Users deleted for good.
    pub purged: usize,
    /// Users newly required to change an expired password.
    pub passwords_expired: usize,
    /// Changes that lost to a concurrent writer; the next run sees them again.
    pub skipped: usize,
    /// Failures by tenant, as error codes (never user data or secrets).
    pub errors: Vec<String>,
}

/// Sweeps every registered tenant.
pub async fn run<S: UserStore>(app: &App<S>, now: Millis) -> Report {
    match app.store.list_tenants().await {
        Ok(tenants) => run_for(app, &tenants, now).await,
        Err(error) => Report {
            errors: vec![format!("tenant registry: {}", error.own_code())],
            ..Report::default()
        },
    }
}

/// Sweeps the given tenants.
pub async fn run_for<S: UserStore>(app: &App<S>, tenants: &[String], now: Millis) -> Report {
    let mut report = Report {
        tenants: tenants.len(),
        ..Report::default()
    };
    for tenant in tenants {
        if let Err(error) = sweep_tenant(app, tenant, now, &mut report).await {
            tracing::warn!(tenant, error_code = error.own_code(), "sweep failed");
            report
                .errors
                .push(format!("{tenant}: {}", error.own_code()));
        }
    }
    report
}

async fn sweep_tenant<S: UserStore>(
    app: &App<S>,
    tenant: &str,
    now: Millis,
    report: &mut Report,
) -> Result<(), ApiError> {
    let deleted_before = now - app.config.deleted_user_retention_ms;
    for user in app
        .store
        .sweep(tenant, Sweep::DeletedBefore(deleted_before))
        .await?
    {
        match app.store.purge_user(&user).await {
            Ok(()) => report.purged += 1,
            // Re-created or purged by a parallel run since the index was read.
            Err(ApiError::ConcurrentModification) => report.skipped += 1,
            Err(other) => return Err(other),
        }
    }
    let Some(max_age) = app.config.password_max_age_ms else {
        return Ok(());
    };
    for found in app
        .store
        .sweep(tenant, Sweep::PasswordChangedBefore(now - max_age))
        .await?
    {
        // The index may lag: decide on the user as stored.
        let Some(before) = app.store.get_user(tenant, &found.user_id).await? else {
            continue;
        };
        let expired = app
            .config
            .password_expires_at(&before)
            .is_some_and(|at| at <= now);
        if !expired
            || before
                .required_actions
                .contains(&RequiredAction::UpdatePassword)
        {
            continue;
        }
        let mut after = before.clone();
        after
            .required_actions
            .insert(RequiredAction::UpdatePassword);
        after.updated_at = now;
        match app
            .store
            .update_user(&UserChange::new(
                &before,
                &after,
                &[],
                &Actor::system("housekeeping"),
            ))
            .await
        {
            Ok(()) => report.passwords_expired += 1,
            // A first administrator who may not change their password keeps the use of the API.
            Err(ApiError::ConcurrentModification | ApiError::FirstAdminProtected) => {
                report.skipped += 1
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}
