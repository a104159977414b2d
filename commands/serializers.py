from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from commands.enums import ALL_VISIBILITY
from commands.errors import CommandNotAllowed
from commands.models import State, StateTransitionLog, Transition
from commands.registry import registry
from commands.services import transition_default_slug, transition_validate


class StateSerializer(serializers.ModelSerializer):
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


class StateShortSerializer(serializers.ModelSerializer):
    """A state nested in a package or transfer: the spec's shape exactly."""

    class Meta:
        model = State
        fields = ["id", "name", "enum_class", "enum_value", "translations", "config", "created_date",
                  "modified_date"]


class CommandSerializer(serializers.ModelSerializer):
    """A transition in the seed's command-list shape, exactly."""

    class Meta:
        model = Transition
        fields = ["id", "label", "ui_visibility", "slug", "created_date", "modified_date",
                  "translations", "command", "source_state", "destination_state"]


class TransitionSerializer(serializers.ModelSerializer):
    command = serializers.ChoiceField(choices=[])
    ui_visibility = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_VISIBILITY), required=False)
    slug = serializers.SlugField(max_length=255, allow_unicode=True, required=False,
                                 validators=[UniqueValidator(queryset=Transition.objects.all())])

    class Meta:
        model = Transition
        fields = ["id", "label", "ui_visibility", "slug", "created_date", "modified_date",
                  "translations", "command", "source_state", "destination_state",
                  "input_defaults", "is_active"]

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


def _is_not_allowed(error: DjangoValidationError) -> bool:
    """transition_validate refuses impossible moves with the seed's message (commands_100_1)."""
    return any(m.startswith(CommandNotAllowed.default_message) for m in error.messages)


class StateTransitionLogSerializer(serializers.ModelSerializer):
    content_type = serializers.CharField(source="content_type.model", read_only=True)

    class Meta:
        model = StateTransitionLog
        fields = ["id", "content_type", "object_id", "old_state", "new_state", "user", "attributes",
                  "created_date", "modified_date"]


class CommandRequestSerializer(serializers.Serializer):
    transition = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    slug = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)
    input_parameters = serializers.DictField(required=False, default=dict)
