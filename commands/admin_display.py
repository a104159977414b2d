"""How states, transitions and the audit trail read in the admin: names (translated when the UI
language has a translation), coloured status badges, plain command labels, log titles and the
timeline of an object.

This app knows no domain app: the domain admins register their status colours
(``register_status_variants``) and how their command inputs read (``register_input_describer``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, CharField, OuterRef, Subquery, Value, When
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry

# unfold's label colours (unfold/helpers/label.html): the classes exist in its stylesheet.
VARIANT_CLASSES = {
    "info": "bg-blue-100 text-blue-700 dark:bg-blue-500/20 dark:text-blue-400",
    "danger": "bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400",
    "warning": "bg-orange-100 text-orange-700 dark:bg-orange-500/20 dark:text-orange-400",
    "success": "bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400",
    "primary": "bg-primary-100 text-primary-700 dark:bg-primary-500/20 dark:text-primary-400",
    "default": "bg-base-500/8 text-base-700 dark:bg-base-500/20 dark:text-base-200",
}

# enum_class -> {enum_value (as stored on State): variant}
_STATUS_VARIANTS: dict[str, dict[str, str]] = {}
# input parameter name -> function(value) -> readable text
_INPUT_DESCRIBERS: dict[str, Callable[[Any], str]] = {}


def register_status_variants(enum_class: str, variants: dict[Any, str]) -> None:
    """The badge colour of each status of an enum class (``info``, ``primary``, ``success``,
    ``warning``, ``danger``, ``default``)."""
    unknown = set(variants.values()) - set(VARIANT_CLASSES)
    if unknown:
        raise ValueError(f"Unknown badge variants {sorted(unknown)}")
    _STATUS_VARIANTS[enum_class] = {str(k): v for k, v in variants.items()}


def register_input_describer(name: str, describe: Callable[[Any], str]) -> None:
    """How the command input ``name`` reads in timelines (a cargo company id -> its name)."""
    _INPUT_DESCRIBERS[name] = describe


def status_variant(enum_class: str, enum_value: Any) -> str:
    return _STATUS_VARIANTS.get(enum_class, {}).get(str(enum_value), "default")


# -- names -----------------------------------------------------------------------------------------
def _translated(translations: dict | None, key: str) -> str | None:
    """``translations[<active language>][key]`` when the UI is not in the default language (the
    default language reads the row's own, operator-edited, name)."""
    language = (get_language() or settings.LANGUAGE_CODE).lower()
    if not translations or language.split("-")[0] == settings.LANGUAGE_CODE.lower().split("-")[0]:
        return None
    candidates = [language, *(k for k in translations if k.split("-")[0] == language.split("-")[0])]
    for code in candidates:
        entry = translations.get(code)
        if isinstance(entry, dict) and entry.get(key):
            return str(entry[key])
    return None


def state_name(state: State | None) -> str:
    """A state as people say it: "Packed" (not "Packed (PackageStatus 500)")."""
    if state is None:
        return "–"
    return _translated(state.translations, "name") or state.name


def state_choice_label(state: State) -> str:
    """A state where package and transfer states mix: "Waiting (package)"."""
    object_type = registry.object_type_for_enum_class(state.enum_class)
    return f"{state_name(state)} ({object_type.name if object_type else state.enum_class})"


_STATE_SUFFIX = re.compile(r"\s*\([^()]*→[^()]*\)\s*$")


def transition_label(transition: Transition) -> str:
    """The transition's label in the UI language ("Pack (Waiting → Packed)")."""
    translations = transition.translations if isinstance(transition.translations, dict) else None
    return (_translated(translations, "label") or _translated(translations, "name")
            or transition.label)


def plain_label(transition: Transition) -> str:
    """The label without its "(source → destination)" suffix: "Pack"."""
    return _STATE_SUFFIX.sub("", transition_label(transition)) or transition_label(transition)


def badge(text: str, variant: str = "default", *, status: str = "", testid: str = "state-badge",
          title: str = "") -> SafeString:
    """A coloured label (unfold's look) with stable hooks for tests: ``data-testid`` and
    ``data-status``."""
    return render_to_string("admin/oms/badge.html", {
        "text": text, "variant": variant if variant in VARIANT_CLASSES else "default",
        "classes": VARIANT_CLASSES.get(variant, VARIANT_CLASSES["default"]), "status": status,
        "testid": testid, "title": title})


def state_badge(state: State | None) -> SafeString | str:
    if state is None:
        return "–"
    return badge(state_name(state), status_variant(state.enum_class, state.enum_value),
                 status=state.slug)


class TitledObject:
    """An object for a page's template whose ``str()`` is ``title``: the admin header and page title
    read ``str(original)``, which for some models is a developer's string ("package #1: 8 -> 10").
    Every other attribute is the object's own."""

    def __init__(self, obj, title: str) -> None:
        self._obj = obj
        self._title = title

    def __getattr__(self, name: str):
        return getattr(self._obj, name)

    def __str__(self) -> str:
        return self._title


# -- log rows ----------------------------------------------------------------------------------------
def object_number_annotation() -> Case:
    """SQL for the ``number`` of a log row's object (package or transfer), for lists and search."""
    whens = []
    types = ContentType.objects.get_for_models(*(t.model for t in registry.object_types.values()))
    for model, content_type in types.items():
        if not any(f.name == "number" for f in model._meta.fields):
            continue
        number = model._default_manager.filter(pk=OuterRef("object_id")).values("number")[:1]
        whens.append(When(content_type_id=content_type.pk, then=Subquery(number)))
    return Case(*whens, default=Value(""), output_field=CharField())


def object_types_matching(number_fragment: str) -> list[tuple[int, Any]]:
    """(content type id, subquery of ids) of the objects whose number contains the fragment."""
    found = []
    types = ContentType.objects.get_for_models(*(t.model for t in registry.object_types.values()))
    for model, content_type in types.items():
        ids = model._default_manager.filter(number__icontains=number_fragment).values("pk")
        found.append((content_type.pk, ids))
    return found


def log_command(log: StateTransitionLog) -> dict:
    return (log.attributes or {}).get("command") or {}


def log_action_label(log: StateTransitionLog, transitions: dict[int, Transition] | None = None) -> str:
    """What happened, in words: the transition's plain label ("Pack"), or what the system did."""
    attributes = log.attributes or {}
    command = log_command(log)
    if command:
        transition = (transitions or {}).get(command.get("transition_id"))
        if transition is not None and transition.slug == command.get("slug"):
            return plain_label(transition)
        code = command.get("command") or ""
        return code.replace("_", " ").capitalize() or command.get("slug") or _("Command")
    if attributes.get("system"):
        reason = attributes.get("reason")
        return _("System: %(reason)s") % {"reason": reason} if reason else _("System")
    return _("State change")


def log_title(log: StateTransitionLog, number: str | None = None) -> str:
    """ "WEB-240101P1: Waiting → Packed"."""
    who = number or f"{log.content_type.model} #{log.object_id}"
    return f"{who}: {state_name(log.old_state)} → {state_name(log.new_state)}"


def describe_inputs(parameters: dict | None) -> list[tuple[str, str]]:
    """A command's inputs as (label, text) pairs people read: names instead of ids, the document
    as its size instead of its base64."""
    rows = []
    # By name: the stored JSON keeps no order on PostgreSQL (jsonb).
    for name, value in sorted((parameters or {}).items()):
        if value in (None, "", [], {}):
            continue
        describe = _INPUT_DESCRIBERS.get(name)
        try:
            text = describe(value) if describe else _plain_value(value)
        except Exception:  # a describer must never break the page: show the raw value
            text = _plain_value(value)
        rows.append((name.replace("_", " ").capitalize(), text))
    return rows


def _plain_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain_value(v)}" for k, v in value.items())
    return str(value)


