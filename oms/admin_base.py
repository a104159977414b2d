"""The one admin base: every ModelAdmin and inline of the project derives from these classes, so
location scoping (``accounts.scoping``) applies to every admin path without each admin repeating it.

What a restricted (instore) user gets, for every registered model:

- lists, change/history/delete pages, search, autocomplete and actions read their rows through
  ``get_queryset``, narrowed by ``scope_queryset``: another store's object is "not found";
- select boxes of foreign keys and many-to-many fields offer only the related rows the user may
  see, and on location-bound models only the user's own stock locations;
- related-field list filters list only related rows the user may see;
- models in ``HIDDEN_FROM_STORES`` (webhooks, users, tokens, idempotency records…) are not there
  at all: no permission of any kind, so they are not in the index either.

``tests/admin/test_admin_scoping.py`` checks that every registered admin and inline derives from
these classes and that a store user of one store sees nothing of another store on any admin page.
"""

from __future__ import annotations

from django.contrib.admin.filters import FieldListFilter, RelatedFieldListFilter
from django.db.models import Model, QuerySet
from django.templatetags.static import static
from unfold.admin import ModelAdmin, StackedInline, TabularInline

from accounts.scoping import HIDDEN_FROM_STORES, SCOPE_RULES, model_label, scope_queryset, user_scope


def _label(model: type[Model]) -> str:
    return model_label(model._meta.concrete_model)


def is_hidden_from(user, model: type[Model]) -> bool:
    """Whether ``model`` is out of reach of ``user`` whatever their permissions say."""
    return _label(model) in HIDDEN_FROM_STORES and user_scope(user).is_restricted


def scoped_choices(queryset: QuerySet, user, *, for_model: type[Model] | None = None) -> QuerySet:
    """The related rows ``user`` may pick: what they may see and, on a location-bound model
    (``for_model``), only their own stock locations (locations themselves are shared data)."""
    scope = user_scope(user)
    if not scope.is_restricted:
        return queryset
    queryset = scope_queryset(queryset, user)
    if (for_model is not None and _label(for_model) in SCOPE_RULES
            and _label(queryset.model) == "locations.stocklocation"):
        queryset = queryset.filter(pk__in=scope.locations())
    return queryset


class ScopedAdminMixin:
    """Location scoping and hidden models for a ModelAdmin or an inline (see the module doc)."""

    model: type[Model]

    # -- permissions ---------------------------------------------------------------------------
    def has_module_permission(self, request) -> bool:
        return not is_hidden_from(request.user, self.model) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return not is_hidden_from(request.user, self.model) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args, **kwargs) -> bool:
        # ModelAdmin passes (request), inlines (request, obj).
        return (not is_hidden_from(request.user, self.model)
                and super().has_add_permission(request, *args, **kwargs))

    def has_change_permission(self, request, obj=None) -> bool:
        return not is_hidden_from(request.user, self.model) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not is_hidden_from(request.user, self.model) and super().has_delete_permission(request, obj)

    # -- rows ----------------------------------------------------------------------------------
    def get_queryset(self, request) -> QuerySet:
        # Lists, change/history/delete pages (get_object), search, autocomplete (the target
        # model's admin), bulk actions and inlines all read their rows here.
        return scope_queryset(super().get_queryset(request), request.user)

    def get_field_queryset(self, db, db_field, request):
        """Choices of foreign keys and many-to-many fields (Django's hook for both)."""
        queryset = super().get_field_queryset(db, db_field, request)
        if not user_scope(request.user).is_restricted:
            return queryset
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(db).all()
        return scoped_choices(queryset, request.user, for_model=self.model)


class OmsModelAdmin(ScopedAdminMixin, ModelAdmin):
    """Base of every ModelAdmin of the project (unfold's ModelAdmin, scoped)."""


class OmsTabularInline(ScopedAdminMixin, TabularInline):
    """Base of every tabular inline of the project."""


class OmsStackedInline(ScopedAdminMixin, StackedInline):
    """Base of every stacked inline of the project."""


class ScopedRelatedFieldListFilter(RelatedFieldListFilter):
    """A related-field filter listing only the related rows the user may see (a store user's
    filter on "package" does not list other stores' packages)."""

    def field_choices(self, field, request, model_admin):
        if not user_scope(request.user).is_restricted:
            return super().field_choices(field, request, model_admin)
        related = field.related_model
        allowed = scoped_choices(related._default_manager.all(), request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering,
                                 limit_choices_to={"pk__in": allowed.values("pk")})


# Every list filter named by a plain related field uses the scoped filter (RelatedOnlyFieldListFilter
# is scoped already: it lists the related rows of the admin's own, scoped, queryset).
FieldListFilter.register(lambda f: f.remote_field, ScopedRelatedFieldListFilter, take_priority=True)


def admin_stylesheet(request) -> str:
    """The OMS admin's stylesheet (``UNFOLD["STYLES"]``)."""
    return static("oms/admin.css")


__all__ = ["OmsModelAdmin", "OmsStackedInline", "OmsTabularInline", "ScopedRelatedFieldListFilter",
           "admin_stylesheet", "is_hidden_from", "scoped_choices"]
