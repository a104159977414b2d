"""Admin for command configuration (states, transitions) and the audit trail.

This app knows no domain app: object links are built from content types, not imports."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.db.models import BigIntegerField, Count, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from commands.admin_commands import QualifiedStateListFilter, ReadOnlyAdminMixin, pretty_json, unfold_styled
from commands.admin_display import (
    TitledObject,
    describe_inputs,
    flowchart_svg,
    log_action_label,
    log_command,
    log_title,
    object_number_annotation,
    object_types_matching,
    state_badge,
    state_choice_label,
    state_name,
)
from commands.enums import ALL_VISIBILITY, UiVisibility
from commands.models import IdempotencyRecord, State, StateTransitionLog, Transition
from commands.registry import registry
from commands.services import transition_default_slug
from oms.admin_base import OmsModelAdmin, OmsTabularInline


# -- states ------------------------------------------------------------------------------------------
def status_choices() -> list:
    """``enum_value`` choices grouped by enum class, read from the registered object types."""
    groups = []
    for object_type in registry.object_types.values():
        groups.append((object_type.enum_class,
                       [(str(s.value), f"{s.value} – {s.label}") for s in object_type.status_enum]))
    return groups


class StateForm(forms.ModelForm):
    class Meta:
        model = State
        fields = ["name", "slug", "enum_class", "enum_value", "translations", "config", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "enum_value" in self.fields:
            # The registry fills up when the apps are ready, after this module is imported.
            self.fields["enum_value"] = forms.ChoiceField(
                choices=[("", "---------"), *status_choices()], label="Status",
                help_text="The code-level status this state carries; it must belong to the enum "
                          "class.")


class TransitionInlineBase(OmsTabularInline):
    model = Transition
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source_state", "destination_state")

    @admin.display(description="visibility")
    def visibility(self, obj: Transition) -> str:
        return ", ".join(obj.ui_visibility or []) or "–"


    @admin.display(description=_("to"))
    def destination_name(self, obj: Transition) -> str:
        return state_name(obj.destination_state) if obj.destination_state_id else gettext("the state before")

    @admin.display(description=_("from"))
    def source_name(self, obj: Transition) -> str:
        return state_name(obj.source_state)


class TransitionsOutInline(TransitionInlineBase):
    fk_name = "source_state"
    verbose_name = _("transition leaving this state")
    verbose_name_plural = _("transitions leaving this state")
    fields = readonly_fields = ["label", "command", "destination_name", "visibility", "is_active"]


class TransitionsInInline(TransitionInlineBase):
    fk_name = "destination_state"
    verbose_name = _("transition entering this state")
    verbose_name_plural = _("transitions entering this state")
    fields = readonly_fields = ["label", "command", "source_name", "visibility", "is_active"]


class FlowchartListMixin:
    """The whole state machine as a chart above the list (``commands.flowchart``, when present)."""

    list_before_template = "admin/oms/flowchart_list.html"

    def changelist_view(self, request, extra_context=None):
        chart = flowchart_svg(enum_class=request.GET.get("enum_class__exact")
                              or request.GET.get("source_state__enum_class__exact") or "PackageStatus")
        return super().changelist_view(request, {**(extra_context or {}), "flowchart": chart})


@admin.register(State)
class StateAdmin(FlowchartListMixin, OmsModelAdmin):
    form = StateForm
    list_display = ["state_display", "slug", "enum_class", "enum_value", "transitions_out", "transitions_in",
                    "is_active"]
    list_filter = ["enum_class", "is_active"]
    search_fields = ["name", "slug", "enum_value"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_date", "modified_date"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "enum_class", "enum_value", "is_active"]}),
        ("Details", {"fields": ["translations", "config"], "classes": ["collapse"]}),
        ("Dates", {"fields": ["created_date", "modified_date"]}),
    ]
    inlines = [TransitionsOutInline, TransitionsInInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_out=Count("transitions_out", distinct=True), n_in=Count("transitions_in", distinct=True))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:  # "Waiting (package)", not the model's "Waiting (PackageStatus 100)"
            title = state_choice_label(obj)
            extra_context = {**(extra_context or {}), "subtitle": title, "original": TitledObject(obj, title)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # Packages, transfers and transitions rely on the status a state carries.
            return [*self.readonly_fields, "enum_class", "enum_value"]
        return self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

    @admin.display(description=_("state"), ordering="name")
    def state_display(self, obj: State) -> str:
        return state_badge(obj)

    @admin.display(description="out", ordering="n_out")
    def transitions_out(self, obj: State) -> int:
        return obj.n_out

    @admin.display(description="in", ordering="n_in")
    def transitions_in(self, obj: State) -> int:
        return obj.n_in


# -- transitions ------------------------------------------------------------------------------------
class TransitionForm(forms.ModelForm):
    command = forms.ChoiceField(help_text="The command type: what the command does.")
    ui_visibility = forms.MultipleChoiceField(
        choices=UiVisibility.choices, widget=forms.CheckboxSelectMultiple, required=False,
        label="Visible to", help_text="The channels whose users see and may run this command.")

    class Meta:
        model = Transition
        fields = ["label", "slug", "command", "source_state", "destination_state", "ui_visibility",
                  "is_active", "input_defaults", "translations"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read when the form is built: the registry fills up once the apps are ready.
        self.fields["command"].choices = [("", "---------"),
                                          *((code, code) for code in sorted(registry.command_types))]
        # Escaped: the admin renders help texts as HTML, and "<object>" would be read as a tag.
        self.fields["slug"].help_text = escape(
            "Leave empty for the default <object>__<command>__<source state>__<destination state>.")
        for name in ("source_state", "destination_state"):
            if name in self.fields:
                self.fields[name].label_from_instance = state_choice_label

    def clean_ui_visibility(self) -> list[str]:
        chosen = set(self.cleaned_data["ui_visibility"])
        return [v for v in ALL_VISIBILITY if v in chosen]

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("source_state")
        if not cleaned.get("slug") and source is not None and cleaned.get("command"):
            # The default slug is filled in on save; a duplicate would fail there, so say it here.
            candidate = Transition(command=cleaned["command"], source_state=source,
                                   destination_state=cleaned.get("destination_state"))
            slug = transition_default_slug(candidate)
            if Transition.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
                self.add_error("slug", f"A transition with the default slug {slug} already exists; "
                                       "give this one its own slug.")
        return cleaned


class VisibilityForm(forms.Form):
    MODES = [("set", _("Exactly these channels")), ("add", _("Add these channels")),
             ("remove", _("Remove these channels"))]
    mode = forms.ChoiceField(choices=MODES, initial="set", widget=forms.RadioSelect, label=_("Change"))
    channels = forms.MultipleChoiceField(choices=UiVisibility.choices, widget=forms.CheckboxSelectMultiple,
                                         required=False, label=_("Channels"))


@admin.register(Transition)
class TransitionAdmin(FlowchartListMixin, OmsModelAdmin):
    form = TransitionForm
    list_display = ["label", "slug", "command", "source_display", "destination_display", "visibility",
                    "is_active"]
    actions = ["set_visibility"]
    list_filter = ["command", ("source_state", QualifiedStateListFilter),
                   "source_state__enum_class", "is_active"]
    search_fields = ["label", "slug", "command"]
    list_select_related = ["source_state", "destination_state"]
    readonly_fields = ["created_date", "modified_date"]
    fieldsets = [
        (None, {"fields": ["label", "slug", "command", "source_state", "destination_state",
                           "is_active"]}),
        ("Who sees it", {"fields": ["ui_visibility"]}),
        ("Input and translations", {"fields": ["input_defaults", "translations"],
                                    "description": "input_defaults are merged under the caller's "
                                                   "input_parameters."}),
        ("Dates", {"fields": ["created_date", "modified_date"]}),
    ]

    @admin.display(description=_("visible to"))
    def visibility(self, obj: Transition) -> str:
        return ", ".join(obj.ui_visibility or []) or "–"

    @admin.display(description=_("from"), ordering="source_state__name")
    def source_display(self, obj: Transition) -> str:
        return state_badge(obj.source_state)

    @admin.display(description=_("to"), ordering="destination_state__name")
    def destination_display(self, obj: Transition) -> str:
        return state_badge(obj.destination_state) if obj.destination_state_id else gettext("the state before")

    @admin.action(description=_("Set who sees the selected transitions"), permissions=["change"])
    def set_visibility(self, request, queryset):
        """One change of ``ui_visibility`` on many transitions (e.g. hide "Move" from stores)."""
        form = VisibilityForm(request.POST if request.POST.get("post") == "yes" else None)
        transitions = list(queryset.select_related("source_state", "destination_state").order_by("id"))
        if form.is_bound and form.is_valid():
            chosen = set(form.cleaned_data["channels"])
            mode = form.cleaned_data["mode"]
            now = timezone.now()
            for transition in transitions:
                current = set(transition.ui_visibility or [])
                new = chosen if mode == "set" else (current | chosen if mode == "add" else current - chosen)
                transition.ui_visibility = [v for v in ALL_VISIBILITY if v in new]
                transition.modified_date = now
            Transition.objects.bulk_update(transitions, ["ui_visibility", "modified_date"])
            for transition in transitions:
                self.log_change(request, transition, gettext("Visible to: %(channels)s.") % {
                    "channels": ", ".join(transition.ui_visibility) or "–"})
            self.message_user(request, gettext("%(count)s transitions changed (%(mode)s: %(channels)s).") % {
                "count": len(transitions), "mode": dict(VisibilityForm.MODES)[mode],
                "channels": ", ".join(sorted(chosen)) or "–"}, messages.SUCCESS)
            return None
        for field in form.fields.values():
            unfold_styled(field)
        context = {**self.admin_site.each_context(request), "title": gettext("Who sees these transitions"),
                   "subtitle": None, "opts": self.opts, "form": form, "transitions": transitions,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "media": self.media}
        return TemplateResponse(request, "admin/oms/visibility_action.html", context)


# -- audit trail ------------------------------------------------------------------------------------
class CommandFilter(admin.SimpleListFilter):
    title = "command"
    parameter_name = "command"

    def lookups(self, request, model_admin):
        return [(code, code) for code in sorted(registry.command_types)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(attributes__command__command=self.value())
        return queryset


def object_admin_link(content_type, object_id, text: str | None = None) -> str:
    label = text or f"{content_type.model} #{object_id}"
    try:
        url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change",
                      args=[quote(object_id)])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


@admin.register(StateTransitionLog)
class StateTransitionLogAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "created_date", "title_display", "action_display", "user"]
    list_display_links = ["id", "created_date"]
    list_filter = [("content_type", admin.RelatedOnlyFieldListFilter), CommandFilter,
                   ("user", admin.RelatedOnlyFieldListFilter), "created_date"]
    search_fields = ["=object_id", "attributes__command__slug", "user__username"]
    search_help_text = _("Package or transfer number, object id (exact), command slug or username.")
    list_select_related = ["content_type", "old_state", "new_state", "user"]
    date_hierarchy = "created_date"
    fields = ["title_display", "action_display", "state_change", "user", "inputs_display",
              "created_date", "technical_details"]
    readonly_fields = fields

    def get_queryset(self, request):
        # The object's number and the transition's label come with the rows (no query per row).
        transition = Transition.objects.filter(pk=OuterRef("command_transition_id"))
        return super().get_queryset(request).annotate(
            command_transition_id=Cast(KT("attributes__command__transition_id"), BigIntegerField()),
            object_number=object_number_annotation(),
            transition_label_now=Subquery(transition.values("label")[:1]),
            transition_slug_now=Subquery(transition.values("slug")[:1]))

    def get_search_results(self, request, queryset, search_term):
        """Also finds the rows of the packages and transfers whose number contains the term."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        by_number = Q()
        for content_type_id, ids in object_types_matching(term):
            by_number |= Q(content_type_id=content_type_id, object_id__in=ids)
        return queryset.filter(Q(pk__in=results.values("pk")) | by_number), may_have_duplicates

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:  # "WEB-240101P1: Waiting → Packed", not "package #1: 8 -> 10"
            title = self.title(obj)
            extra_context = {**(extra_context or {}), "subtitle": title, "original": TitledObject(obj, title)}
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context = {**(extra_context or {}), "object": TitledObject(obj, self.title(obj))}
        return super().history_view(request, object_id, extra_context)

    @staticmethod
    def title(obj: StateTransitionLog) -> str:
        return log_title(obj, getattr(obj, "object_number", None))

    def _action(self, obj: StateTransitionLog) -> str:
        command = log_command(obj)
        if command and getattr(obj, "transition_slug_now", None) == command.get("slug"):
            # The transition as it is configured now, in the UI language when translated.
            transition = Transition(label=obj.transition_label_now, slug=obj.transition_slug_now)
            transition.translations = None
            return log_action_label(obj, {command.get("transition_id"): transition})
        return log_action_label(obj)

    @admin.display(description=_("what"))
    def title_display(self, obj: StateTransitionLog) -> str:
        return object_admin_link(obj.content_type, obj.object_id, self.title(obj))

    @admin.display(description=_("command"))
    def action_display(self, obj: StateTransitionLog) -> str:
        slug = log_command(obj).get("slug") or ""
        return format_html('<span title="{}">{}</span>', slug, self._action(obj))

    @admin.display(description=_("state change"))
    def state_change(self, obj: StateTransitionLog) -> str:
        return format_html("{} → {}", state_badge(obj.old_state) if obj.old_state_id else "–",
                           state_badge(obj.new_state) if obj.new_state_id else "–")

    @admin.display(description=_("input"))
    def inputs_display(self, obj: StateTransitionLog) -> str:
        rows = describe_inputs((obj.attributes or {}).get("input_parameters"))
        if not rows:
            return "–"
        return format_html('<dl class="oms-details">{}</dl>', format_html_join(
            "", "<div><dt>{}</dt><dd>{}</dd></div>", rows))

    @admin.display(description=_("technical details"))
    def technical_details(self, obj: StateTransitionLog) -> str:
        command = log_command(obj)
        rows = [(gettext("Command slug"), command.get("slug") or "–"),
                (gettext("Command type"), command.get("command") or "–"),
                (gettext("Idempotency key"), (obj.attributes or {}).get("idempotency_key") or "–")]
        return format_html('<dl class="oms-details">{}</dl><details><summary>{}</summary>{}</details>',
                           format_html_join("", "<div><dt>{}</dt><dd>{}</dd></div>", rows),
                           gettext("All attributes (JSON)"), pretty_json(obj.attributes))


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, OmsModelAdmin):
    list_display = ["id", "user", "key", "response_status", "created_date"]
    list_filter = ["response_status", "created_date"]
    search_fields = ["key", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_date"
    fields = ["user", "key", "request_fingerprint", "response_status", "response_body_json",
              "created_date"]
    readonly_fields = fields

    @admin.display(description="response body")
    def response_body_json(self, obj: IdempotencyRecord) -> str:
        return pretty_json(obj.response_body)

