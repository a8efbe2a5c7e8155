//! Who may do what on the control plane. `admin` may do everything; an `operator` of a tenant
//! manages its keys (and their limits) and sessions and reads its records; a `viewer` of a
//! tenant reads its records. Prompt ownership is not a role: see `owners.rs`.

use crate::{ControlError, Result, token_hash};
use seam_store::{RoleRecord, Tenants, UserRecord, Users};

/// Names no user may take: `admin` is the gateway's admin token on the audit chain and as
/// an approver, `bootstrap` acts in a store without users, `operator` is `seam serve`'s actor
/// without a token.
pub const RESERVED_NAMES: [&str; 3] = ["admin", "bootstrap", "operator"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Operator,
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            other => Err(ControlError::Invalid(format!(
                "role `{other}`: use admin, operator (keys, limits and sessions of a tenant) or viewer (a tenant's records)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

/// Who a control-plane action is done by, and the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub admin: bool,
    /// Tenant-scoped roles: (operator or viewer, tenant).
    pub roles: Vec<(Role, String)>,
}

impl Actor {
    /// An admin: the gateway's admin token (`admin`), or anyone in a store without users
    /// (`bootstrap`).
    pub fn admin(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            admin: true,
            roles: Vec::new(),
        }
    }

    /// A user without a role.
    pub fn user(name: &str) -> Actor {
        Actor {
            name: name.to_string(),
            admin: false,
            roles: Vec::new(),
        }
    }

    pub fn from_user(user: &UserRecord, roles: &[RoleRecord]) -> Actor {
        Actor {
            name: user.name.clone(),
            admin: user.admin,
            roles: roles
                .iter()
                .filter(|r| r.user_id == user.id)
                .filter_map(|r| Some((Role::parse(&r.role).ok()?, r.tenant.clone())))
                .collect(),
        }
    }

    /// Operator or viewer of `tenant`, or admin.
    pub fn can_read(&self, tenant: &str) -> bool {
        self.admin || self.roles.iter().any(|(_, t)| t == tenant)
    }

    /// Operator of `tenant`, or admin.
    pub fn can_operate(&self, tenant: &str) -> bool {
        self.admin
            || self
                .roles
                .iter()
                .any(|(r, t)| *r == Role::Operator && t == tenant)
    }

    /// The tenants whose records this actor reads; refused when there are none.
    pub fn read_scope(&self, what: &str) -> Result<Tenants> {
        if self.admin {
            return Ok(Tenants::All);
        }
        let mut tenants: Vec<String> = self.roles.iter().map(|(_, t)| t.clone()).collect();
        tenants.sort();
        tenants.dedup();
        if tenants.is_empty() {
            return Err(ControlError::Forbidden(format!(
                "{what} needs role viewer or operator of a tenant, or admin; `{}` has {}",
                self.name,
                self.describe()
            )));
        }
        Ok(Tenants::Only(tenants))
    }

    /// [`Actor::read_scope`], narrowed to `tenant` when one is asked for.
    pub fn scope_for(&self, tenant: Option<&str>, what: &str) -> Result<Tenants> {
        match tenant {
            Some(t) => {
                self.require_read(t, what)?;
                Ok(Tenants::Only(vec![t.to_string()]))
            }
            None => self.read_scope(what),
        }
    }

    pub fn require_read(&self, tenant: &str, what: &str) -> Result<()> {
        if self.can_read(tenant) {
            return Ok(());
        }
        Err(ControlError::Forbidden(format!(
            "{what} of tenant `{tenant}` needs role viewer or operator of `{tenant}`, or admin; `{}` has {}",
            self.name,
            self.describe()
        )))
    }

    pub fn require_operator(&self, tenant: &str, what: &str) -> Result<()> {
        if self.can_operate(tenant) {
            return Ok(());
        }
        Err(self.operator_refusal(tenant, what))
    }

    /// The refusal of `what` on `tenant` to someone who is not its operator.
    pub fn operator_refusal(&self, tenant: &str, what: &str) -> ControlError {
        ControlError::Forbidden(format!(
            "{what} of tenant `{tenant}` needs role operator of `{tenant}`, or admin; `{}` has {}",
            self.name,
            self.describe()
        ))
    }

    /// Operator of some tenant, or admin: runs evals against a route (`evals.rs`).
    pub fn require_some_operator(&self, what: &str) -> Result<()> {
        if self.admin || self.roles.iter().any(|(r, _)| *r == Role::Operator) {
            return Ok(());
        }
        Err(ControlError::Forbidden(format!(
            "{what} needs role operator of a tenant, or admin; `{}` has {}",
            self.name,
            self.describe()
        )))
    }

    pub fn require_admin(&self, what: &str) -> Result<()> {
        if self.admin {
            return Ok(());
        }
        Err(ControlError::Forbidden(format!(
            "{what} needs role admin; `{}` has {}",
            self.name,
            self.describe()
        )))
    }

    /// "admin", "operator of a, b; viewer of c", or "no role".
    pub fn describe(&self) -> String {
        describe(self.admin, &self.roles)
    }
}

/// Roles in words, for refusals and `seam users list`.
pub fn describe(admin: bool, roles: &[(Role, String)]) -> String {
    let mut parts = Vec::new();
    if admin {
        parts.push("admin".to_string());
    }
    for role in [Role::Operator, Role::Viewer] {
        let mut tenants: Vec<&str> = roles
            .iter()
            .filter(|(r, _)| *r == role)
            .map(|(_, t)| t.as_str())
            .collect();
        tenants.sort();
        tenants.dedup();
        if !tenants.is_empty() {
            parts.push(format!("{} of {}", role.as_str(), tenants.join(", ")));
        }
    }
    if parts.is_empty() {
        "no role".into()
    } else {
        parts.join("; ")
    }
}

/// The user a token belongs to, with their roles.
pub async fn actor_by_token(store: &(impl Users + ?Sized), token: &str) -> Result<Option<Actor>> {
    let Some(user) = store.user_by_token_hash(&token_hash(token)).await? else {
        return Ok(None);
    };
    let roles = store.list_roles().await?;
    Ok(Some(Actor::from_user(&user, &roles)))
}

/// Whether the person named `name` is an admin now (approvals name people, not tokens).
pub(crate) async fn is_admin(store: &(impl Users + ?Sized), name: &str) -> Result<bool> {
    if name == "admin" || name == "bootstrap" {
        return Ok(true);
    }
    Ok(store
        .list_users()
        .await?
        .iter()
        .any(|u| u.name == name && u.admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_read_and_manage_viewers_only_read_and_refusals_name_the_role() {
        let olga = Actor {
            name: "olga".into(),
            admin: false,
            roles: vec![(Role::Operator, "a".into()), (Role::Viewer, "c".into())],
        };
        assert!(olga.can_read("a") && olga.can_read("c") && !olga.can_read("b"));
        assert!(olga.can_operate("a") && !olga.can_operate("c"));
        assert_eq!(
            olga.read_scope("reading calls").unwrap(),
            Tenants::Only(vec!["a".into(), "c".into()])
        );
        let e = olga.require_operator("c", "creating keys").unwrap_err();
        assert_eq!(
            e.to_string(),
            "creating keys of tenant `c` needs role operator of `c`, or admin; `olga` has operator of a; viewer of c"
        );
        let e = Actor::user("eve").read_scope("reading calls").unwrap_err();
        assert!(
            e.to_string()
                .contains("needs role viewer or operator of a tenant, or admin; `eve` has no role"),
            "{e}"
        );
        assert_eq!(Actor::admin("admin").read_scope("x").unwrap(), Tenants::All);
        assert!(olga.require_some_operator("running evals").is_ok());
        let vic = Actor {
            name: "vic".into(),
            admin: false,
            roles: vec![(Role::Viewer, "a".into())],
        };
        assert_eq!(
            vic.require_some_operator("running evals against route `chat`")
                .unwrap_err()
                .to_string(),
            "running evals against route `chat` needs role operator of a tenant, or admin; `vic` has viewer of a"
        );
        assert!(
            Actor::user("eve")
                .require_admin("reloading")
                .unwrap_err()
                .to_string()
                .contains("needs role admin")
        );
    }
}