# -- timeline ------------------------------------------------------------------------------------------
@dataclass
class TimelineEntry:
    when: datetime
    title: str
    kind: str = "transition"                 # "transition" | "system" | "shipment" | …
    actor: str = ""
    old_state: State | None = None
    new_state: State | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    command: str = ""
    log_id: int | None = None

    @property
    def new_state_badge(self):
        return state_badge(self.new_state) if self.new_state is not None else ""

    @property
    def old_state_name(self) -> str:
        return state_name(self.old_state) if self.old_state is not None else ""


def timeline_entries(obj, extra: Iterable[TimelineEntry] = ()) -> list[TimelineEntry]:
    """Every state change of ``obj`` (oldest first) with who did it and its inputs in words, merged
    with ``extra`` entries (shipment events…) by time."""
    content_type = ContentType.objects.get_for_model(obj)
    logs = list(StateTransitionLog.objects.filter(content_type=content_type, object_id=obj.pk)
                .select_related("old_state", "new_state", "user").order_by("created_date", "id"))
    transition_ids = {log_command(log).get("transition_id") for log in logs} - {None}
    transitions = {t.pk: t for t in Transition.objects.filter(pk__in=transition_ids)}
    entries = []
    for log in logs:
        attributes = log.attributes or {}
        command = log_command(log)
        details = describe_inputs(attributes.get("input_parameters"))
        entries.append(TimelineEntry(
            when=log.created_date, title=log_action_label(log, transitions),
            kind="transition" if command else "system",
            actor=log.user.get_username() if log.user else _("system"),
            old_state=log.old_state, new_state=log.new_state, details=details,
            command=command.get("command", ""), log_id=log.pk))
    entries.extend(extra)
    entries.sort(key=lambda e: e.when)
    return entries


def render_timeline(entries: list[TimelineEntry], *, log_url: str = "") -> SafeString:
    return render_to_string("admin/oms/timeline.html", {"entries": entries, "log_url": log_url})


# -- the state machine as a chart ------------------------------------------------------------------
def flowchart_svg(*, enum_class: str, current_state_id: int | None = None,
                  runnable_transition_ids: Iterable[int] = ()) -> SafeString | str:
    """The chart of one object type's states and transitions (``commands.flowchart.render_svg``),
    the current state highlighted and the transitions the user may run now marked; "" while that
    module is not there."""
    try:
        from commands.flowchart import render_svg
    except ImportError:
        return ""
    return render_svg(enum_class=enum_class, current_state_id=current_state_id,
                      runnable_transition_ids=list(runnable_transition_ids))
