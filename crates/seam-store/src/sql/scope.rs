//! Reads limited to some tenants: an `IN` list spliced from numbered parameters only.

use crate::Tenants;
use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// ` AND col IN ($first, ...)` for a read of some tenants, "" for every tenant's; bind its
/// values with [`bind`].
pub(super) fn filter(col: &str, first: usize, tenants: &Tenants) -> String {
    match tenants {
        Tenants::All => String::new(),
        Tenants::Only(list) if list.is_empty() => " AND 1 = 0".into(),
        Tenants::Only(list) => {
            let params: Vec<String> = (0..list.len()).map(|i| format!("${}", first + i)).collect();
            format!(" AND {col} IN ({})", params.join(", "))
        }
    }
}

pub(super) fn bind<'q>(
    mut q: Query<'q, Any, AnyArguments>,
    tenants: &Tenants,
) -> Query<'q, Any, AnyArguments> {
    if let Tenants::Only(list) = tenants {
        for t in list {
            q = q.bind(t.clone());
        }
    }
    q
}
