"""Webhooks in the admin. The secret that signs deliveries is write-only for everyone: it is never
rendered (not even masked), only replaced; re-sending deliveries needs the change permission."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin as BaseDBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from oms.admin_base import OmsModelAdmin, OmsTabularInline
from webhooks.delivery import deliveries_resend
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.validation import (
    event_type_problems,
    headers_problems,
    retry_config_problems,
    target_url_problems,
)


class WebhookSubscriptionForm(forms.ModelForm):
    """The API's checks, for operators editing subscriptions here. The secret is not a field of
    the form: ``new_secret_key`` replaces it when filled, ``remove_secret_key`` clears it; the
    stored value never reaches the page."""

    target_url = forms.URLField(max_length=1000, assume_scheme="https")
    new_secret_key = forms.CharField(
        max_length=255, required=False, strip=False, label=_("New secret"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Signs deliveries (X-OMS-Signature). Leave empty to keep the current secret."))
    remove_secret_key = forms.BooleanField(required=False, label=_("Remove the secret"),
                                           help_text=_("Deliveries are then sent unsigned."))

    class Meta:
        model = WebhookSubscription
        fields = ["event_type", "target_url", "additional_headers", "retry_countdown_config", "is_active"]

    def save(self, commit=True):
        if self.cleaned_data.get("new_secret_key"):
            self.instance.secret_key = self.cleaned_data["new_secret_key"]
        elif self.cleaned_data.get("remove_secret_key"):
            self.instance.secret_key = None
        return super().save(commit)

    def clean(self):
        data = super().clean()
        checks = {"event_type": event_type_problems, "target_url": target_url_problems,
                  "additional_headers": headers_problems, "retry_countdown_config": retry_config_problems}
        for field, check in checks.items():
            if field in data:
                for problem in check(data[field]):
                    self.add_error(field, problem)
        if data.get("new_secret_key") and data.get("remove_secret_key"):
            self.add_error("remove_secret_key", _("Either set a new secret or remove it, not both."))
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(OmsModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["event_type", "target_url", "is_active", "health", "signed", "consecutive_failures",
                    "modified_date"]
    list_filter = ["is_active", "event_type"]
    search_fields = ["event_type", "target_url"]
    readonly_fields = ["secret_status", "consecutive_failures", "deactivated_reason", "leased_until",
                       "created_date", "modified_date"]
    fields = ["event_type", "target_url", "secret_status", "new_secret_key", "remove_secret_key",
              "additional_headers", "retry_countdown_config", "is_active", "consecutive_failures",
              "deactivated_reason", "leased_until"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None or not self.has_change_permission(request, obj):
            # The secret inputs exist only where a secret can be set; a new subscription has none.
            fields = [f for f in fields if f not in ({"remove_secret_key", "secret_status"} if obj is None
                                                     else {"new_secret_key", "remove_secret_key"})]
        return fields

    @admin.display(description=_("secret"))
    def secret_status(self, subscription: WebhookSubscription) -> str:
        return _("Set (not shown)") if subscription.secret_key else _("Not set: deliveries are unsigned")

    @admin.display(description=_("signed"), boolean=True)
    def signed(self, subscription: WebhookSubscription) -> bool:
        return bool(subscription.secret_key)

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


class WebhookAttemptInline(OmsTabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "created_date", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OmsModelAdmin):
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

    @admin.action(description=_("Re-send selected deliveries"), permissions=["change"])
    def resend(self, request, queryset):
        # Listed and accepted only for users with the change permission (Django checks
        # ``allowed_permissions`` when it lists and when it runs an action).
        count = deliveries_resend(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliver{'y' if count == 1 else 'ies'} queued to be sent "
                                   "again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(OmsModelAdmin):
    list_display = ["id", "event_type", "uuid", "created_date"]
    list_filter = ["event_type"]
    search_fields = ["uuid", "event_type"]
    date_hierarchy = "created_date"
    readonly_fields = ["uuid", "event_type", "payload", "created_date"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# django-tasks-db's own admin (the webhook worker's queue), on the OMS base.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class DBTaskResultAdmin(BaseDBTaskResultAdmin, OmsModelAdmin):
    pass
