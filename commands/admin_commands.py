"""Shared admin code: command buttons on the change pages of stateful objects (packages,
transfers) and saving admin forms without overwriting system-maintained columns.

Commands run through ``commands.dispatcher.command_run`` exactly as the API runs them: same
channel (``user_channel``), same checks, same log row, same error messages. Domain admins add
form fields for their own serializer field types by overriding ``command_form_field``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from rest_framework import serializers

from accounts.models import user_channel
from commands.dispatcher import command_run
from commands.errors import CommandInputInvalid, CommandNotFound
from commands.models import StateTransitionLog, Transition
from commands.registry import CommandType, registry
from commands.selectors import commands_for_states
from oms.errors import DomainError

HISTORY_ROWS = 10


class ReadOnlyAdminMixin:
    """Rows written by the system only: listed and shown, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def pretty_json(value) -> str:
    return format_html("<pre style=\"margin:0\">{}</pre>",
                       json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str))


class UpdateFieldsSaveMixin:
    """Saves an edited object with ``update_fields`` = the form fields that changed.

    A plain ``save()`` writes every column, so a change form would write back the counters the
    system maintains (``StockLocation.quota``, ``Stock.reserved``, ``Order.status``) as they were
    read, undoing concurrent moves. New objects are saved whole."""

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        concrete = {f.name for f in obj._meta.concrete_fields}
        fields = [name for name in form.changed_data if name in concrete]
        if fields:
            if "modified_date" in concrete:
                fields.append("modified_date")
            obj.save(update_fields=fields)


@dataclass(frozen=True)
class CommandButton:
    transition: Transition
    url: str
    needs_input: bool

    @property
    def label(self) -> str:
        return self.transition.label


class CommandAdminMixin(UpdateFieldsSaveMixin):
    """For the ModelAdmin of an object with a ``state``: lists the commands allowed now as buttons
    on its change page and runs them through the dispatcher (POST only, CSRF protected, needs the
    model's change permission).

    The object itself is read-only here: its status and state move only through commands."""

    command_object_type: str  # "package" | "transfer" (the registry's object type name)

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
        return self.model._default_manager.all()

    # -- change page ---------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False,
                         "show_save_and_continue": False, "show_save_and_add_another": False}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_change_permission(request, obj):
            extra_context["command_buttons"] = self.command_buttons(request, obj)
            extra_context["command_buttons_shown"] = True
        return super().change_view(request, object_id, form_url, extra_context)

    def command_buttons(self, request: HttpRequest, obj) -> list[CommandButton]:
        transitions = commands_for_states([obj.state_id], user_channel(request.user))[obj.state_id]
        return [CommandButton(transition=t, url=self._command_url(obj, t.pk),
                              needs_input=bool(self._input_fields(registry.get(t.command), obj)))
                for t in transitions]

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
            messages.error(request, CommandNotFound.default_message)
            return self._change_page_redirect(obj)

        fields = self._input_fields(command_type, obj)
        form = self._command_form(request, obj, transition, fields)
        if request.method == "POST" and form.is_valid():
            try:
                outcome = command_run(
                    object_type=self.command_object_type, object_id=obj.pk, transition_id=transition.pk,
                    input_parameters=self._input_parameters(form, fields), actor=request.user,
                    channel=user_channel(request.user), queryset=self.command_queryset(request))
            except DomainError as error:
                messages.error(request, str(error))
                if not (fields and isinstance(error, CommandInputInvalid)):
                    return self._change_page_redirect(obj)
                # Invalid input: show the form again with what was typed.
            else:
                self._log_command(request, obj, transition)
                obj.refresh_from_db()
                messages.success(request, self.command_success_message(obj, transition,
                                                                       outcome.result.body))
                return self._change_page_redirect(obj)

        context = {
            **self.admin_site.each_context(request),
            "title": f"{transition.label}: {obj}",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "transition": transition,
            "command_type": command_type,
            "form": form,
            "has_input": bool(fields),
            "change_url": self._change_url(obj),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/command_form.html", context)

    def _input_fields(self, command_type: CommandType | None, obj) -> dict[str, serializers.Field]:
        if command_type is None or command_type.input_serializer is None:
            return {}
        return dict(command_type.input_serializer(context={"obj": obj}).fields)

    def _command_form(self, request, obj, transition: Transition, fields: dict) -> forms.Form:
        form_fields = {name: self.command_form_field(name, field, obj) for name, field in fields.items()}
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

    def _input_parameters(self, form: forms.Form, fields: dict) -> dict:
        """The form's values as the API would receive them (JSON types); empty optional values are
        left out so that the command type's own defaults apply."""
        params: dict[str, Any] = {}
        for name in fields:
            value = form.cleaned_data.get(name)
            if value in (None, "", [], ()) and not form.fields[name].required:
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

    def command_success_message(self, obj, transition: Transition, body: dict | None) -> str:
        """What happened, for ``obj`` as it is after the command (override to add details)."""
        return f'"{transition.label}" done: {obj} is now {obj.state.name}.'

    def _log_command(self, request, obj, transition: Transition) -> None:
        # The object's admin history shows what operators ran from here; the audit trail proper
        # is the StateTransitionLog row the dispatcher wrote in the command's transaction.
        self.log_change(request, obj, f"Ran command {transition.label} [{transition.slug}].")

    # -- urls ----------------------------------------------------------------------------------
    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def _command_url(self, obj, transition_id: int) -> str:
        return reverse(f"admin:{self._url_name('command')}", args=[quote(obj.pk), transition_id],
                       current_app=self.admin_site.name)

    def _change_url(self, obj) -> str:
        return reverse(f"admin:{self._url_name('change')}", args=[quote(obj.pk)],
                       current_app=self.admin_site.name)

    def _change_page_redirect(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(self._change_url(obj))


def state_history(obj) -> str:
    """The object's last state changes, newest first, with a link to the full log."""
    content_type = ContentType.objects.get_for_model(obj)
    logs = (StateTransitionLog.objects.filter(content_type=content_type, object_id=obj.pk)
            .select_related("old_state", "new_state", "user").order_by("-id")[:HISTORY_ROWS])
    rows = [(log.created_date.strftime("%Y-%m-%d %H:%M:%S"), log.old_state.name if log.old_state else "–",
             log.new_state.name if log.new_state else "–",
             (log.attributes or {}).get("command", {}).get("slug") or "system",
             log.user.get_username() if log.user else "system") for log in logs]
    url = (reverse("admin:commands_statetransitionlog_changelist")
           + f"?content_type__id__exact={content_type.pk}&object_id={obj.pk}")
    if not rows:
        return format_html('No state changes yet. <a href="{}">Log</a>', url)
    return format_html(
        '<table><tr><th>when</th><th>from</th><th>to</th><th>command</th><th>by</th></tr>{}</table>'
        '<a href="{}">Full log</a>',
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows), url)


class IdListField(forms.CharField):
    """Comma- or space-separated positive integers -> a list of ints."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        parts = [p for p in text.replace(",", " ").split() if p]
        if not all(p.isdigit() and int(p) > 0 for p in parts):
            raise forms.ValidationError("Enter ids separated by commas, e.g. 12, 15.")
        return [int(p) for p in parts]


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()
