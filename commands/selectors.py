from collections import defaultdict
from collections.abc import Iterable

from commands.cache import commands_config
from commands.models import Transition
from commands.registry import registry


def commands_for_states(state_ids: Iterable[int], channel: str | None) -> dict[int, list[Transition]]:
    """Active transitions leaving each state that the channel may see (configuration cache: one
    version check, no read while it is current)."""
    result: dict[int, list[Transition]] = defaultdict(list)
    ids = set(state_ids)
    if not ids:
        return result
    outgoing = commands_config().outgoing
    for state_id in ids:
        for transition in outgoing.get(state_id, ()):  # by id
            command_type = registry.get(transition.command)
            if command_type is None or not command_type.is_implemented:
                continue  # configured, but this version cannot run it yet: no dead buttons
            if channel is None or channel in (transition.ui_visibility or []):
                result[state_id].append(transition)
    return result
