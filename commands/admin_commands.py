"""Shared admin code: commands on the pages of stateful objects (packages, transfers), bulk
commands from their lists, refusals in words, and saving admin forms without overwriting
system-maintained columns.

Commands run through ``commands.dispatcher.command_run`` exactly as the API runs them: same
channel (``user_channel``), same checks, same log row. The API answers with the seed's wire texts;
the admin says the same refusals in words ("WEB-240101P1 is Packed now; Pack needs Waiting").
Domain admins declare their primary commands (``command_roles``) and add form fields for their
own serializer field types by overriding ``command_form_field``."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from rest_framework import serializers
from unfold.widgets import (
    CHECKBOX_CLASSES,
    INPUT_CLASSES,
    RADIO_CLASSES,
    SELECT_CLASSES,
    TEXTAREA_CLASSES,
)

from accounts.models import user_channel
from accounts.scoping import all_allowed, scope_queryset, user_scope
from commands.admin_display import (
    TimelineEntry,
    flowchart_svg,
    plain_label,
    render_timeline,
    state_badge,
    state_choice_label,
    state_name,
    timeline_entries,
    transition_label,
)
from commands.dispatcher import command_run
from commands.errors import CommandInputInvalid, CommandNotAllowed, CommandNotFound, CommandNotVisible
from commands.models import State, Transition
from commands.registry import CommandType, registry
from commands.selectors import commands_for_states
from oms.api.serializers import parse_id
from oms.errors import DomainError


class ReadOnlyAdminMixin:
    """Rows written by the system only: listed and shown, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def pretty_json(value) -> str:
    return format_html("<pre class=\"oms-json\">{}</pre>",
                       json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str))


class UpdateFieldsSaveMixin:
    """Saves an edited object with ``update_fields`` = the form fields that changed.

    A plain ``save()`` writes every column, so a change form would write back the counters the
    system maintains (``StockLocation.quota``, ``Stock.reserved``, ``Order.status``) as they were
    read, undoing concurrent moves. New objects are saved whole. A form whose fields are not the
    model's (several inputs for one JSON column) names the columns it changed in
    ``changed_model_fields()``."""

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        concrete = {f.name for f in obj._meta.concrete_fields}
        changed = form.changed_model_fields() if hasattr(form, "changed_model_fields") else form.changed_data
        fields = [name for name in changed if name in concrete]
        if fields:
            if "modified_date" in concrete:
                fields.append("modified_date")
            obj.save(update_fields=fields)


# -- commands as buttons -------------------------------------------------------------------------
@dataclass(frozen=True)
class CommandRole:
    """A command people run in the normal flow, with a plain label: "Pack", "Ship".

    ``commands`` in order of preference: the first one configured for the object's state and the
    user's channel is the button; a ``(code, destination status)`` pair picks one destination of a
    command with several. ``primary``: a prominent button on the object's page; ``bulk``: an action
    on the list; ``done``: the past tense for bulk summaries ("3 packed")."""

    key: str
    label: str
    commands: tuple[str | tuple[str, Any], ...]
    done: str
    primary: bool = True
    bulk: bool = True
    danger: bool = False

    def matches(self, transition: Transition, option: str | tuple[str, Any]) -> bool:
        if isinstance(option, tuple):
            code, destination = option
            return (transition.command == code and transition.destination_state is not None
                    and str(transition.destination_state.enum_value) == str(destination))
        return transition.command == option

    def pick(self, transitions: list[Transition]) -> Transition | None:
        for option in self.commands:
            for transition in transitions:
                if self.matches(transition, option):
                    return transition
        return None

    def codes(self) -> set[str]:
        return {o[0] if isinstance(o, tuple) else o for o in self.commands}


