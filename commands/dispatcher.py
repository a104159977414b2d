"""The one entry point that runs commands: API, admin, management commands and jobs.

One database transaction per command: lock the object, check, validate, run the handler, move
the status through the django-fsm method, set the state, write the audit row — all or nothing."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, models, transaction

from accounts.scoping import require_locations, scope_queryset, user_scope
from commands import cache
from commands.errors import (
    CommandInputInvalid,
    CommandMismatch,
    CommandNotAllowed,
    CommandNotFound,
    CommandNotImplemented,
    CommandNotVisible,
    IdempotencyKeyReused,
    TransitionRequired,
)
from commands.models import IdempotencyRecord, State, StateTransitionLog, Transition
from commands.registry import CommandContext, CommandResult, CommandType, registry
from oms.db import PK_SENTINEL, fetch_one
from oms.errors import DomainError
from oms.metrics import command_traced, observed_command
from webhooks.outbox import outbox_batch, outbox_deferred, row_add

logger = logging.getLogger(__name__)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back whole.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
# foreign_key_violation, found at commit (Django's foreign keys are checked then): a row the
# command referenced was deleted meanwhile by another transaction — a webhook subscription
# deleted while the command wrote a delivery for it. Run again, the configuration read afresh.
RETRY_INTEGRITY_SQLSTATES = frozenset({"23503"})
RETRY_ATTEMPTS = 3


class ObjectNotFound(DomainError):
    http_status = 404
    error_code = ""
    default_message = "Not found."

    def as_error(self) -> dict:
        return {"detail": self.message}


@dataclass(frozen=True)
class CommandOutcome:
    result: CommandResult
    replayed: bool = False


@observed_command
def command_run(*, object_type: str, object_id: Any, transition_id: int | None = None,
                slug: str | None = None, input_parameters: dict | None = None, actor=None,
                channel: str | None = None, queryset: models.QuerySet | None = None,
                idempotency_key: str | None = None) -> CommandOutcome:
    """Run the transition named by ``transition_id`` and/or ``slug`` on one object.

    ``channel`` is the caller's ui_visibility channel (None: the OMS itself, sees everything);
    ``queryset`` limits which objects the caller may act on (others are 404)."""
    input_parameters = input_parameters or {}
    if transition_id is None and not slug:
        raise TransitionRequired()
    record_user = actor if (idempotency_key and actor is not None and actor.pk) else None
    fingerprint = _fingerprint(object_type, object_id, transition_id, slug, input_parameters)
    run = functools.partial(_attempt, object_type=object_type, object_id=object_id,
                            transition_id=transition_id, slug=slug, input_parameters=input_parameters,
                            actor=actor, channel=channel, queryset=queryset,
                            idempotency_key=idempotency_key, record_user=record_user,
                            fingerprint=fingerprint)
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return run()
        except (OperationalError, IntegrityError) as error:
            # A deadlock or serialization failure (or a reference deleted meanwhile) rolled the
            # whole command back: run it again from the start (a stored Idempotency-Key response
            # is found on the next attempt).
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            retried = RETRY_SQLSTATES if isinstance(error, OperationalError) else RETRY_INTEGRITY_SQLSTATES
            if sqlstate not in retried or attempt == RETRY_ATTEMPTS:
                raise
            logger.warning("Command on %s %s rolled back (%s), attempt %d of %d; retrying",
                           object_type, object_id, sqlstate, attempt, RETRY_ATTEMPTS)
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def _attempt(*, object_type, object_id, transition_id, slug, input_parameters, actor, channel,
             queryset, idempotency_key, record_user, fingerprint) -> CommandOutcome:
    if record_user is not None:
        replay = _replay(record_user, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    try:
        with transaction.atomic(durable=True), ExitStack() as batches:
            # The outbox's statement is the command's last: the batches inside it (e.g. quota
            # moves) join it on PostgreSQL (webhooks.outbox.statement_join).
            batches.enter_context(outbox_batch())
            for batch in registry.command_batches:
                batches.enter_context(batch())
            result = _run(object_type=object_type, object_id=object_id, transition_id=transition_id,
                          slug=slug, input_parameters=input_parameters, actor=actor, channel=channel,
                          queryset=queryset, idempotency_key=idempotency_key)
            if record_user is not None:
                IdempotencyRecord.objects.create(
                    user=record_user, key=idempotency_key, request_fingerprint=fingerprint,
                    response_status=result.status_code, response_body=result.body)
    except DomainError as error:
        if record_user is not None and not isinstance(error, (IdempotencyKeyReused, StoredRefusal)):
            # A concurrent twin with the same key may have run first (we then found the object
            # moved): answer as it did. Otherwise this refusal is the first response.
            replay = _replay(record_user, idempotency_key, fingerprint)
            if replay is not None:
                return replay
            _store_refusal(record_user, idempotency_key, fingerprint, error)
        raise
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        if record_user is not None:
            replay = _replay(record_user, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        raise
    return CommandOutcome(result)


def _run(*, object_type, object_id, transition_id, slug, input_parameters, actor, channel,
         queryset, idempotency_key) -> CommandResult:
    otype = registry.object_types[object_type]
    model = otype.model
    # Every caller (API, admin, jobs) is narrowed here too: a store user's other stores are 404.
    base = scope_queryset(queryset if queryset is not None else model._default_manager.all(), actor)
    # Lock the row (and ``lock_with``'s, right after it), then read it with its relations in the
    # next statement: a statement that waited for a lock still reads every row it does not lock
    # as it was when the statement began, before the transaction it waited for committed (a
    # sibling package's status, a shipment just created). The next statement begins after the
    # locks are held and sees all of that. The lock statement also reads the configuration's
    # version (commands.cache).
    if _unfiltered(base):
        # Every row is in scope (the OMS itself, operators, integrations): both reads' SQL is
        # compiled once per process (oms.db.fetch_one), the same SQL as the querysets below.
        pk = _pk_value(model, object_id)
        if otype.lock_before is not None:
            otype.lock_before(pk)
        locked = fetch_one(("command-lock", object_type),
                           lambda value: _lock_query(otype, model._default_manager.all()).filter(pk=value),
                           pk, sentinel=PK_SENTINEL)
        if locked is None:
            raise ObjectNotFound()
        cache.provide_versions(locked.config_versions)
        if otype.lock_after is not None:
            otype.lock_after(locked)
        transition, command_type = _resolve_command(otype, object_type, transition_id, slug)
        reads = command_type.reads  # one compiled read per set of related rows a command uses
        obj = fetch_one(("command-read", object_type, reads), lambda value: _read_query(
            otype, model._default_manager.all(), reads).filter(pk=value), pk, sentinel=PK_SENTINEL)
    else:
        try:
            if otype.lock_before is not None:
                otype.lock_before(object_id)
            locked = _lock_query(otype, base).get(pk=object_id)
        except (model.DoesNotExist, ValueError, TypeError, OverflowError):
            raise ObjectNotFound() from None
        cache.provide_versions(locked.config_versions)
        if otype.lock_after is not None:
            otype.lock_after(locked)
        transition, command_type = _resolve_command(otype, object_type, transition_id, slug)
        obj = _read_query(otype, base, command_type.reads).get(pk=locked.pk)

    command_traced(obj, transition)  # names them on the command's log line (oms.metrics)
    if channel is not None and channel not in (transition.ui_visibility or []):
        raise CommandNotVisible()
    if obj.state_id != transition.source_state_id:
        raise CommandNotAllowed()
    if command_type.restores_state and obj.previous_state_id is None:
        raise CommandNotAllowed("There is no remembered state to return to.")
    if not command_type.is_implemented:
        raise CommandNotImplemented(f"Command type {command_type.code} is not available in this "
                                    "version of the OMS.")
    data = _validate(command_type, transition, input_parameters, obj)
    _check_locations(actor, command_type, obj, data)

    old_status, old_state_id = obj.status, obj.state_id
    context = CommandContext(obj=obj, transition=transition, data=data, actor=actor, channel=channel)
    with outbox_deferred():
        result = command_type.handle(context)
    if result.keeps_state:  # the command moved other objects; this one stays, and is logged
        if result.update_fields:
            obj.save(update_fields=["modified_date", *result.update_fields])
    else:
        _move(obj, command_type, transition)
        fields = ["status", "state", "modified_date", *result.update_fields]
        if hasattr(obj, "state_memory"):  # objects that remember states (packages)
            fields += ["previous_state", "state_memory"]
        if otype.after_move is not None and otype.saves_after_move:
            otype.after_move(obj, old_status, obj.status, old_state_id, save_fields=fields)
        else:
            obj.save(update_fields=fields)
            if otype.after_move is not None:
                otype.after_move(obj, old_status, obj.status, old_state_id)
    log_transition(obj=obj, old_state_id=old_state_id, new_state_id=obj.state_id, actor=actor,
                   attributes={
                       "command": {"slug": transition.slug, "transition_id": transition.pk,
                                   "command": transition.command},
                       "input_parameters": {**(transition.input_defaults or {}), **input_parameters},
                       "idempotency_key": idempotency_key,
                   })
    if result.after is not None:
        result.after()
    return result


def _lock_query(otype, base: models.QuerySet) -> models.QuerySet:
    """The object's ``SELECT ... FOR UPDATE`` with the configuration's version; the rows locked
    right after it (a package's order, ``ObjectType.lock_with``) are locked by the same statement,
    in that order."""
    query = base.annotate(config_versions=cache.versions_expression())
    if otype.lock_with:
        query = query.select_related(*otype.lock_with)
    return query.select_for_update(of=("self", *otype.lock_with))


def _read_query(otype, base: models.QuerySet, reads: tuple[str, ...]) -> models.QuerySet:
    """The locked object read with its relations and what the command ``reads``, after the locks
    are held (see ``_run``)."""
    read = base.select_related(*otype.lock_related)
    if otype.read_annotations is not None:
        read = read.annotate(**otype.read_annotations(reads))
    return read


def _resolve_command(otype, object_type: str, transition_id, slug) -> tuple[Transition, CommandType]:
    """The transition (``_resolve``) and its command type, which ``_resolve`` found registered."""
    transition = _resolve(otype.enum_class, object_type, transition_id, slug)
    return transition, registry.get(transition.command)


def _unfiltered(queryset: models.QuerySet) -> bool:
    """The queryset is its model's every row, nothing added (no scope, no filter, no join)."""
    query = queryset.query
    return (not query.where and not query.annotations and not query.extra and not query.is_sliced
            and query.select_related is False and not query.distinct and not query.select_for_update
            and type(queryset) is type(queryset.model._default_manager.all()))


def _pk_value(model, object_id) -> int:
    """The object id of the URL or the caller as the primary key's value; ObjectNotFound when it
    cannot be one (not an integer, or outside the column's range)."""
    field = model._meta.pk
    try:
        value = field.to_python(object_id)
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise ObjectNotFound() from None
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    if not isinstance(value, int) or (low is not None and value < low) or (high is not None and value > high):
        raise ObjectNotFound()
    return value


def _check_locations(actor, command_type: CommandType, obj, data: dict) -> None:
    """Store users act only where they are: the package's location, the transfer's side, the
    locations a command sends items to (``CommandType.locations_needed``)."""
    if user_scope(actor).is_restricted:
        require_locations(actor, command_type.locations_needed(obj, data), action=command_type.code)


def _resolve(enum_class: str, object_type: str, transition_id, slug) -> Transition:
    """The transition by id and/or slug, from the per-process configuration cache."""
    by_id, by_slug = cache.commands_config().lookup(transition_id, slug)
    if transition_id is not None and slug and (by_id or by_slug) and by_id != by_slug:
        raise CommandMismatch()
    transition = by_id or by_slug
    if (transition is None or not transition.is_active
            or transition.source_state.enum_class != enum_class):
        raise CommandNotFound()
    command_type = registry.get(transition.command)
    if command_type is None or command_type.object_type != object_type:
        raise CommandNotFound()
    return transition


def _validate(command_type: CommandType, transition: Transition, input_parameters: dict, obj) -> dict:
    if not isinstance(input_parameters, dict):
        raise CommandInputInvalid(fields={"input_parameters": ["Expected an object."]})
    if command_type.input_serializer is None:
        return {}
    merged = {**(transition.input_defaults or {}), **input_parameters}
    if not merged and getattr(command_type.input_serializer, "takes_nothing", False):
        return {}  # what the serializer would validate it to, without building it
    serializer = command_type.input_serializer(data=merged, context={"obj": obj})
    if not serializer.is_valid():
        raise CommandInputInvalid(fields=_plain_errors(serializer.errors))
    return serializer.validated_data


def _plain_errors(errors) -> dict:
    return json.loads(json.dumps(errors, default=str))


def _move(obj, command_type: CommandType, transition: Transition) -> None:
    method = getattr(obj, command_type.fsm_method)
    if command_type.restores_state:
        method()  # returns to the remembered state and sets it
        return
    destination: State = transition.destination_state
    if command_type.takes_target:
        method(destination.status)
    else:
        method()
    obj.state = destination



def log_transition(*, obj, old_state_id: int | None, new_state_id: int | None, actor,
                   attributes: dict) -> StateTransitionLog:
    """Write the append-only audit row of a state change (commands and system transitions): with
    the command's outbox rows, in their statement (webhooks.outbox), or at once outside a batch."""
    row = StateTransitionLog(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
        old_state_id=old_state_id, new_state_id=new_state_id,
        user=actor if (actor is not None and actor.pk) else None, attributes=attributes)
    row_add(row)
    return row


def _fingerprint(object_type, object_id, transition_id, slug, input_parameters) -> str:
    raw = json.dumps([object_type, str(object_id), transition_id, slug or None, input_parameters],
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(user, key: str, fingerprint: str) -> CommandOutcome | None:
    record = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if record is None:
        return None
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if record.response_status >= 400:
        raise StoredRefusal(record.response_status, record.response_body)
    return CommandOutcome(CommandResult(record.response_body, record.response_status), replayed=True)


def _store_refusal(user, key: str, fingerprint: str, error: DomainError) -> None:
    body = {"error": error.as_error(), "status_code": error.http_status}
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.get_or_create(
                user=user, key=key, defaults={"request_fingerprint": fingerprint,
                                              "response_status": error.http_status,
                                              "response_body": body})
    except IntegrityError:
        pass


class StoredRefusal(DomainError):
    """A replayed refusal: the stored envelope is answered again, marked as replayed."""

    replayed = True

    def __init__(self, status: int, body: dict) -> None:
        super().__init__(str(body.get("error")), http_status=status)
        self.body = body

    def as_error(self) -> dict:
        return self.body["error"]
