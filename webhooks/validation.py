"""Subscription checks shared by the API serializer and the admin form. Each returns a list of
problems (empty = fine)."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit

from django.conf import settings

from webhooks.events import pattern_is_valid

STRATEGIES = ("fixed", "linear", "exponential", "random")
RESERVED_HEADERS = {"content-type", "accept-encoding", "x-oms-event", "x-oms-delivery", "x-oms-timestamp",
                    "x-oms-signature"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def event_type_problems(value: str) -> list[str]:
    return [] if pattern_is_valid(value) else [f"'{value}' matches no event of the catalogue."]


def target_url_problems(value: str) -> list[str]:
    """An http(s) URL whose host is public: not a literal or a name resolving to a loopback, private,
    link-local, ... address (unless WEBHOOK_ALLOW_PRIVATE_TARGETS). The worker checks again at
    delivery, after its own lookup: a name that does not resolve now is accepted, and one that
    resolves elsewhere later is refused then."""
    if not value.lower().startswith(("http://", "https://")):
        return ["Use an http or https URL."]
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return ["Enter a valid URL."]
    if not host:
        return ["Enter a valid URL."]
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return []
    refusal = host_refusal(unquote(host))
    return [f"{refusal}: webhook targets must be public addresses."] if refusal else []


# -- which addresses a webhook may reach ---------------------------------------------------------------
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_N = ipaddress.ip_network

# Not reachable on the public internet (IANA special-purpose registries), most specific first.
_IPV4_BLOCKED = [
    (_N("0.0.0.0/8"), "unspecified"), (_N("127.0.0.0/8"), "loopback"), (_N("10.0.0.0/8"), "private"),
    (_N("172.16.0.0/12"), "private"), (_N("192.168.0.0/16"), "private"),
    (_N("100.64.0.0/10"), "shared (CGNAT)"), (_N("169.254.0.0/16"), "link-local"),
    (_N("224.0.0.0/4"), "multicast"), (_N("240.0.0.0/4"), "reserved"),  # with 255.255.255.255
    (_N("192.0.0.0/24"), "reserved"), (_N("192.0.2.0/24"), "reserved"), (_N("192.88.99.0/24"), "reserved"),
    (_N("198.18.0.0/15"), "reserved"), (_N("198.51.100.0/24"), "reserved"),
    (_N("203.0.113.0/24"), "reserved"),
]
_IPV6_BLOCKED = [
    (_N("::/128"), "unspecified"), (_N("::1/128"), "loopback"), (_N("fe80::/10"), "link-local"),
    (_N("fec0::/10"), "site-local"), (_N("fc00::/7"), "unique-local"), (_N("ff00::/8"), "multicast"),
    # Inside global unicast (2000::/3) but not public: IETF protocol assignments (Teredo among
    # them), documentation.
    (_N("2001::/23"), "reserved"), (_N("2001:db8::/32"), "reserved"), (_N("3fff::/20"), "reserved"),
]
_GLOBAL_UNICAST = _N("2000::/3")
_IPV4_COMPATIBLE, _IPV4_MAPPED, _IPV4_TRANSLATED = _N("::/96"), _N("::ffff:0:0/96"), _N("::ffff:0:0:0/96")
_NAT64 = _N("64:ff9b::/96")
_LEGACY_IPV4 = re.compile(r"^[0-9a-fA-FxX.]+$")


def blocked_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private", ...), None when public.
    IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it."""
    if address.version == 4:
        kind = next((kind for network, kind in _IPV4_BLOCKED if address in network), None)
        return kind or (None if address.is_global else "reserved")
    inner = _embedded_ipv4(address)
    if inner is not None:
        kind = blocked_kind(inner)
        if kind or address in _IPV4_MAPPED or address in _NAT64 or address.sixtofour:
            return kind
        return "reserved"  # IPv4-compatible (deprecated) and translated forms: never a real target
    kind = next((kind for network, kind in _IPV6_BLOCKED if address in network), None)
    return kind or (None if address in _GLOBAL_UNICAST else "reserved")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_MAPPED or address in _IPV4_TRANSLATED or address in _NAT64:
        return low32
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: and ::1
        return low32
    return address.sixtofour


def literal_address(host: str) -> IPAddress | None:
    """The address a host names without a lookup: an IP literal, or one of the legacy IPv4 forms
    the C resolver also accepts (2130706433, 0x7f.1, 0177.0.0.1, 127.1)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal_text(host: str, address: IPAddress, kind: str) -> str:
    article = "an" if kind == "unspecified" else "a"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:  # a name, or a legacy IPv4 form
        return f"{host} resolves to {address}, {article} {kind} address"
    return f"{host.strip('[]')} is {article} {kind} address"


def host_refusal(host: str) -> str | None:
    """Why a webhook may not reach this host now (its literal address, or every address it resolves
    to, must be public), None when it may. A name that does not resolve is not refused here."""
    host = host.lower().rstrip(".")
    address = literal_address(host)
    if address is None and (host == "localhost" or host.endswith(".localhost")):  # RFC 6761
        return f"{host} is a loopback name"
    if address is not None:
        kind = blocked_kind(address)
        return refusal_text(host, address, kind) if kind else None
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        resolved = ipaddress.ip_address(info[4][0].split("%")[0])
        kind = blocked_kind(resolved)
        if kind:
            return refusal_text(host, resolved, kind)
    return None


def headers_problems(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["Use an object of header names to values."]
    problems = []
    clash = sorted(k for k in value if str(k).lower() in RESERVED_HEADERS)
    if clash:
        problems.append(f"These headers are set by the OMS: {', '.join(clash)}.")
    for name, text in value.items():
        if not _TOKEN.match(str(name)):
            problems.append(f"'{name}' is not a valid header name.")
        elif not isinstance(text, str) or not text.isascii() or not text.isprintable():
            problems.append(f"The value of '{name}' must be printable ASCII text.")
    return problems


def retry_config_problems(value) -> list[str]:
    if not isinstance(value, dict):
        return ['Use {"strategy": "fixed|linear|exponential|random", "countdown": s, "max_retries": n}.']
    problems = []
    if value.get("strategy") not in STRATEGIES:
        problems.append(f"strategy must be one of {', '.join(STRATEGIES)}.")
    countdown, retries = value.get("countdown"), value.get("max_retries")
    if not isinstance(countdown, int) or isinstance(countdown, bool) or not 0 <= countdown <= 86400:
        problems.append("countdown must be a whole number of seconds from 0 to 86400.")
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 50:
        problems.append("max_retries must be a whole number from 0 to 50.")
    unknown = sorted(set(value) - {"strategy", "countdown", "max_retries"})
    if unknown:
        problems.append(f"Unknown keys: {', '.join(unknown)}.")
    return problems
