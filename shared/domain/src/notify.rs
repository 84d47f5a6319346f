//! Delivery of the outbox: each notification is opened (its secret unsealed), rendered and handed
//! to a `Mailer`, then removed from its user's item so that the sealed secret does not outlive its
//! delivery. The deployed mailer is Amazon SES v2 (functions/notifier); the local stack's
//! (`lambda::mailer::FolderMailer`) writes each message as a JSON file into a mail folder.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::outbox::{Channel, Notification, Template};
use crate::store::UserStore;

/// A rendered message, ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub notification_id: String,
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub trait Mailer: Send + Sync {
    /// Sends one message; an error is kept for a retry (never the message's text).
    fn send(&self, message: &OutgoingMessage) -> impl Future<Output = Result<(), String>> + Send;
}

/// The words of each template around its secret.
pub fn render(notification: &Notification, secret: Option<&str>) -> ApiResult<OutgoingMessage> {
    let secret = secret.ok_or_else(|| ApiError::Internal("a message without its secret".into()))?;
    let (subject, text) = match notification.template {
        Template::TemporaryPassword => (
            "Your temporary password",
            format!(
                "An administrator set a temporary password for your account {}: {secret}\n\
                 You must change it when you next sign in.",
                notification.user_id
            ),
        ),
        Template::PasswordLink => (
            "Reset your password",
            format!(
                "Someone asked to reset the password of your account {}. To choose a new password, \
                 use this within 24 hours; it works once:\n\n{secret}\n\n\
                 If it was not you, ignore this message: your password stays as it is.",
                notification.user_id
            ),
        ),
        Template::VerificationCode => (
            "Your verification code",
            format!(
                "Your verification code is {secret}. It confirms this email address for the account \
                 {} and works once, for 60 minutes.",
                notification.user_id
            ),
        ),
    };
    Ok(OutgoingMessage {
        notification_id: notification.notification_id.clone(),
        channel: notification.channel,
        to: notification.recipient.clone(),
        subject: subject.to_owned(),
        text,
    })
}

/// What became of a notification handed to `deliver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Delivered before, replaced by a newer message, or its user gone: nothing to send.
    NotPending,
    /// Older than the delivery window: removed unsent.
    Stale,
}

/// Delivers one notification, if still waiting in its user's item, and removes it from there.
pub async fn deliver<S: UserStore>(
    app: &App<S>,
    mailer: &impl Mailer,
    notification: &Notification,
) -> ApiResult<Delivery> {
    // Every later change of the user repeats the message in the stream until it is removed, and a
    // retried batch repeats records already delivered: never send one twice.
    if !app.store.notification_pending(notification).await? {
        return Ok(Delivery::NotPending);
    }
    if notification.is_stale(crate::ops::now()) {
        app.store.delete_notification(notification).await?;
        return Ok(Delivery::Stale);
    }
    let secret = app.sealer.open(notification)?;
    let message = render(notification, secret.as_deref())?;
    mailer
        .send(&message)
        .await
        .map_err(|reason| ApiError::Unavailable(format!("sending failed: {reason}")))?;
    app.store.delete_notification(notification).await?;
    Ok(Delivery::Sent)
}
