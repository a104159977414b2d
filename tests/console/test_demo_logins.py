"""seed_demo: one admin login per demo store (channel instore, its location, group "Store staff"),
and the integration user in the "Integration" group."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from locations.models import StockLocation

User = get_user_model()


def test_seed_demo_creates_one_store_login_per_store(db, client, monkeypatch):
    # given
    monkeypatch.setenv("OMS_DEMO_PASSWORD", "store-pass-987")
    out = StringIO()
    # when
    call_command("seed_demo", stdout=out)
    # then
    users = {u.username: u for u in User.objects.filter(username__startswith="store-")
             .prefetch_related("groups", "oms_profile__stock_locations")}
    assert sorted(users) == ["store-ank", "store-bsk", "store-izm", "store-kdk"]
    assert {name: (u.is_staff, u.is_superuser, [g.name for g in u.groups.all()], u.oms_profile.channel,
                   [loc.erp_code for loc in u.oms_profile.stock_locations.all()])
            for name, u in users.items()} == {
        "store-kdk": (True, False, ["Store staff"], "instore", ["ST-KDK"]),
        "store-bsk": (True, False, ["Store staff"], "instore", ["ST-BSK"]),
        "store-ank": (True, False, ["Store staff"], "instore", ["ST-ANK"]),
        "store-izm": (True, False, ["Store staff"], "instore", ["ST-IZM"]),
    }
    assert ("Store login (admin, channel instore, group 'Store staff'): store-kdk / store-pass-987 — "
            "Kadıköy Mağaza's work queue; also store-bsk, store-ank, store-izm") in out.getvalue()
    # and the printed login works
    assert client.login(username="store-kdk", password="store-pass-987")
    assert client.get("/admin/").status_code == 200
    # and the integration user has its role
    assert list(User.objects.get(username="integration").groups.values_list("name", flat=True)) == [
        "Integration"]


def test_a_second_run_leaves_store_users_as_they_are(db, monkeypatch):
    # given a seeded demo whose store user changed its password and was moved to another store
    monkeypatch.setenv("OMS_DEMO_PASSWORD", "first-pass-123")
    call_command("seed_demo", stdout=StringIO())
    user = User.objects.get(username="store-kdk")
    user.set_password("my-own-pass-456")
    user.save()
    user.oms_profile.stock_locations.set([StockLocation.objects.get(erp_code="ST-BSK")])
    out = StringIO()
    # when
    call_command("seed_demo", stdout=out)
    # then nothing was created or reset
    user = User.objects.get(username="store-kdk")
    assert user.check_password("my-own-pass-456")
    assert list(user.oms_profile.stock_locations.values_list("erp_code", flat=True)) == ["ST-BSK"]
    assert User.objects.filter(username__startswith="store-").count() == 4
    assert "Nothing to create: the demo data is already there." in out.getvalue()
    assert ("Store login (admin, channel instore, group 'Store staff'): store-kdk / unchanged since it "
            "was created — Kadıköy Mağaza's work queue") in out.getvalue()