@dataclass(frozen=True)
class CommandButton:
    transition: Transition
    url: str
    needs_input: bool
    label: str = ""
    is_primary: bool = False
    danger: bool = False

    @property
    def title(self) -> str:
        """The transition's full label: "Advanced ship (Packed → Shipped)"."""
        return transition_label(self.transition)

    @property
    def destination_name(self) -> str:
        return state_name(self.transition.destination_state) if self.transition.destination_state_id \
            else _("the state before")


class CommandAdminMixin(UpdateFieldsSaveMixin):
    """For the ModelAdmin of an object with a ``state``: the commands allowed now on its change
    page (primary ones as buttons, the rest under "More", a confirmation step for those without
    input), bulk commands on its list, a timeline of its state changes. Every command runs through
    the dispatcher (POST only, CSRF protected, needs the model's change permission).

    The object itself is read-only here: its status and state move only through commands."""

    command_object_type: str  # "package" | "transfer" (the registry's object type name)
    command_roles: tuple[CommandRole, ...] = ()
    # Inputs that differ per object: a bulk form asks them once per selected object.
    bulk_per_object_inputs: frozenset[str] = frozenset({"tracking_number", "query_number"})
    # Inputs naming an object's own rows (its items): not asked in bulk (the command's default).
    bulk_skipped_inputs: frozenset[str] = frozenset({"package_items", "transfer_items"})
    change_form_template = "admin/oms/stateful_change_form.html"

    # -- urls and permissions ------------------------------------------------------------------
    def get_urls(self):
        return [
            path("<path:object_id>/command/<int:transition_id>/",
                 self.admin_site.admin_view(self.command_view), name=self._url_name("command")),
            *super().get_urls(),
        ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # created by order intake and planning, never by hand

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def command_queryset(self, request: HttpRequest):
        """The objects this user may act on; no joins or aggregates (it is locked FOR UPDATE)."""
        return scope_queryset(self.model._default_manager.all(), request.user)

    # -- change page ---------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False,
                         "show_save_and_continue": False, "show_save_and_add_another": False}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["state_badge"] = state_badge(obj.state)
            entries = timeline_entries(obj, self.timeline_extra(obj))
            extra_context["timeline_entries"] = entries
            extra_context["timeline"] = render_timeline(entries, log_url=self._log_url(obj))
            buttons = []
            if self.has_change_permission(request, obj):
                buttons = self.command_buttons(request, obj)
                extra_context["command_buttons"] = buttons
                extra_context["primary_commands"] = [b for b in buttons if b.is_primary]
                extra_context["more_commands"] = [b for b in buttons if not b.is_primary]
                extra_context["command_buttons_shown"] = True
            extra_context["flowchart"] = flowchart_svg(
                enum_class=obj.state.enum_class, current_state_id=obj.state_id,
                runnable_transition_ids=[b.transition.pk for b in buttons])
        return super().change_view(request, object_id, form_url, extra_context)

    def timeline_extra(self, obj) -> list[TimelineEntry]:
        """Events of the object that are not state changes (shipment events…): override."""
        return []

    def command_buttons(self, request: HttpRequest, obj) -> list[CommandButton]:
        """The commands this user may run on ``obj`` now, in the order of the transitions; the
        primary ones (``command_roles``) carry their plain label."""
        transitions = self._transitions_for(request, obj)
        primary: dict[int, CommandRole] = {}
        for role in self.command_roles:
            if not role.primary:
                continue
            chosen = role.pick([t for t in transitions if t.pk not in primary])
            if chosen is not None:
                primary[chosen.pk] = role
        danger = {code for role in self.command_roles if role.danger for code in role.codes()}
        buttons = []
        for transition in transitions:
            role = primary.get(transition.pk)
            buttons.append(CommandButton(
                transition=transition, url=self._command_url(obj, transition.pk),
                needs_input=bool(self._input_fields(registry.get(transition.command), obj)),
                label=role.label if role else plain_label(transition), is_primary=role is not None,
                danger=transition.command in danger))
        # Several "Move"s (one per destination) say where they go.
        counts: dict[str, int] = {}
        for button in buttons:
            counts[button.label] = counts.get(button.label, 0) + 1
        buttons = [replace(b, label=f"{b.label} → {b.destination_name}")
                   if counts[b.label] > 1 and not b.is_primary else b for b in buttons]
        # Primary buttons in the order of the roles (Pack before Ship), the rest as configured.
        order = {role.key: n for n, role in enumerate(self.command_roles)}
        return sorted(buttons, key=lambda b: (not b.is_primary,
                                              order.get(primary[b.transition.pk].key, 0)
                                              if b.is_primary else 0))

    def _transitions_for(self, request, obj) -> list[Transition]:
        visible = commands_for_states([obj.state_id], user_channel(request.user))[obj.state_id]
        allowed_ids = [t.pk for t in visible]
        # With their states: the buttons name where each goes (one query, not one per button).
        by_id = Transition.objects.select_related("source_state", "destination_state").in_bulk(allowed_ids)
        transitions = [by_id[pk] for pk in allowed_ids if pk in by_id]
        if not user_scope(request.user).is_restricted:
            return transitions
        # A store user sees only what it may run here (a transfer's source side dispatches, its
        # destination receives); the dispatcher refuses the rest anyway.
        allowed = []
        for transition in transitions:
            command_type = registry.get(transition.command)
            needed = getattr(command_type, "locations_needed", None)
            try:
                locations = needed(obj, {}) if needed is not None else []
            except Exception:  # needs the command's input to say: decided when it runs
                locations = []
            if all_allowed(request.user, locations):
                allowed.append(transition)
        return allowed

    # -- running a command ---------------------------------------------------------------------
    def command_view(self, request: HttpRequest, object_id: str, transition_id: int) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        transition = (Transition.objects.select_related("source_state", "destination_state")
                      .filter(pk=transition_id).first())
        command_type = registry.get(transition.command) if transition is not None else None
        if command_type is None or command_type.object_type != self.command_object_type:
            messages.error(request, _("This command does not exist (any more) for %(kind)s.")
                           % {"kind": self.opts.verbose_name_plural})
            return self._change_page_redirect(obj)

        fields = self._input_fields(command_type, obj)
        form = self._command_form(request, obj, transition, fields)
        refusal = ""
        if request.method == "POST" and form.is_valid():
            try:
                outcome = command_run(
                    object_type=self.command_object_type, object_id=obj.pk, transition_id=transition.pk,
                    input_parameters=self._input_parameters(form, fields), actor=request.user,
                    channel=user_channel(request.user), queryset=self.command_queryset(request))
            except DomainError as error:
                obj = self._fresh(obj)
                if isinstance(error, CommandInputInvalid) and error.fields:
                    self._form_errors(form, error.fields)
                refusal = self.refusal_text(error, obj, transition,
                                            label=self._button_label(request, obj, transition),
                                            channel=user_channel(request.user))
                messages.error(request, refusal)
                if not fields:
                    return self._change_page_redirect(obj)
                # A form: shown again with what was typed.
            else:
                self._log_command(request, obj, transition)
                obj = self._fresh(obj)
                messages.success(request, self.command_success_message(
                    obj, transition, outcome.result.body, label=self._button_label(request, obj, transition)))
                return self._change_page_redirect(obj)

        label = self._button_label(request, obj, transition)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: {obj}",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "transition": transition,
            "transition_title": transition_label(transition),
            "command_label": label,
            "command_type": command_type,
            "form": form,
            "has_input": bool(fields),
            "change_url": self._change_url(obj),
            "media": self.media + form.media,
            "state_badge": state_badge(obj.state),
            "source_name": state_name(transition.source_state),
            "destination_name": state_name(transition.destination_state)
            if transition.destination_state_id else _("the state before"),
            "stale": "" if obj.state_id == transition.source_state_id or refusal
            else self.not_allowed_text(obj, label, [transition.source_state]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/command_form.html", context)

    def _fresh(self, obj):
        return self.model._default_manager.select_related("state").get(pk=obj.pk)

    def _button_label(self, request, obj, transition: Transition) -> str:
        for role in self.command_roles:
            if role.primary and any(role.matches(transition, o) for o in role.commands):
                return role.label
        return plain_label(transition)

    @staticmethod
    def _form_errors(form: forms.Form, fields: dict) -> None:
        for name, problems in fields.items():
            text = " ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
            if name in form.fields and name not in form.errors:
                form.add_error(name, text)

    # -- refusals in words ---------------------------------------------------------------------
    def not_allowed_text(self, obj, label: str, sources) -> str:
        names = _state_list([s for s in sources if s is not None])
        return _("%(object)s is %(state)s now; %(command)s needs %(sources)s.") % {
            "object": obj, "state": state_name(obj.state), "command": label, "sources": names}

    def refusal_text(self, error: DomainError, obj, transition: Transition | None,
                     label: str | None = None, channel: str = "") -> str:
        """A dispatcher refusal as people say it, about ``obj`` as it is now. The API keeps the
        wire texts; only the admin rewords them."""
        label = label or (plain_label(transition) if transition is not None else _("This command"))
        if isinstance(error, CommandNotAllowed) and transition is not None:
            if obj.state_id != transition.source_state_id:
                return self.not_allowed_text(obj, label, [transition.source_state])
            if error.message != CommandNotAllowed.default_message:
                return f"{obj}: {error.message}"
            return _("%(object)s: %(command)s cannot run from %(state)s.") % {
                "object": obj, "command": label, "state": state_name(obj.state)}
        if isinstance(error, CommandNotVisible):
            return _("%(command)s is not available to your channel (%(channel)s).") % {
                "command": label, "channel": channel}
        if isinstance(error, CommandNotFound):
            return _("%(command)s does not exist any more or is switched off.") % {"command": label}
        if isinstance(error, CommandInputInvalid):
            return _("%(object)s: %(command)s needs other input: %(problems)s") % {
                "object": obj, "command": label, "problems": str(error)}
        return f"{obj}: {error}"

    def _input_fields(self, command_type: CommandType | None, obj) -> dict[str, serializers.Field]:
        if command_type is None or command_type.input_serializer is None:
            return {}
        return dict(command_type.input_serializer(context={"obj": obj}).fields)

    def _command_form(self, request, obj, transition: Transition, fields: dict) -> forms.Form:
        form_fields = {name: unfold_styled(self.command_form_field(name, field, obj))
                       for name, field in fields.items()}
        # A copy: the form metaclass pops the fields from the dict it is given.
        form_class = type("CommandForm", (forms.Form,), {**form_fields, "required_css_class": "required"})
        if request.method == "POST":
            return form_class(data=request.POST)
        defaults = transition.input_defaults or {}
        initial = {name: self.command_form_initial(form_fields[name], defaults[name])
                   for name in fields if name in defaults}
        return form_class(initial=initial)

    def command_form_field(self, name: str, field: serializers.Field, obj) -> forms.Field:
        """The form field asking for one input parameter. Override to handle domain field types
        (and call super() for the rest)."""
        options: dict[str, Any] = {"required": field.required, "label": field.label or _label(name),
                                   "help_text": field.help_text or ""}
        if isinstance(field, serializers.PrimaryKeyRelatedField):
            return forms.ModelChoiceField(queryset=field.get_queryset(), **options)
        if isinstance(field, serializers.SlugRelatedField):
            choices = [(getattr(o, field.slug_field), str(o)) for o in field.get_queryset()]
            return forms.ChoiceField(choices=[("", "---------"), *choices], **options)
        if isinstance(field, serializers.BooleanField):
            return forms.BooleanField(**{**options, "required": False})
        if isinstance(field, serializers.ChoiceField):
            choices = [("", "---------"), *field.choices.items()]
            return forms.ChoiceField(choices=choices, **options)
        if isinstance(field, serializers.IntegerField):
            return forms.IntegerField(min_value=field.min_value, max_value=field.max_value, **options)
        if isinstance(field, serializers.FloatField):
            return forms.FloatField(**options)
        if isinstance(field, serializers.DateTimeField):
            return forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                       **options)
        if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.IntegerField):
            return IdListField(help_text=options.pop("help_text") or "Comma-separated ids.", **options)
        if isinstance(field, serializers.CharField):
            long_text = field.max_length is None or field.max_length > 255
            return forms.CharField(
                max_length=field.max_length, strip=field.trim_whitespace,
                widget=forms.Textarea(attrs={"rows": 3}) if long_text else forms.TextInput, **options)
        return forms.JSONField(help_text=options.pop("help_text") or "JSON", **options)

    def command_form_initial(self, form_field: forms.Field, default: Any) -> Any:
        if isinstance(form_field, IdListField) and isinstance(default, list):
            return ", ".join(str(v) for v in default)
        return default

    def _input_parameters(self, form: forms.Form, fields, suffix: str = "") -> dict:
        """The form's values as the API would receive them (JSON types); empty optional values are
        left out so that the command type's own defaults apply."""
        params: dict[str, Any] = {}
        for name in fields:
            value = form.cleaned_data.get(f"{name}{suffix}")
            if value in (None, "", [], ()) and not form.fields[f"{name}{suffix}"].required:
                continue
            params[name] = self.command_input_value(value)
        return params

    def command_input_value(self, value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "_meta"):  # a model instance chosen in a select
            return value.pk
        if isinstance(value, (list, tuple)):
            return [self.command_input_value(v) for v in value]
        return value

    def command_success_message(self, obj, transition: Transition, body: dict | None,
                                label: str | None = None) -> str:
        """What happened, for ``obj`` as it is after the command (override to add details)."""
        return _("%(command)s done: %(object)s is now %(state)s.") % {
            "command": label or plain_label(transition), "object": obj, "state": state_name(obj.state)}

    def _log_command(self, request, obj, transition: Transition) -> None:
        # The object's admin history shows what operators ran from here; the audit trail proper
        # is the StateTransitionLog row the dispatcher wrote in the command's transaction.
        self.log_change(request, obj, _("Ran %(command)s.") % {"command": transition_label(transition)})

    # -- bulk commands ---------------------------------------------------------------------------
    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            return actions
        available = self._bulk_roles(request)
        for role, _transitions in available:
            name = f"command_{role.key}"
            actions[name] = (_bulk_action(role), name, _("%(command)s selected %(kind)s") % {
                "command": role.label, "kind": self.opts.verbose_name_plural})
        return actions

    def _bulk_roles(self, request) -> list[tuple[CommandRole, list[Transition]]]:
        """Roles with a bulk action and at least one active transition the user's channel sees."""
        channel = user_channel(request.user)
        codes = {code for role in self.command_roles if role.bulk for code in role.codes()}
        transitions = [t for t in Transition.objects.filter(is_active=True, command__in=codes)
                       .select_related("source_state", "destination_state").order_by("id")
                       if channel in (t.ui_visibility or [])]
        result = []
        for role in self.command_roles:
            if not role.bulk:
                continue
            mine = [t for t in transitions if any(role.matches(t, o) for o in role.commands)]
            if mine:
                result.append((role, mine))
        return result

    def bulk_command(self, request, queryset, role: CommandRole):
        """Run one role's command on every selected object, each in its own transaction (the
        dispatcher's), after a confirmation page that asks the command's input once."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        roles = dict((r.key, ts) for r, ts in self._bulk_roles(request))
        transitions = roles.get(role.key, [])
        # One command type for the whole batch: the first of the role's preferences configured.
        command_code = next((o[0] if isinstance(o, tuple) else o for o in role.commands
                             if any(role.matches(t, o) for t in transitions)), None)
        if command_code is None:
            self.message_user(request, _("%(command)s is not available to your channel.")
                              % {"command": role.label}, messages.ERROR)
            return None
        command_type = registry.get(command_code)
        transitions = [t for t in transitions if t.command == command_code]
        objects = list(queryset.select_related("state").order_by("pk"))
        sample = objects[0] if objects else None
        fields = {name: f for name, f in self._input_fields(command_type, sample).items()
                  if name not in self.bulk_skipped_inputs} if sample is not None else {}
        form = self._bulk_form(request, objects, fields)
        if request.POST.get("post") == "yes" and form.is_valid():
            self._bulk_run(request, objects, role, transitions, form, fields)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(command)s %(count)s %(kind)s") % {
                "command": role.label, "count": len(objects),
                "kind": self.opts.verbose_name if len(objects) == 1 else self.opts.verbose_name_plural},
            "subtitle": None,
            "opts": self.opts,
            "role": role,
            "form": form,
            "shared_fields": [form[name] for name in fields if name not in self.bulk_per_object_inputs],
            "rows": [{"object": obj, "badge": state_badge(obj.state),
                      "fields": [form[f"{name}__{obj.pk}"] for name in fields
                                 if name in self.bulk_per_object_inputs],
                      "runnable": any(t.source_state_id == obj.state_id for t in transitions)}
                     for obj in objects],
            "action_name": f"command_{role.key}",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/oms/bulk_command.html", context)

    def _bulk_form(self, request, objects, fields) -> forms.Form:
        form_fields: dict[str, forms.Field] = {}
        sample = objects[0] if objects else None
        for name, field in fields.items():
            if name in self.bulk_per_object_inputs:
                for obj in objects:
                    form_field = unfold_styled(self.command_form_field(name, field, obj))
                    form_field.label = f"{form_field.label} ({obj})"
                    form_fields[f"{name}__{obj.pk}"] = form_field
            else:
                form_fields[name] = unfold_styled(self.command_form_field(name, field, sample))
        form_class = type("BulkCommandForm", (forms.Form,), {**form_fields, "required_css_class": "required"})
        if request.POST.get("post") == "yes":
            return form_class(data=request.POST)
        return form_class()

    def _bulk_run(self, request, objects, role: CommandRole, transitions, form, fields) -> None:
        channel = user_channel(request.user)
        done, refused = [], []
        by_source = {}
        for transition in transitions:
            by_source.setdefault(transition.source_state_id, transition)
        shared = {name: f for name, f in fields.items() if name not in self.bulk_per_object_inputs}
        per_object = [name for name in fields if name in self.bulk_per_object_inputs]
        for obj in objects:
            obj = self._fresh(obj)  # as it is now: an earlier command of the batch may have moved it
            transition = by_source.get(obj.state_id)
            if transition is None:
                refused.append(_("%(object)s refused: %(reason)s") % {
                    "object": obj, "reason": self._it_needs(obj, role.label, transitions)})
                continue
            params = self._input_parameters(form, shared)
            params.update(self._input_parameters(form, per_object, suffix=f"__{obj.pk}"))
            try:
                command_run(object_type=self.command_object_type, object_id=obj.pk,
                            transition_id=transition.pk, input_parameters=params, actor=request.user,
                            channel=channel, queryset=self.command_queryset(request))
            except DomainError as error:
                fresh = self._fresh(obj)
                if isinstance(error, CommandNotAllowed) and fresh.state_id != transition.source_state_id:
                    reason = self._it_needs(fresh, role.label, transitions)
                else:
                    reason = self.refusal_text(error, fresh, transition, role.label, channel)
                    prefix = f"{fresh}: "
                    reason = reason[len(prefix):] if reason.startswith(prefix) else reason
                refused.append(_("%(object)s refused: %(reason)s") % {"object": fresh, "reason": reason})
            else:
                self._log_command(request, obj, transition)
                done.append(obj)
        parts = []
        if done:
            parts.append(f"{len(done)} {role.done}")
        parts.extend(refused)
        level = messages.SUCCESS if not refused else (messages.WARNING if done else messages.ERROR)
        self.message_user(request, "; ".join(parts) if parts else _("Nothing selected."), level)

    def _it_needs(self, obj, label: str, transitions) -> str:
        names = _state_list([t.source_state for t in transitions])
        return _("it is %(state)s now; %(command)s needs %(sources)s") % {
            "state": state_name(obj.state), "command": label, "sources": names}

    # -- urls ----------------------------------------------------------------------------------
    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def _command_url(self, obj, transition_id: int) -> str:
        return reverse(f"admin:{self._url_name('command')}", args=[quote(obj.pk), transition_id],
                       current_app=self.admin_site.name)

    def _change_url(self, obj) -> str:
        return reverse(f"admin:{self._url_name('change')}", args=[quote(obj.pk)],
                       current_app=self.admin_site.name)

    def _log_url(self, obj) -> str:
        content_type = ContentType.objects.get_for_model(obj)
        return (reverse("admin:commands_statetransitionlog_changelist", current_app=self.admin_site.name)
                + f"?content_type__id__exact={content_type.pk}&object_id={obj.pk}")

    def _change_page_redirect(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(self._change_url(obj))


class StateListFilter(admin.RelatedOnlyFieldListFilter):
    """States by their names ("Packed", not "Packed (PackageStatus 500)"), among the states the
    listed rows are in."""

    def state_label(self, state: State) -> str:
        return state_name(state)

    def field_choices(self, field, request, model_admin):
        choices = super().field_choices(field, request, model_admin)
        states = State.objects.in_bulk([pk for pk, _text in choices])
        return [(pk, self.state_label(states[pk]) if pk in states else text) for pk, text in choices]


class QualifiedStateListFilter(StateListFilter):
    """For lists mixing package and transfer states: "Waiting (package)"."""

    def state_label(self, state: State) -> str:
        return state_choice_label(state)


def _bulk_action(role: CommandRole):
    def action(modeladmin, request, queryset):
        return modeladmin.bulk_command(request, queryset, role)

    action.__name__ = f"command_{role.key}"
    action.allowed_permissions = ("change",)
    return action


class IdListField(forms.CharField):
    """Comma- or space-separated positive integers -> a list of ints."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        parts = [p for p in text.replace(",", " ").split() if p]
        ids = [parse_id(p) for p in parts]
        if None in ids:
            raise forms.ValidationError("Enter ids separated by commas, e.g. 12, 15.")
        return ids


