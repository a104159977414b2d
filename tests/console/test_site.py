"""The site around the API: a landing page at /, API docs that work offline, English and Turkish."""

import re

from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.utils.translation import get_language, gettext

from accounts.models import Profile
from tests.factories import StockLocationFactory, UserFactory


def test_home_links_the_admin_the_docs_and_health(client, db):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    links = dict(re.findall(r'href="([^"]+)" data-testid="(home-[a-z]+)"', html))
    assert links == {"/admin/": "home-admin", "/api/v1/oms/docs/": "home-docs",
                     "/api/v1/oms/health/": "home-health"}
    assert "http" not in re.sub(r"<!DOCTYPE html>", "", html)  # nothing loaded from elsewhere


def test_api_docs_load_swagger_ui_from_the_oms_itself(client, db):
    # when
    html = client.get("/api/v1/oms/docs/").content.decode()
    # then every script and stylesheet is a local static file that exists
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert sorted(assets) == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ]
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "cdn" not in html.lower() and "https://" not in html


def test_the_api_answers_in_english_whatever_the_browser_asks(client, db):
    # when a Turkish browser calls the API without a token
    response = client.get("/api/v1/oms/packages/", headers={"accept-language": "tr"})
    # then the body is the contract's English text
    assert response.status_code == 401
    assert response.json() == {"error": {"detail": "Authentication credentials were not provided."},
                               "status_code": 401}
    assert "Content-Language" not in response.headers


def test_the_admin_speaks_turkish_to_a_turkish_browser(client, seeded):
    # given a store user
    location = StockLocationFactory(erp_code="ST-KDK")
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    Profile.objects.create(user=user, channel="instore").stock_locations.set([location])
    client.force_login(user)
    # when
    response = client.get("/admin/", headers={"accept-language": "tr"})
    # then the work queue and Django's own strings are Turkish
    html = response.content.decode()
    assert response.headers["Content-Language"] == "tr"
    assert "Bugünün işleri" in html and "Paketlenecek" in html and "Kargolanacak" in html
    assert "Today's work" not in html


def test_the_admin_stays_english_for_an_english_browser(client, seeded):
    # given
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    # when
    response = client.get("/admin/", headers={"accept-language": "en-US,en;q=0.9"})
    # then
    assert response.headers["Content-Language"] == "en"
    assert "Operations" in response.content.decode()


def test_the_language_can_be_switched_in_the_admin(client, seeded):
    # given an English browser
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    # when Türkçe is picked (Django's set_language view, the admin header's switch)
    response = client.post("/i18n/setlang/", {"language": "tr", "next": "/admin/"})
    page = client.get("/admin/", headers={"accept-language": "en"})
    # then
    assert response.status_code == 302 and response.url == "/admin/"
    assert page.headers["Content-Language"] == "tr"
    assert "Operasyon" in page.content.decode()


def test_a_turkish_request_leaves_the_thread_in_the_default_language(client, db):
    # given a request in Turkish
    client.get("/", headers={"accept-language": "tr"})
    # when the same thread translates afterwards
    # then it is English again
    assert (get_language(), gettext("Pack")) == ("en-us", "Pack")
