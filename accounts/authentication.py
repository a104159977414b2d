from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from oms.db import fetch_one

# A key no token has (keys are 40 hex digits): where fetch_one's compiled query takes the key.
KEY_SENTINEL = "\x00oms:token-key"


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF token auth that loads the user's OMS profile in the same query (compiled once per
    process: it runs on every API request)."""

    def authenticate_credentials(self, key):
        token = fetch_one("api-token", lambda value: Token.objects.select_related(
            "user", "user__oms_profile").filter(key=value), key, sentinel=KEY_SENTINEL)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
