"""Configuration read once per process, not once per command.

Four parts, each cached per process with the version it was read at:

- ``commands``: states and transitions (by id, by slug, the active ones leaving each state);
- ``accounts``: a user's channel restriction and stock locations (instore users), per user;
- ``webhooks``: the active subscriptions, indexed by the event types they match;
- ``planning``: scenarios, rules and locations' static attributes (not their quota).

Every write to a part's tables changes that part's version in the table ``oms_config_version``,
in the writer's own transaction, through database triggers (migration commands 0002): admin, API,
management commands, ``QuerySet.update()`` and raw SQL alike. A process compares versions with
one small query — once per ``config_scope()`` block (the dispatcher and order intake open one per
command), or on every call outside a block — and reloads a part whose version differs. Versions
are random tokens, never reused, so a rolled-back change cannot leave a stale copy looking
current.

Ordering: the version is read before the data it labels, so a copy is never older than its
label; a change committed between the two reads only causes one extra reload. A command sees the
configuration committed when its scope began, as if it had read it then — which is what reading
the rows at that moment gave before.

The cached model instances are shared by every thread of the process: read them, never change or
save them."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from django.db import connection
from django.db.models import CharField
from django.db.models.expressions import RawSQL

VERSION_TABLE = "oms_config_version"

T = TypeVar("T")

_parts: dict[str, tuple[str, Any]] = {}    # part -> (version, data); replaced whole, never mutated
_load_lock = threading.Lock()
_local = threading.local()


_PENDING: Any = object()   # a scope whose versions are not read yet


def versions() -> dict[str, str]:
    """Every part's current version (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name, version FROM {VERSION_TABLE}")
        return dict(cursor.fetchall())


def versions_expression() -> RawSQL:
    """Every part's version as one text column (``name=version,...``), to read them in a statement
    the caller runs anyway (the dispatcher's row lock): hand the value to ``provide_versions``."""
    join = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    return RawSQL(f"(SELECT {join}(name || '=' || version, ',') FROM {VERSION_TABLE})", (),
                  output_field=CharField())


@contextmanager
def config_scope():
    """Check the versions once for the whole block (this thread): every cached part used inside
    it is the one current when the versions were read — by the first use in the block, or by
    ``provide_versions`` before it. Nested blocks join the outer one."""
    if getattr(_local, "versions", None) is not None:
        yield
        return
    _local.versions = _PENDING
    try:
        yield
    finally:
        _local.versions = None


def provide_versions(raw: str | None) -> None:
    """The versions, as ``versions_expression`` read them, for the current scope (if it has not
    read them yet)."""
    if getattr(_local, "versions", None) is _PENDING and raw:
        _local.versions = dict(item.split("=", 1) for item in raw.split(","))


def _current(part: str, load: Callable[[], T]) -> T:
    scoped = getattr(_local, "versions", None)
    if scoped is _PENDING:
        scoped = _local.versions = versions()
    version = (scoped if scoped is not None else versions())[part]
    cached = _parts.get(part)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _load_lock:  # one thread loads; the others find its copy
        cached = _parts.get(part)
        if cached is not None and cached[0] == version:
            return cached[1]
        data = load()
        _parts[part] = (version, data)
        return data


def forget() -> None:
    """Drop every cached part (tests that swap databases; never needed for correctness)."""
    _parts.clear()


