"""The scoping rule cannot be forgotten: every model is classified once, every API view derives from
the scoped base, and an unclassified model is refused for everyone."""

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.scoping import (
    HIDDEN_FROM_STORES,
    SCOPE_RULES,
    SHARED_MODELS,
    is_classified,
    model_label,
    scope_queryset,
)
from oms.api.viewsets import OmsViewSetMixin
from tests.security.conftest import PROJECT_APPS


def _views(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_installed_model_is_classified_exactly_once():
    # third-party models too (users, tokens, the task queue's results): their admin pages and any
    # future endpoint go through scope_queryset, which refuses an unclassified model
    labels = [model_label(m) for m in apps.get_models()]
    unclassified = [label for label in labels if not is_classified(apps.get_model(label))]
    assert unclassified == []
    groups = [set(SCOPE_RULES), set(SHARED_MODELS), set(HIDDEN_FROM_STORES)]
    assert all(not (x & y) for i, x in enumerate(groups) for y in groups[i + 1:])


def test_every_model_holding_a_stock_location_is_scoped_or_hidden():
    # a model with a foreign key to StockLocation, a package, a transfer or an order is
    # location-bound: it must have a rule (or be hidden from stores)
    bound = {"locations.stocklocation", "packages.package", "transfers.transferorder", "orders.order",
             "packages.packageitem"}
    offenders = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        targets = {model_label(f.related_model) for f in model._meta.get_fields()
                   if isinstance(f, (models.ForeignKey, models.OneToOneField)) and f.concrete}
        label = model_label(model)
        if targets & bound and label not in SCOPE_RULES and label not in HIDDEN_FROM_STORES \
                and label not in {"planning.scenario", "planning.rule"}:  # configuration
            offenders.append(label)
    assert offenders == []


def test_every_api_view_is_scoped():
    api_views = [(route, view) for route, view in _views() if route.startswith("api/v1/oms/")]
    viewsets = {view.cls for _, view in api_views if hasattr(view, "cls") and hasattr(view, "actions")}
    plain = sorted(route for route, view in api_views
                   if not (hasattr(view, "cls") and hasattr(view, "actions")))

    assert len(viewsets) >= 13
    assert [cls.__name__ for cls in viewsets if not issubclass(cls, OmsViewSetMixin)] == []
    # the only views that are not viewsets serve no rows: the API root, health, schema, docs
    assert [r.replace("<drf_format_suffix:format>", "") for r in plain] == [
        "api/v1/oms/", "api/v1/oms/", "api/v1/oms/docs/", "api/v1/oms/health/", "api/v1/oms/schema/"]


def test_an_unclassified_model_is_refused_for_everyone(db, monkeypatch):
    from django.contrib.contenttypes.models import ContentType

    from accounts import scoping

    monkeypatch.setattr(scoping, "HIDDEN_FROM_STORES", HIDDEN_FROM_STORES - {"contenttypes.contenttype"})

    with pytest.raises(ImproperlyConfigured, match="ContentType is not classified for location scoping"):
        scope_queryset(ContentType.objects.all(), None)
