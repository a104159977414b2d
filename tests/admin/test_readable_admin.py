"""The admin reads as people speak (issue 11 item 8): no HTML parsed out of help texts, states by
their names, orders' customer and address as fields, log rows titled by package number and move,
the log searchable by package number; and operators change who sees many transitions at once."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import StateTransitionLog, Transition
from orders.models import Order
from tests.factories import OrderFactory, StockLocationFactory, UserFactory, make_package


@pytest.fixture
def packed(seeded, staff_user):
    package = make_package(location=StockLocationFactory(erp_code="KDK01"), skus={"SKU-RED": 1},
                           order=OrderFactory(number="WEB-240101"))
    command_run(object_type="package", object_id=package.pk, actor=staff_user, channel="oms_web",
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk)
    return package


# -- transitions and states ---------------------------------------------------------------------------
def test_the_slug_help_text_is_text_not_html(seeded, staff_client):
    response = staff_client.get(reverse("admin:commands_transition_add"))

    content = response.content.decode()
    assert ("Leave empty for the default &lt;object&gt;__&lt;command&gt;__&lt;source state&gt;__"
            "&lt;destination state&gt;.") in content
    assert "<object>" not in content and "<command>" not in content


def test_state_selects_name_the_state_and_whose_it_is(seeded, staff_client):
    response = staff_client.get(reverse("admin:commands_transition_add"))

    form = response.context["adminform"].form
    labels = [label for _value, label in form.fields["source_state"].choices]
    assert "Waiting (package)" in labels and "Waiting (transfer)" in labels
    assert not [label for label in labels if "Status" in label]


def test_package_list_shows_states_by_name_and_filters_by_name(packed, staff_client):
    response = staff_client.get(reverse("admin:packages_package_changelist"))

    content = response.content.decode()
    assert 'data-status="packed">Packed</span>' in content
    assert "PackageStatus" not in content


def test_the_state_page_names_the_state(seeded, staff_client):
    waiting = seeded.state(100)

    response = staff_client.get(reverse("admin:commands_state_change", args=[waiting.pk]))

    assert response.context["subtitle"] == str(response.context["original"]) == "Waiting (package)"
    assert "PackageStatus 100" not in response.content.decode()


def test_set_who_sees_many_transitions_at_once(seeded, staff_client):
    moves = list(Transition.objects.filter(command="PKG_STATE_TRANSITION").order_by("id"))
    others = {t.pk: t.ui_visibility for t in Transition.objects.exclude(command="PKG_STATE_TRANSITION")}
    selected = [str(t.pk) for t in moves]
    url = reverse("admin:commands_transition_changelist")

    action = {"action": "set_visibility", "post": "yes"}

    page = staff_client.post(url, {"action": "set_visibility", "index": "0", "_selected_action": selected})
    remove = staff_client.post(url, {**action, "_selected_action": selected, "mode": "remove",
                                     "channels": ["instore", "third_party"]})
    after_remove = [t.ui_visibility for t in Transition.objects.filter(pk__in=selected).order_by("id")]
    add = staff_client.post(url, {**action, "_selected_action": selected[:1], "mode": "add",
                                  "channels": ["instore"]})

    assert page.status_code == 200 and page.template_name == "admin/oms/visibility_action.html"
    assert remove.status_code == add.status_code == 302
    assert after_remove == [["oms_web"]] * len(moves)
    assert Transition.objects.get(pk=moves[0].pk).ui_visibility == ["oms_web", "instore"]
    untouched = Transition.objects.exclude(command="PKG_STATE_TRANSITION")
    assert {t.pk: t.ui_visibility for t in untouched} == others


def test_a_viewer_cannot_set_visibility(seeded):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_transition"))
    client = Client()
    client.force_login(viewer)
    move = Transition.objects.filter(command="PKG_STATE_TRANSITION").first()
    before = move.ui_visibility

    client.post(reverse("admin:commands_transition_changelist"), {
        "action": "set_visibility", "post": "yes", "_selected_action": [str(move.pk)], "mode": "set",
        "channels": []})

    move.refresh_from_db()
    assert move.ui_visibility == before


# -- orders ----------------------------------------------------------------------------------------------
def test_order_customer_and_address_are_fields_not_json(packed, staff_client):
    order = packed.order

    response = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    form = response.context["adminform"].form
    assert "customer" not in form.fields and "shipping_address" not in form.fields
    assert {name: form[name].value() for name in ["customer__first_name", "customer__email",
                                                  "shipping_address__city", "shipping_address__postcode"]} \
        == {"customer__first_name": "Ayşe", "customer__email": "ayse@example.com",
            "shipping_address__city": "Istanbul", "shipping_address__postcode": "34000"}


def test_editing_one_address_detail_keeps_the_others_and_unknown_keys(packed, staff_client):
    order = packed.order
    Order.objects.filter(pk=order.pk).update(shipping_address={**order.shipping_address, "latitude": 40.99})
    data = {"payment_type": "credit_card", "cargo_company": "", "tracking_number": "", "notes": "",
            "customer__first_name": "Ayşe", "customer__last_name": "Yılmaz",
            "customer__email": "ayse@example.com", "customer__phone": "+905550000000",
            "shipping_address__line": "Moda Cd. 5", "shipping_address__city": "Istanbul",
            "shipping_address__postcode": "34000", "shipping_address__country": "TR",
            "orderitem_set-TOTAL_FORMS": "1",
            "orderitem_set-INITIAL_FORMS": "1"}

    response = staff_client.post(reverse("admin:orders_order_change", args=[order.pk]), data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.shipping_address == {"line": "Moda Cd. 5", "city": "Istanbul", "country": "TR",
                                      "postcode": "34000", "latitude": 40.99}
    assert order.customer == {"first_name": "Ayşe", "last_name": "Yılmaz", "email": "ayse@example.com",
                              "phone": "+905550000000"}


def test_a_viewer_reads_the_customer_and_address_as_text(packed):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(viewer)

    response = client.get(reverse("admin:orders_order_change", args=[packed.order.pk]))

    content = response.content.decode()
    assert "<div><dt>First name</dt><dd>Ayşe</dd></div>" in content
    assert "<div><dt>Postcode</dt><dd>34000</dd></div>" in content
    assert "&quot;first_name&quot;" not in content and '"first_name"' not in content


def test_order_items_show_the_packages_they_are_in(packed, staff_client):
    response = staff_client.get(reverse("admin:orders_order_change", args=[packed.order.pk]))

    assert "WEB-240101P1 (Packed, 1)" in response.content.decode()


# -- the audit log ---------------------------------------------------------------------------------------
def test_a_log_row_is_titled_by_package_number_and_move(packed, staff_client):
    log = StateTransitionLog.objects.get()

    response = staff_client.get(reverse("admin:commands_statetransitionlog_change", args=[log.pk]))

    assert response.context["subtitle"] == "WEB-240101P1: Waiting → Packed"
    assert str(response.context["original"]) == "WEB-240101P1: Waiting → Packed"  # the page's header
    content = response.content.decode()
    assert "WEB-240101P1: Waiting → Packed" in content
    assert "package #" not in content.lower() and "->" not in content.replace("-->", "")


@pytest.mark.parametrize("term", ["WEB-240101P1", "web-240101", "240101P"])
def test_the_log_is_found_by_package_number(packed, staff_client, term):
    make_package(order=OrderFactory(number="WEB-999999"))  # another package, not found

    response = staff_client.get(reverse("admin:commands_statetransitionlog_changelist"), {"q": term})

    assert [log.object_id for log in response.context["cl"].result_list] == [packed.pk]


def test_a_store_user_finds_no_log_of_another_store_by_number(packed, seeded):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_statetransitionlog"))
    Profile.objects.create(user=user, channel="instore").stock_locations.set([StockLocationFactory()])
    client = Client()
    client.force_login(user)

    response = client.get(reverse("admin:commands_statetransitionlog_changelist"), {"q": "WEB-240101P1"})

    assert list(response.context["cl"].result_list) == []


def test_state_names_and_badges_follow_the_ui_language(seeded):
    from django.utils import translation

    from commands.admin_display import state_badge, state_name

    packed = seeded.state(500)
    packed.name = "Packed at the store"  # an operator's own name wins in the default language
    with translation.override("tr"):
        turkish, badge = state_name(packed), state_badge(packed)
    with translation.override("en"):
        english = state_name(packed)

    assert (turkish, english) == ("Paketlendi", "Packed at the store")
    assert '>Paketlendi</span>' in badge
