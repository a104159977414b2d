from rest_framework import serializers

from webhooks.events import pattern_is_valid
from webhooks.models import WebhookSubscription

STRATEGIES = ["fixed", "linear", "exponential", "random"]


class RetryConfigSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=STRATEGIES)
    countdown = serializers.IntegerField(min_value=0, max_value=24 * 3600)
    max_retries = serializers.IntegerField(min_value=0, max_value=50)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    secret_key = serializers.CharField(write_only=True, required=False, allow_null=True,
                                       allow_blank=True, max_length=255)
    has_secret_key = serializers.SerializerMethodField()
    retry_countdown_config = RetryConfigSerializer(required=False)
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
        if not pattern_is_valid(value):
            raise serializers.ValidationError(f"'{value}' matches no event of the catalogue.")
        return value

    def validate_target_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http or https URL.")
        return value

    def validate_additional_headers(self, value):
        reserved = {"content-type", "x-oms-event", "x-oms-delivery", "x-oms-timestamp", "x-oms-signature"}
        clash = sorted(k for k in (value or {}) if k.lower() in reserved)
        if clash:
            raise serializers.ValidationError(f"These headers are set by the OMS: {', '.join(clash)}.")
        return value

    def update(self, instance, validated_data):
        if validated_data.get("is_active") and not instance.is_active:
            validated_data["consecutive_failures"] = 0  # reactivating starts a new count
            instance.deactivated_reason = ""
        return super().update(instance, validated_data)
