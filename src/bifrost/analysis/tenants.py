"""Tenants: what `bifrost tenants`, the API's `/tenants`, `/usage`, authentication and quotas
share. Each use case is one store operation (`store/tenants.py`), reached through this layer
like the keys (`analysis/keys.py`)."""

from bifrost.store.tenants import (
    NAME,
    NO_LIMITS,
    Limits,
    TenantRecord,
    Usage,
    as_tenant,
    create_tenant,
    get_tenant,
    list_tenants,
    set_limits,
    tenant_named,
    usage,
)

__all__ = [
    "NAME",
    "NO_LIMITS",
    "Limits",
    "TenantRecord",
    "Usage",
    "as_tenant",
    "create_tenant",
    "get_tenant",
    "list_tenants",
    "set_limits",
    "tenant_named",
    "usage",
]
