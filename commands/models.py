from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from commands.enums import ALL_VISIBILITY, EnumClass, UiVisibility
from oms.models import TimeStampedModel


def default_visibility() -> list[str]:
    return list(ALL_VISIBILITY)


class State(TimeStampedModel):
    """An operator-configured state carrying one code-level status (``enum_value``)."""

    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=128, allow_unicode=True)
    enum_class = models.CharField(max_length=32, choices=EnumClass.choices)
    enum_value = models.CharField(max_length=32)
    translations = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["enum_class", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enum_class", "slug"], name="state_unique_slug_per_class")
        ]
        indexes = [models.Index(fields=["enum_class", "enum_value"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.enum_class} {self.enum_value})"

    @property
    def status(self) -> int | str:
        """The code-level status this state carries (int for packages, str for transfers)."""
        if self.enum_class == EnumClass.PACKAGE_STATUS:
            return int(self.enum_value)
        return self.enum_value

    def clean(self) -> None:
        from commands.registry import registry

        object_type = registry.object_type_for_enum_class(self.enum_class)
        if object_type is not None and self.enum_value not in object_type.status_values():
            raise ValidationError(
                {"enum_value": f"'{self.enum_value}' is not a {self.enum_class} value; "
                               f"choose one of {', '.join(object_type.status_values())}."}
            )


class Transition(TimeStampedModel):
    """A command definition: lets one command type move objects from one state to another."""

    label = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True, allow_unicode=True, blank=True)
    command = models.CharField(max_length=64, db_index=True)
    source_state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="transitions_out")
    destination_state = models.ForeignKey(
        State, on_delete=models.PROTECT, related_name="transitions_in", null=True, blank=True,
        help_text="Empty only for commands that restore the state before (unblock, reject "
                  "cancellation).",
    )
    ui_visibility = models.JSONField(default=default_visibility, blank=True)
    translations = models.JSONField(null=True, blank=True)
    input_defaults = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["source_state", "is_active"])]

    def __str__(self) -> str:
        return f"{self.label} [{self.slug}]"

    def clean(self) -> None:
        from commands.services import transition_validate

        transition_validate(self)

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            from commands.services import transition_default_slug

            self.slug = transition_default_slug(self)
        super().save(*args, **kwargs)


class StateTransitionLog(models.Model):
    """Append-only audit row: one per state change, written in the command's transaction."""

    # Its index is the (content_type, object_id) one below.
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, db_index=False)
    object_id = models.PositiveBigIntegerField()
    old_state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+", null=True)
    new_state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+", null=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="+")
    attributes = models.JSONField(default=dict, blank=True)
    created_date = models.DateTimeField(auto_now_add=True, db_index=True)
    modified_date = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.content_type.model} #{self.object_id}: {self.old_state_id} -> {self.new_state_id}"


class IdempotencyRecord(models.Model):
    """The stored first response for (user, Idempotency-Key)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_date = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


__all__ = ["IdempotencyRecord", "State", "StateTransitionLog", "Transition", "UiVisibility"]
