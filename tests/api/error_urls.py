"""The project's URLconf plus plain Django views (outside DRF) that fail, for the error-page tests."""

from django.urls import path

from oms.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def crash(request):
    raise RuntimeError("a plain view blew up")


urlpatterns = [
    path("api/v1/oms/crash/", crash),
    path("not-api/crash/", crash),
    *urlpatterns,
]
