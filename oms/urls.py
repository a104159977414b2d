from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from commands.views import StateTransitionLogViewSet, StateViewSet, TransitionViewSet
from locations.views import CargoCompanyViewSet, StockLocationViewSet, StockViewSet
from oms.api.views import health
from oms.views import metrics
from orders.views import ChannelViewSet
from packages.views import PackageDenialReasonViewSet, PackageItemViewSet, PackageViewSet
from planning.views import OrderIntakeViewSet, ScenarioViewSet
from transfers.views import TransferOrderViewSet
from webhooks.views import WebhookSubscriptionViewSet

router = DefaultRouter()
# Registered before packages/ so that these paths are not read as package ids.
router.register("packages/package-items", PackageItemViewSet, basename="package-item")
router.register("packages/package_denial_reason", PackageDenialReasonViewSet,
                basename="package-denial-reason")
router.register("packages", PackageViewSet, basename="package")
router.register("transfer_orders", TransferOrderViewSet, basename="transfer-order")
router.register("orders", OrderIntakeViewSet, basename="order")
router.register("scenarios", ScenarioViewSet, basename="scenario")
router.register("stock_locations", StockLocationViewSet, basename="stock-location")
router.register("stocks", StockViewSet, basename="stock")
router.register("cargo-company", CargoCompanyViewSet, basename="cargo-company")
router.register("channels", ChannelViewSet, basename="channel")
router.register("states", StateViewSet, basename="state")
router.register("state_transitions", TransitionViewSet, basename="state-transition")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("state-transition-logs", StateTransitionLogViewSet, basename="state-transition-log")

api = [
    path("health/", health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    *router.urls,
]

urlpatterns = [
    path("metrics", metrics, name="metrics"),
    # A small landing page: the admin, the API docs, health (no external resources).
    path("", TemplateView.as_view(template_name="oms/home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # the admin's language switch (set_language)
    path("api/v1/oms/", include(api)),
    path("api-auth/", include("rest_framework.urls")),
]

# Errors raised outside DRF's views (URL resolution, middleware) answer JSON under /api/.
handler400 = "oms.api.exceptions.bad_request"
handler403 = "oms.api.exceptions.permission_denied"
handler404 = "oms.api.exceptions.page_not_found"
handler500 = "oms.api.exceptions.server_error"

admin.site.site_header = "OMS administration"
admin.site.site_title = "OMS"
admin.site.index_title = "Orders, packages, transfers and configuration"