def _state_list(states) -> str:
    """ "Waiting, Preparing or Ready for Packaging": each state once, in the machine's order."""
    unique = {s.pk: s for s in states}
    return get_text_list([state_name(unique[pk]) for pk in sorted(unique)], _("or"))


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def unfold_styled(form_field: forms.Field) -> forms.Field:
    """The field's widget with unfold's look (the classes of unfold's own widgets), for the
    forms built here from serializers."""
    widget = form_field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple):
        widget.template_name = "unfold/widgets/radio.html"
        widget.option_template_name = "unfold/widgets/radio_option.html"
        classes = CHECKBOX_CLASSES
    elif isinstance(widget, forms.RadioSelect):
        widget.template_name = "unfold/widgets/radio.html"
        widget.option_template_name = "unfold/widgets/radio_option.html"
        classes = RADIO_CLASSES
    elif isinstance(widget, forms.CheckboxInput):
        classes = CHECKBOX_CLASSES
    elif isinstance(widget, forms.Select):
        widget.template_name = "unfold/widgets/select.html"
        classes = SELECT_CLASSES
    elif isinstance(widget, forms.Textarea):
        classes = TEXTAREA_CLASSES
    else:
        classes = INPUT_CLASSES
    widget.attrs["class"] = " ".join([*classes, widget.attrs.get("class", "")]).strip()
    return form_field
