"""The API's base viewsets. Every viewset of the project derives from ``OmsViewSetMixin`` (a test
walks the URLconf to check it), so location scoping (``accounts.scoping``) applies to every list,
detail, custom action and command lookup without each view remembering it."""

from __future__ import annotations

from rest_framework import mixins, viewsets

from accounts.errors import StoreUserReadOnly
from accounts.scoping import HIDDEN_FROM_STORES, model_label, scope_queryset, user_scope


class OmsViewSetMixin:
    """``filter_queryset`` narrows to the caller's locations first (``get_object`` and ``list``
    both go through it, whatever ``get_queryset`` a subclass writes). Store (instore) users:
    models hidden from stores answer 404/empty, and they change data only through the actions
    named in ``store_write_actions`` (commands, and those that check locations themselves)."""

    store_write_actions: frozenset[str] = frozenset()

    def scope(self, queryset):
        return scope_queryset(queryset, self.request.user)

    def filter_queryset(self, queryset):
        return super().filter_queryset(self.scope(queryset))

    def check_permissions(self, request):
        super().check_permissions(request)
        if not user_scope(request.user).is_restricted:
            return
        label = model_label(self.get_queryset().model._meta.concrete_model)
        if label in HIDDEN_FROM_STORES:
            self.permission_denied(request, message="Not available to store users.")
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.action not in self.store_write_actions:
            raise StoreUserReadOnly()


class OmsModelViewSet(OmsViewSetMixin, viewsets.ModelViewSet):
    pass


class OmsReadOnlyModelViewSet(OmsViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class OmsGenericViewSet(OmsViewSetMixin, viewsets.GenericViewSet):
    pass


__all__ = ["OmsGenericViewSet", "OmsModelViewSet", "OmsReadOnlyModelViewSet", "OmsViewSetMixin",
           "mixins"]
