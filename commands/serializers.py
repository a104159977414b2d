from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from commands.enums import ALL_VISIBILITY
from commands.errors import CommandNotAllowed
from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry
from commands.services import transition_default_slug, transition_validate
from oms.api.schema import input_schema
from oms.api.serializers import BoundedModelSerializer, IdField, JsonSerializer, validate_json_storable

INPUT_SCHEMA_HELP = ("The JSON schema (OpenAPI 3.0 dialect) of the command type's input_parameters: "
                     "field names, types, bounds, which are required. Unknown keys are refused.")


class StateSerializer(BoundedModelSerializer):
    class Meta:
        model = State
        fields = ["id", "name", "slug", "enum_class", "enum_value", "translations", "config",
                  "is_active", "created_date", "modified_date"]

    def validate(self, attrs):
        if self.instance is not None:
            changed = [f for f in ("enum_class", "enum_value")
                       if f in attrs and attrs[f] != getattr(self.instance, f)]
            if changed:
                # Packages, transfers and transitions carry this state: its status is fixed.
                raise serializers.ValidationError(
                    {f: ["The status of an existing state cannot change; create a new state."]
                     for f in changed})
        instance = State(**{**self._current(), **attrs})
        try:
            instance.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {f: getattr(self.instance, f) for f in ("name", "slug", "enum_class", "enum_value")}


class StateShortSerializer(BoundedModelSerializer):
    """A state nested in a package or transfer: the spec's shape exactly."""

    class Meta:
        model = State
        fields = ["id", "name", "enum_class", "enum_value", "translations", "config", "created_date",
                  "modified_date"]


class CommandSerializer(BoundedModelSerializer):
    """A transition in the seed's command-list shape, plus the input its command type takes."""

    input_schema = serializers.SerializerMethodField(help_text=INPUT_SCHEMA_HELP)

    class Meta:
        model = Transition
        fields = ["id", "label", "ui_visibility", "slug", "created_date", "modified_date",
                  "translations", "command", "source_state", "destination_state", "input_schema"]

    def get_input_schema(self, transition: Transition) -> dict:
        return transition_input_schema(transition)


def transition_input_schema(transition: Transition) -> dict:
    command_type = registry.get(transition.command)
    return input_schema(command_type.input_serializer if command_type else None)


class TransitionSerializer(BoundedModelSerializer):
    command = serializers.ChoiceField(choices=[])
    ui_visibility = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_VISIBILITY), required=False)
    slug = serializers.SlugField(max_length=255, allow_unicode=True, required=False,
                                 validators=[UniqueValidator(queryset=Transition.objects.all())])
    input_schema = serializers.SerializerMethodField(help_text=INPUT_SCHEMA_HELP)

    class Meta:
        model = Transition
        fields = ["id", "label", "ui_visibility", "slug", "created_date", "modified_date",
                  "translations", "command", "source_state", "destination_state",
                  "input_defaults", "is_active", "input_schema"]

    def get_input_schema(self, transition: Transition) -> dict:
        return transition_input_schema(transition)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["command"].choices = sorted(registry.command_types)

    def validate_input_defaults(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object.")
        return value

    def validate(self, attrs):
        current = {}
        if self.instance is not None:
            current = {f.name: getattr(self.instance, f.name) for f in Transition._meta.fields}
        candidate = Transition(**{**current, **attrs})
        self._check_input_defaults(candidate)
        try:
            transition_validate(candidate)
        except DjangoValidationError as error:
            if _is_not_allowed(error):
                raise CommandNotAllowed() from None
            raise serializers.ValidationError(error.message_dict) from None
        if not attrs.get("slug") and not (self.instance and self.instance.slug):
            slug = transition_default_slug(candidate)
            if Transition.objects.filter(slug=slug).exists():
                raise serializers.ValidationError(
                    {"slug": [f"The default slug '{slug}' is taken: give this transition a slug."]})
        return attrs


    @staticmethod
    def _check_input_defaults(candidate: Transition) -> None:
        """Defaults are merged under the caller's input: only keys the command type takes."""
        command_type = registry.get(candidate.command)
        defaults = candidate.input_defaults or {}
        if not defaults or command_type is None or command_type.input_serializer is None:
            return
        known = set(command_type.input_serializer(context={}).fields)
        unknown = sorted(set(defaults) - known)
        if unknown:
            raise serializers.ValidationError({"input_defaults": [
                f"{candidate.command} takes no input parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known)) or 'none'}."]})


def _is_not_allowed(error: DjangoValidationError) -> bool:
    """transition_validate refuses impossible moves with the seed's message (commands_100_1)."""
    return any(m.startswith(CommandNotAllowed.default_message) for m in error.messages)


class StateTransitionLogSerializer(BoundedModelSerializer):
    content_type = serializers.CharField(source="content_type.model", read_only=True)

    class Meta:
        model = StateTransitionLog
        fields = ["id", "content_type", "object_id", "old_state", "new_state", "user", "attributes",
                  "created_date", "modified_date"]


class CommandRequestSerializer(JsonSerializer):
    transition = IdField(required=False, allow_null=True, help_text="The transition's id.")
    slug = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255,
                                 help_text="The transition's slug (instead of, or with, its id).")
    # Keys are checked too: they are echoed in errors and stored with idempotency records.
    input_parameters = serializers.DictField(
        required=False, default=dict, validators=[validate_json_storable],
        help_text="The command type's input: see the transition's input_schema. Unknown keys "
                  "answer 400 (commands_100_4).")
