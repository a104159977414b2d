"""The command-type registry. Domain apps register their object types (package, transfer) and
command types here from their ``handlers`` modules; this app imports no domain app.

The From -> To pairs of a command type are read off its django-fsm transition method, so the
lifecycle in code is the one source of truth for what a ``Transition`` row may configure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django_fsm import RETURN_VALUE


@dataclass(frozen=True)
class ObjectType:
    name: str                      # "package" | "transfer"
    model_label: str               # "packages.Package"
    enum_class: str                # State.enum_class for this object's states
    status_enum: type[models.Choices]
    # Called by the dispatcher after every status move, in the command's transaction, with
    # (obj, old_status, new_status, old_state_id): counters, item statuses, derived order
    # status, webhook events.
    after_move: Callable[[Any, Any, Any, int], None] | None = None
    # select_related used when the dispatcher loads the locked object.
    lock_related: tuple[str, ...] = ()
    # Every command takes its row locks in one order — package, order, transfer, stock (one
    # pk-ordered statement), location — so concurrent commands queue instead of deadlocking.
    # lock_before(object_id) locks rows that come before the object (a transfer's package and
    # order); lock_after(obj) those right after it (a package's order).
    lock_before: Callable[[Any], None] | None = None
    lock_after: Callable[[Any], None] | None = None
    # Related rows locked by the statement that locks the object (FOR UPDATE OF them), right
    # after it: a package's order, one statement less than ``lock_after``. The next statement
    # reads the object with ``lock_related`` and ``read_annotations(reads)`` (e.g. the statuses
    # of the order's other packages; what the command type ``reads``), once every lock is held.
    lock_with: tuple[str, ...] = ()
    read_annotations: Callable[[tuple[str, ...]], dict] | None = None
    # after_move also saves the moved object: it is given the fields to save (``save_fields=``)
    # so that the object's row and what follows its move can be written in one statement.
    saves_after_move: bool = False
    # The stock locations a caller must hold to run a command on the object (store users are
    # refused otherwise): a package's location; a transfer's source. Command types override it.
    acting_locations: Callable[[Any, dict], list[int]] | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def status_values(self) -> list[str]:
        return [str(v) for v in self.status_enum.values]

    def status_from_enum_value(self, enum_value: str) -> Any:
        return self.status_enum(type(self.status_enum.values[0])(enum_value))

    def status_key(self, status: Any) -> str:
        """The lower-case key of a status (``packed``), used in slugs and event names."""
        return self.status_enum(status).name.lower()


@dataclass(frozen=True)
class CommandContext:
    obj: Any
    transition: Any
    data: dict
    actor: Any
    channel: str | None


@dataclass(frozen=True)
class CommandResult:
    body: dict | None = None
    status_code: int = 200
    # Fields of the object the handler changed, saved with the status move.
    update_fields: tuple[str, ...] = ()
    # True when the handler moved other objects and this one keeps its state (split commands).
    keeps_state: bool = False
    # Runs after the object's own move and log row, in the same transaction (e.g. a delivered
    # transfer releasing its package once no transfer is open).
    after: Callable[[], None] | None = None


@dataclass
class CommandType:
    code: str
    object_type: str
    fsm_method: str
    handle: Callable[[CommandContext], CommandResult] | None = None
    input_serializer: type | None = None
    # Restoring types (unblock, reject cancellation) go back to the remembered state; their
    # transitions have no destination state.
    restores_state: bool = False
    # (obj, validated input) -> stock locations the caller must hold; None: the object type's.
    acting_locations: Callable[[Any, dict], list[int]] | None = None
    # What the handler uses of the object's related rows, brought by the dispatcher's read of the
    # locked object (``ObjectType.read_annotations``), e.g. a package's "items", "reservations".
    reads: tuple[str, ...] = ()
    _pairs: frozenset | None = field(default=None, repr=False)

    def locations_needed(self, obj: Any, data: dict) -> list[int]:
        """The stock locations a caller must hold to run this command on ``obj``."""
        rule = self.acting_locations or registry.object_types[self.object_type].acting_locations
        return list(rule(obj, data)) if rule is not None else []

    @property
    def pairs(self) -> frozenset[tuple[Any, Any]]:
        """Every allowed (source status, destination status); destination None = restore."""
        if self._pairs is None:
            self._pairs = self._read_pairs()
        return self._pairs

    def _read_pairs(self) -> frozenset[tuple[Any, Any]]:
        model = registry.object_types[self.object_type].model
        meta = getattr(model, self.fsm_method)._django_fsm
        pairs = set()
        for source, fsm_transition in meta.transitions.items():
            target = fsm_transition.target
            if self.restores_state:
                pairs.add((source, None))
            elif target is None:           # django-fsm: None = the status does not change
                pairs.add((source, source))
            elif isinstance(target, RETURN_VALUE):
                pairs.update((source, t) for t in target.allowed_states)
            else:
                pairs.add((source, target))
        return frozenset(pairs)

    @property
    def sources(self) -> frozenset:
        return frozenset(s for s, _ in self.pairs)

    @property
    def targets(self) -> frozenset:
        return frozenset(t for _, t in self.pairs if t is not None)

    @property
    def takes_target(self) -> bool:
        """Whether the FSM method is told its destination status (several are possible)."""
        model = registry.object_types[self.object_type].model
        meta = getattr(model, self.fsm_method)._django_fsm
        return any(isinstance(t.target, RETURN_VALUE) for t in meta.transitions.values()) \
            and not self.restores_state

    def allows(self, source: Any, destination: Any) -> bool:
        return (source, destination) in self.pairs

    @property
    def is_implemented(self) -> bool:
        return self.handle is not None


class Registry:
    def __init__(self) -> None:
        self.object_types: dict[str, ObjectType] = {}
        self.command_types: dict[str, CommandType] = {}
        # Context managers the dispatcher opens around every command, inside its transaction and
        # outside the outbox batch (their writes come last): apps register them.
        self.command_batches: list[Callable[[], Any]] = []

    def register_object_type(self, object_type: ObjectType) -> None:
        self.object_types[object_type.name] = object_type

    def object_type_for_enum_class(self, enum_class: str) -> ObjectType | None:
        return next((o for o in self.object_types.values() if o.enum_class == enum_class), None)

    def object_type_for_model(self, model: type[models.Model]) -> ObjectType:
        label = model._meta.label
        return next(o for o in self.object_types.values() if o.model_label == label)

    def add(self, command_type: CommandType) -> CommandType:
        if command_type.code in self.command_types:
            raise ValueError(f"Command type {command_type.code} registered twice")
        self.command_types[command_type.code] = command_type
        return command_type

    def get(self, code: str) -> CommandType | None:
        return self.command_types.get(code)

    def for_object_type(self, object_type: str) -> list[CommandType]:
        return [c for c in self.command_types.values() if c.object_type == object_type]


registry = Registry()


def command_type(code: str, *, object_type: str, fsm_method: str, input_serializer: type | None = None,
                 restores_state: bool = False,
                 acting_locations: Callable[[Any, dict], list[int]] | None = None,
                 reads: tuple[str, ...] = ()) -> Callable:
    """Decorator registering a handler function as the behaviour of a command type."""

    def decorator(func: Callable[[CommandContext], CommandResult]) -> Callable:
        registry.add(CommandType(code=code, object_type=object_type, fsm_method=fsm_method,
                                 handle=func, input_serializer=input_serializer,
                                 restores_state=restores_state, acting_locations=acting_locations,
                                 reads=tuple(reads)))
        return func

    return decorator


def declare_command_type(code: str, *, object_type: str, fsm_method: str,
                         restores_state: bool = False) -> CommandType:
    """A command type whose lifecycle exists but whose behaviour is not built yet: it can be
    configured and listed; running it is refused with ``commands_100_7``."""
    return registry.add(CommandType(code=code, object_type=object_type, fsm_method=fsm_method,
                                    restores_state=restores_state))
