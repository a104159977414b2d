from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from webhooks.delivery import deliveries_resend
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.validation import (
    event_type_problems,
    headers_problems,
    retry_config_problems,
    target_url_problems,
)


class WebhookSubscriptionForm(forms.ModelForm):
    """The API's checks, for operators editing subscriptions here."""

    target_url = forms.URLField(max_length=1000, assume_scheme="https")

    class Meta:
        model = WebhookSubscription
        fields = ["event_type", "target_url", "secret_key", "additional_headers", "retry_countdown_config",
                  "is_active"]

    def clean(self):
        data = super().clean()
        checks = {"event_type": event_type_problems, "target_url": target_url_problems,
                  "additional_headers": headers_problems, "retry_countdown_config": retry_config_problems}
        for field, check in checks.items():
            if field in data:
                for problem in check(data[field]):
                    self.add_error(field, problem)
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["event_type", "target_url", "is_active", "health", "consecutive_failures",
                    "modified_date"]
    list_filter = ["is_active", "event_type"]
    search_fields = ["event_type", "target_url"]
    readonly_fields = ["consecutive_failures", "deactivated_reason", "leased_until", "created_date",
                       "modified_date"]
    fields = ["event_type", "target_url", "secret_key", "additional_headers", "retry_countdown_config",
              "is_active", "consecutive_failures", "deactivated_reason", "leased_until"]

    @admin.display(description="Health")
    def health(self, subscription: WebhookSubscription) -> str:
        if subscription.deactivated_reason and not subscription.is_active:
            return format_html('<span style="color:#ba2121">{}</span>', subscription.deactivated_reason)
        if subscription.consecutive_failures:
            return format_html('<span style="color:#c87f0a">{} failed in a row</span>',
                               subscription.consecutive_failures)
        return "ok"

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data and obj.is_active:
            obj.consecutive_failures, obj.deactivated_reason = 0, ""  # reactivated: a new count
        super().save_model(request, obj, form, change)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "created_date", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "subscription", "status", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at", "created_date"]
    list_filter = ["status", "subscription", "event__event_type"]
    search_fields = ["uuid", "event__uuid", "event__event_type", "subscription__target_url"]
    list_select_related = ["event", "subscription"]
    date_hierarchy = "created_date"
    readonly_fields = ["uuid", "event", "subscription", "status", "attempts", "next_attempt_at",
                       "last_status_code", "last_error", "delivered_at", "created_date", "modified_date"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    @admin.display(description="Event", ordering="event__event_type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.event_type

    @admin.action(description="Re-send selected deliveries")
    def resend(self, request, queryset):
        count = deliveries_resend(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued to be sent "
                                   "again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "uuid", "created_date"]
    list_filter = ["event_type"]
    search_fields = ["uuid", "event_type"]
    date_hierarchy = "created_date"
    readonly_fields = ["uuid", "event_type", "payload", "created_date"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
