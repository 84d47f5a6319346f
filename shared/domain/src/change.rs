//! A change of one user as the domain decides it: the new version, the audit record and whether the
//! first administrator's guard applies. The store carries it out in one transaction and decides
//! nothing of it.

use crate::model::{Actor, AuditRecord, User};
use crate::outbox::Notification;

/// What writing a change of a user consists of.
#[derive(Debug, Clone, PartialEq)]
pub struct UserChange<'a> {
    /// The user as read: the change applies only if nobody changed it since (its `version`).
    pub before: &'a User,
    /// The user as stored after the change, with the next `version`.
    pub after: User,
    /// The messages the change sends, written into the user's item.
    pub notifications: &'a [Notification],
    /// The change of state, recorded for the audit trail in the same transaction.
    pub audit: Option<AuditRecord>,
    /// The change may take the use of the API from the user (`User::change_can_shut_out`), so it
    /// must fail if they are the tenant's first administrator (seed 001 code 1107), whoever that
    /// is when it is written.
    pub guards_first_admin: bool,
}

impl<'a> UserChange<'a> {
    /// `before` becoming `after`, made by `actor` at `after.updated_at`.
    pub fn new(
        before: &'a User,
        after: &User,
        notifications: &'a [Notification],
        actor: &Actor,
    ) -> UserChange<'a> {
        let mut after = after.clone();
        after.version = before.version + 1;
        let audit = (before.state != after.state)
            .then(|| AuditRecord::state_change(before, &after, after.updated_at, actor));
        UserChange {
            before,
            guards_first_admin: before.change_can_shut_out(&after),
            after,
            notifications,
            audit,
        }
    }

    /// Whether every token issued to the user so far stops working.
    pub fn revokes_tokens(&self) -> bool {
        self.after.token_version != self.before.token_version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Backend, LockReason, UserState, UserType};

    const NOW: i64 = 1_750_000_000_000;

    fn user() -> User {
        let mut user = User::new("t1", "alice", UserType::User, Backend::Local, NOW - 1000);
        user.version = 7;
        user
    }

    #[test]
    fn a_change_takes_the_next_version_and_records_no_audit_without_a_change_of_state() {
        let before = user();
        let mut after = before.clone();
        after.display_name = Some("Alice".into());
        after.version = 99;
        let change = UserChange::new(&before, &after, &[], &Actor::system("test"));
        assert_eq!(change.after.version, 8);
        assert_eq!(change.audit, None);
        assert!(!change.guards_first_admin);
        assert!(!change.revokes_tokens());
    }

    #[test]
    fn a_change_of_state_is_audited_with_its_actor_and_time() {
        let before = user();
        let mut after = before.clone();
        after.updated_at = NOW;
        after.disable(crate::model::DisabledBy::Admin);
        let actor = Actor {
            user_id: "admin".into(),
            endpoint: "POST /identity/v1/user/disable".into(),
        };
        let change = UserChange::new(&before, &after, &[], &actor);
        let audit = change.audit.as_ref().expect("a change of state is audited");
        assert_eq!(
            (audit.from_state, audit.to_state),
            (UserState::Enabled, UserState::Disabled)
        );
        assert_eq!((audit.at, audit.actor.as_str()), (NOW, "admin"));
        assert_eq!(audit.endpoint, actor.endpoint);
        assert_eq!(
            (audit.tenant_id.as_str(), audit.user_id.as_str()),
            ("t1", "alice")
        );
        assert!(change.guards_first_admin, "disabling can shut a user out");
        assert!(change.revokes_tokens());
    }

    #[test]
    fn the_first_administrators_guard_follows_every_setting_that_can_shut_out() {
        let before = user();
        let mut locked = before.clone();
        locked.lock = Some(LockReason::Admin);
        assert!(UserChange::new(&before, &locked, &[], &Actor::system("t")).guards_first_admin);
        let mut expiring = before.clone();
        expiring.account_expires = Some(NOW + 6_000);
        assert!(UserChange::new(&before, &expiring, &[], &Actor::system("t")).guards_first_admin);
        // Lifting a setting never needs the guard.
        assert!(!UserChange::new(&expiring, &before, &[], &Actor::system("t")).guards_first_admin);
    }
}
