from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from accounts.permissions import mark
from commands.cache import versions_expression
from oms.db import fetch_one

# A key no token has (keys are 40 hex digits): where fetch_one's compiled query takes the key.
KEY_SENTINEL = "\x00oms:token-key"


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF token auth that loads the user's OMS profile and the configuration's versions in the
    same query (compiled once per process: it runs on every API request); the user's permissions
    come from the per-process cache those versions validate (accounts/permissions.py)."""

    def authenticate_credentials(self, key):
        token = fetch_one("api-token", lambda value: Token.objects.select_related(
            "user", "user__oms_profile").annotate(config_versions=versions_expression()).filter(key=value),
            key, sentinel=KEY_SENTINEL)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        mark(token.user, token.config_versions)  # its permissions: the per-process cache's version
        return (token.user, token)
