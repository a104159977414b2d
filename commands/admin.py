"""Admin for command configuration (states, transitions) and the audit trail.

This app knows no domain app: object links are built from content types, not imports."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from commands.admin_commands import ReadOnlyAdminMixin, pretty_json
from commands.enums import ALL_VISIBILITY, UiVisibility
from commands.models import IdempotencyRecord, State, StateTransitionLog, Transition
from commands.registry import registry
from commands.services import transition_default_slug


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


class TransitionInlineBase(admin.TabularInline):
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


class TransitionsOutInline(TransitionInlineBase):
    fk_name = "source_state"
    verbose_name = "transition leaving this state"
    verbose_name_plural = "transitions leaving this state"
    fields = readonly_fields = ["label", "command", "destination_state", "visibility", "is_active"]


class TransitionsInInline(TransitionInlineBase):
    fk_name = "destination_state"
    verbose_name = "transition entering this state"
    verbose_name_plural = "transitions entering this state"
    fields = readonly_fields = ["label", "command", "source_state", "visibility", "is_active"]


@admin.register(State)
class StateAdmin(admin.ModelAdmin):
    form = StateForm
    list_display = ["name", "slug", "enum_class", "enum_value", "transitions_out", "transitions_in",
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

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # Packages, transfers and transitions rely on the status a state carries.
            return [*self.readonly_fields, "enum_class", "enum_value"]
        return self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

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
        self.fields["slug"].help_text = ("Leave empty for the default "
                                         "<object>__<command>__<source state>__<destination state>.")

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


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    form = TransitionForm
    list_display = ["label", "slug", "command", "source_state", "destination_state", "visibility",
                    "is_active"]
    list_filter = ["command", ("source_state", admin.RelatedOnlyFieldListFilter),
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

    @admin.display(description="visible to")
    def visibility(self, obj: Transition) -> str:
        return ", ".join(obj.ui_visibility or []) or "–"


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


def object_admin_link(content_type, object_id) -> str:
    label = f"{content_type.model} #{object_id}"
    try:
        url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change",
                      args=[quote(object_id)])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


@admin.register(StateTransitionLog)
class StateTransitionLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_date", "object_link", "old_state", "new_state", "command_slug",
                    "user"]
    list_filter = [("content_type", admin.RelatedOnlyFieldListFilter), CommandFilter,
                   ("user", admin.RelatedOnlyFieldListFilter), "created_date"]
    search_fields = ["=object_id", "attributes__command__slug", "user__username"]
    search_help_text = "Object id (exact), command slug or username."
    list_select_related = ["content_type", "old_state", "new_state", "user"]
    date_hierarchy = "created_date"
    fields = ["content_type", "object_link", "old_state", "new_state", "user", "command_slug",
              "command_type", "input_parameters", "idempotency_key", "attributes_json",
              "created_date"]
    readonly_fields = fields

    @admin.display(description="object")
    def object_link(self, obj: StateTransitionLog) -> str:
        return object_admin_link(obj.content_type, obj.object_id)

    @admin.display(description="command slug")
    def command_slug(self, obj: StateTransitionLog) -> str:
        return (obj.attributes or {}).get("command", {}).get("slug") or "–"

    @admin.display(description="command type")
    def command_type(self, obj: StateTransitionLog) -> str:
        return (obj.attributes or {}).get("command", {}).get("command") or "–"

    @admin.display(description="input parameters")
    def input_parameters(self, obj: StateTransitionLog) -> str:
        return pretty_json((obj.attributes or {}).get("input_parameters") or {})

    @admin.display(description="idempotency key")
    def idempotency_key(self, obj: StateTransitionLog) -> str:
        return (obj.attributes or {}).get("idempotency_key") or "–"

    @admin.display(description="attributes")
    def attributes_json(self, obj: StateTransitionLog) -> str:
        return pretty_json(obj.attributes)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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

