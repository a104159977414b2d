"""Operators manage API users here: their channel (which commands they see) and, for instore
users, their stock locations. DRF tokens keep their own admin (rest_framework.authtoken)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from accounts.models import Profile, user_channel
from oms.admin_base import OmsModelAdmin, OmsStackedInline

User = get_user_model()

# Django's and DRF's own admins, on the OMS base (unfold's look, scoping: store users never reach
# users, groups or tokens). Their class comes first: unfold's defaults (add_fieldsets = ()) must
# not shadow theirs.
for model in (Group, TokenProxy):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, OmsModelAdmin):
    pass


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin, OmsModelAdmin):
    pass


class ProfileInline(OmsStackedInline):
    model = Profile
    can_delete = False
    max_num = 1
    verbose_name = "OMS profile"
    verbose_name_plural = "OMS profile"
    fields = ["channel", "stock_locations"]
    filter_horizontal = ["stock_locations"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            # A user without a profile acts with this channel; saving the form keeps it.
            formset.form.base_fields["channel"].initial = user_channel(obj)
        return formset


@admin.register(Profile)
class ProfileAdmin(OmsModelAdmin):
    list_display = ["user", "channel", "locations"]
    list_filter = ["channel", ("stock_locations", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "stock_locations__erp_code"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["stock_locations"]
    fields = ["user", "channel", "stock_locations"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stock_locations")

    @admin.display(description="stock locations")
    def locations(self, obj: Profile) -> str:
        return ", ".join(location.erp_code for location in obj.stock_locations.all()) or "–"


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, OmsModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [ProfileInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active",
                    "channel"]
    list_filter = [*DjangoUserAdmin.list_filter, "oms_profile__channel"]
    list_select_related = ["oms_profile"]
    readonly_fields = ["api_token"]
    fieldsets = [*DjangoUserAdmin.fieldsets, ("API access", {"fields": ["api_token"]})]

    def get_inline_instances(self, request, obj=None):
        # The add page only asks for a username and password; the profile comes on the next page.
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="channel", ordering="oms_profile__channel")
    def channel(self, obj) -> str:
        return user_channel(obj)

    @admin.display(description="API token")
    def api_token(self, obj) -> str:
        if obj.pk is None:
            return "–"
        token = Token.objects.filter(user=obj).first()
        if token is None:
            return format_html('No token. <a href="{}">Create one</a>',
                               reverse("admin:authtoken_tokenproxy_add"))
        url = reverse("admin:authtoken_tokenproxy_change", args=[obj.pk])
        return format_html('Created {}. <a href="{}">Manage</a>', token.created.strftime("%Y-%m-%d %H:%M"),
                           url)