# -- commands: states and transitions ----------------------------------------------------------------
@dataclass(frozen=True)
class CommandsConfig:
    states: dict[int, Any]                      # State by id
    transitions: dict[int, Any]                 # Transition by id, with source/destination states
    by_slug: dict[str, Any]
    outgoing: dict[int, tuple[Any, ...]]        # active transitions leaving a state, by id
    state_slugs: dict[tuple[str, str], Any]     # (enum_class, slug) -> State
    # What is derived from this configuration alone (e.g. webhook payload parts), dropped with it.
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    def derive(self, key, build: Callable[[], T]) -> T:
        """``build()``, computed once per configuration version (per process) under ``key``; the
        value is shared: callers must not change it."""
        try:
            return self.derived[key]
        except KeyError:
            return self.derived.setdefault(key, build())

    def lookup(self, transition_id: int | None, slug: str | None) -> tuple[Any, Any]:
        """(the transition with this id, the one with this slug), either None when absent."""
        by_id = self.transitions.get(transition_id) if transition_id is not None else None
        by_slug = self.by_slug.get(slug) if slug else None
        return by_id, by_slug

    def state(self, enum_class: str, slug: str):
        """The state of ``enum_class`` with this slug (``State.DoesNotExist`` if there is none)."""
        state = self.state_slugs.get((enum_class, slug))
        if state is None:
            from commands.models import State

            raise State.DoesNotExist(f"No {enum_class} state with slug {slug!r}.")
        return state


def _load_commands() -> CommandsConfig:
    from commands.models import State, Transition

    states = {s.pk: s for s in State.objects.all()}
    transitions: dict[int, Any] = {}
    outgoing: dict[int, list] = defaultdict(list)
    for t in Transition.objects.order_by("id"):
        t.source_state = states[t.source_state_id]
        t.destination_state = states[t.destination_state_id] if t.destination_state_id else None
        transitions[t.pk] = t
        if t.is_active:
            outgoing[t.source_state_id].append(t)
    return CommandsConfig(
        states=states, transitions=transitions, by_slug={t.slug: t for t in transitions.values()},
        outgoing={state: tuple(ts) for state, ts in outgoing.items()},
        state_slugs={(s.enum_class, s.slug): s for s in states.values()})


def commands_config() -> CommandsConfig:
    return _current("commands", _load_commands)


# -- accounts: users' location scope -------------------------------------------------------------------
@dataclass(frozen=True)
class AccountsConfig:
    # user id -> the stock locations an instore user is limited to (None: not restricted). Filled
    # one user at a time; a new version starts an empty map.
    scopes: dict[int, frozenset[int] | None] = field(default_factory=dict)


def user_location_ids(user_id: int) -> frozenset[int] | None:
    """The stock locations the user is limited to (their profile's, when its channel is
    ``instore``), or None when the user is not restricted. For ``accounts.scoping``."""
    from accounts.models import Profile
    from commands.enums import UiVisibility

    config = _current("accounts", AccountsConfig)
    if user_id in config.scopes:
        return config.scopes[user_id]
    profile = Profile.objects.filter(user_id=user_id).only("channel").first()
    scope = None
    if profile is not None and profile.channel == UiVisibility.INSTORE:
        scope = frozenset(profile.stock_locations.values_list("pk", flat=True))
    config.scopes[user_id] = scope
    return scope


# -- webhooks: which subscriptions want an event ----------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionIndex:
    patterns: tuple[tuple[int, str], ...]       # (subscription id, event type or pattern), by id
    _memo: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def matching(self, event_type: str) -> tuple[int, ...]:
        """Ids of the active subscriptions whose event type (or pattern) matches."""
        found = self._memo.get(event_type)
        if found is None:
            found = tuple(pk for pk, pattern in self.patterns if fnmatchcase(event_type, pattern))
            self._memo[event_type] = found
        return found

    def wants(self, event_type: str) -> bool:
        return bool(self.matching(event_type))


def _load_subscriptions() -> SubscriptionIndex:
    from webhooks.models import WebhookSubscription

    return SubscriptionIndex(tuple(WebhookSubscription.objects.filter(is_active=True)
                                   .order_by("id").values_list("id", "event_type")))


def subscription_index() -> SubscriptionIndex:
    return _current("webhooks", _load_subscriptions)


# -- planning ----------------------------------------------------------------------------------------------
def planning_config(load: Callable[[], T]) -> T:
    """The planning part (scenarios, rules, locations' static attributes), built by ``load`` —
    the planning app owns its shape."""
    return _current("planning", load)


def transitions_leaving(state_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """Active transitions leaving each state (by id), from the cache."""
    outgoing = commands_config().outgoing
    return {state: outgoing.get(state, ()) for state in set(state_ids)}
