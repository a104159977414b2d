"""API users' permissions, cached per process. Django's ModelBackend reads a user's permissions
(two queries) on the first permission check of every request, since its cache lives on the
request's user object; ``CachedModelBackend`` keeps them per user for as long as the
``permissions`` part of the configuration version (commands migration 0003) is unchanged: a
permission, group or membership granted or revoked, a user deactivated or made superuser changes
it in the writer's transaction, and the next request of every process reloads. The version comes
with the token's own query (accounts/authentication.py); a user without it (an admin session) is
served by ModelBackend as usual."""

from __future__ import annotations

import threading

from django.contrib.auth.backends import ModelBackend

PART = "permissions"
VERSION_ATTRIBUTE = "_oms_permissions_version"

_lock = threading.Lock()
_state: tuple[str | None, dict] = (None, {})  # (version, (user id, "user"/"group") -> permissions)


def mark(user, raw_versions: str | None) -> None:
    """Note on ``user`` the permissions version that ``raw_versions``
    (``commands.cache.versions_expression``, read with the token) holds."""
    if raw_versions:
        version = dict(item.split("=", 1) for item in raw_versions.split(",")).get(PART)
        if version is not None:
            setattr(user, VERSION_ATTRIBUTE, version)


def _entries(version: str) -> tuple[bool, dict]:
    global _state
    cached_version, entries = _state
    if cached_version != version:
        with _lock:
            if _state[0] != version:
                _state = (version, {})
            cached_version, entries = _state
    return cached_version == version, entries


class CachedModelBackend(ModelBackend):
    """ModelBackend whose permission reads are kept per process, by user, for one version."""

    def _get_permissions(self, user_obj, obj, from_name):
        version = getattr(user_obj, VERSION_ATTRIBUTE, None)
        if (version is None or obj is not None or not user_obj.is_active or user_obj.is_anonymous
                or user_obj.is_superuser):
            return super()._get_permissions(user_obj, obj, from_name)
        attribute = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, attribute):
            current, entries = _entries(version)
            perms = entries.get((user_obj.pk, from_name))
            if perms is None:
                perms = frozenset(super()._get_permissions(user_obj, obj, from_name))
                if current:  # ``entries`` belongs to this version (a newer one starts afresh)
                    entries[(user_obj.pk, from_name)] = perms
            setattr(user_obj, attribute, set(perms))
        return getattr(user_obj, attribute)


def forget() -> None:
    """Drop the cached permissions (tests; never needed for correctness)."""
    global _state
    with _lock:
        _state = (None, {})
