from collections import defaultdict
from collections.abc import Iterable

from commands.models import Transition
from commands.registry import registry


def commands_for_states(state_ids: Iterable[int], channel: str | None) -> dict[int, list[Transition]]:
    """Active transitions leaving each state that the channel may see, in one query."""
    result: dict[int, list[Transition]] = defaultdict(list)
    ids = set(state_ids)
    if not ids:
        return result
    for transition in Transition.objects.filter(source_state_id__in=ids, is_active=True).order_by("id"):
        # ui_visibility is a JSON list; filtered here because SQLite has no JSON containment.
        command_type = registry.get(transition.command)
        if command_type is None or not command_type.is_implemented:
            continue  # configured, but this version cannot run it yet: no dead buttons
        if channel is None or channel in (transition.ui_visibility or []):
            result[transition.source_state_id].append(transition)
    return result
