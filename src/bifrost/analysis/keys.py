"""API keys: what `bifrost keys` and the API's `/keys` and authentication share.

Keys are stored hashed (`store/keys.py`); the secret is shown once, when it is created. Each
use case here is one store operation: the fronts reach the store's writes only through this
layer.
"""

from bifrost.store.keys import (
    create_key,
    find_key,
    get_key,
    hash_secret,
    list_keys,
    revoke_key,
    touch_key,
)

__all__ = [
    "create_key",
    "find_key",
    "get_key",
    "hash_secret",
    "list_keys",
    "revoke_key",
    "touch_key",
]
