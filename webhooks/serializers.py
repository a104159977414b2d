from rest_framework import serializers

from webhooks.models import WebhookSubscription
from webhooks.validation import (
    STRATEGIES,
    event_type_problems,
    headers_problems,
    target_url_problems,
)


class RetryConfigSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=STRATEGIES)
    countdown = serializers.IntegerField(min_value=0, max_value=24 * 3600)
    max_retries = serializers.IntegerField(min_value=0, max_value=50)


class RetryConfigField(serializers.JSONField):
    """The whole retry config, always validated as a whole (also on PATCH)."""

    def to_internal_value(self, data):
        config = RetryConfigSerializer(data=data)
        if not config.is_valid():
            raise serializers.ValidationError(config.errors)
        return dict(config.validated_data)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    secret_key = serializers.CharField(write_only=True, required=False, allow_null=True,
                                       allow_blank=True, max_length=255)
    has_secret_key = serializers.SerializerMethodField()
    retry_countdown_config = RetryConfigField(required=False)
    additional_headers = serializers.DictField(child=serializers.CharField(max_length=1000),
                                               required=False, allow_null=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "event_type", "target_url", "secret_key", "has_secret_key", "additional_headers",
                  "retry_countdown_config", "is_active", "consecutive_failures", "deactivated_reason",
                  "created_date", "modified_date"]
        read_only_fields = ["consecutive_failures", "deactivated_reason"]

    def get_has_secret_key(self, subscription) -> bool:
        return bool(subscription.secret_key)

    def validate_event_type(self, value: str) -> str:
        return _checked(value, event_type_problems(value))

    def validate_target_url(self, value: str) -> str:
        return _checked(value, target_url_problems(value))

    def validate_additional_headers(self, value):
        return _checked(value, headers_problems(value))

    def update(self, instance, validated_data):
        if validated_data.get("is_active") and not instance.is_active:
            validated_data["consecutive_failures"] = 0  # reactivating starts a new count
            instance.deactivated_reason = ""
        return super().update(instance, validated_data)


def _checked(value, problems: list[str]):
    if problems:
        raise serializers.ValidationError(problems)
    return value
