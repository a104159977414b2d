"""Writes and validation for states and transitions."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from commands.enums import ALL_VISIBILITY
from commands.errors import CommandNotAllowed
from commands.models import State, Transition
from commands.registry import registry


def transition_default_slug(transition: Transition) -> str:
    """``<object>__<command lower>__<source slug>__<destination slug>``."""
    object_type = registry.object_type_for_enum_class(transition.source_state.enum_class)
    object_name = object_type.name if object_type else "object"
    destination = transition.destination_state.slug if transition.destination_state_id else "previous"
    return f"{object_name}__{transition.command.lower()}__{transition.source_state.slug}__{destination}"


def transition_validate(transition: Transition) -> None:
    """Refuse a transition its command type cannot perform (spec §2, ``commands_100_1``).

    Raises ``django.core.exceptions.ValidationError`` whose messages are the seed's."""
    message = CommandNotAllowed.default_message
    command_type = registry.get(transition.command)
    if command_type is None:
        raise ValidationError({"command": f"Unknown command type '{transition.command}'."})
    if not transition.source_state_id:
        return  # the form reports the missing field itself
    source: State = transition.source_state
    object_type = registry.object_types[command_type.object_type]
    if source.enum_class != object_type.enum_class:
        raise ValidationError({"source_state": message})
    destination: State | None = transition.destination_state if transition.destination_state_id else None
    if command_type.restores_state:
        if destination is not None:
            raise ValidationError({"destination_state": f"{message} ({command_type.code} returns to "
                                                        "the state before; leave it empty)."})
        ok = command_type.allows(source.status, None)
    else:
        if destination is None:
            raise ValidationError({"destination_state": message})
        if destination.enum_class != object_type.enum_class:
            raise ValidationError({"destination_state": message})
        ok = command_type.allows(source.status, destination.status)
    if not ok:
        raise ValidationError(message, code=CommandNotAllowed.error_code)
    visibility = transition.ui_visibility or []
    unknown = [v for v in visibility if v not in ALL_VISIBILITY]
    if not isinstance(visibility, list) or unknown:
        raise ValidationError({"ui_visibility": f"Use a list of {', '.join(ALL_VISIBILITY)}."})

