"""The package page store staff work on (issue 11 items 4, 6, 7): the state as a coloured badge, the
primary commands of the state as plain buttons with the rest under "More", a confirmation before a
command without input runs, a timeline that reads like a story, refusals in words (the API keeps
the seed's wire texts), and the primary actions first on a phone."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from commands.dispatcher import command_run
from commands.models import StateTransitionLog
from locations.models import StockLocation
from packages.models import Package, Shipment
from tests.factories import (
    CargoCompanyFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    make_package,
)


def change_url(package):
    return reverse("admin:packages_package_change", args=[package.pk])


def command_url(package, transition):
    return reverse("admin:packages_package_command", args=[package.pk, transition.pk])


def messages_of(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def run(seeded, package, command, source, destination=None, actor=None, **inputs):
    command_run(object_type="package", object_id=package.pk, actor=actor, channel="oms_web",
                transition_id=seeded.transition(command, source, destination).pk, input_parameters=inputs)
    return Package.objects.get(pk=package.pk)


@pytest.fixture
def store():
    return StockLocationFactory(name="Kadıköy", erp_code="KDK01", max_quota=5)


@pytest.fixture
def cargo():
    return CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")


@pytest.fixture
def waiting(seeded, store):
    return make_package(location=store, skus={"SKU-RED": 2}, order=OrderFactory(number="WEB-240101"))


def snapshot(package):
    package = Package.objects.get(pk=package.pk)
    return (package.status, package.state_id, package.modified_date, StateTransitionLog.objects.count(),
            StockLocation.objects.get(pk=package.stock_location_id).quota, Shipment.objects.count())


# -- state badge and buttons --------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "status", "variant", "primary"), [
    ([], "waiting", "info", ["Pack"]),
    ([("COMPLETE_PACKAGING", 100, 500)], "packed", "primary", ["Ship", "Ready for pickup"]),
    ([("COMPLETE_PACKAGING", 100, 500), ("READY_FOR_PICKUP", 500, 520)], "ready-for-pickup", "primary",
     ["Handed to customer"]),
    ([("COMPLETE_PACKAGING", 100, 500), ("SHIP_THE_PACKAGE", 500, 550)], "shipped", "primary",
     ["Delivered"]),
    ([("BLOCK_THE_PACKAGE", 100, 350)], "blocked", "danger", ["Unblock"]),
    ([("CANCEL_PACKAGE", 100, 950)], "cancelled", "default", []),
])
def test_the_state_is_a_coloured_badge_and_its_primary_commands_are_plain_buttons(
        seeded, waiting, staff_client, path, status, variant, primary):
    for command, source, destination in path:
        run(seeded, waiting, command, source, destination)

    response = staff_client.get(change_url(waiting))

    content = response.content.decode()
    state = Package.objects.get(pk=waiting.pk).state
    assert (f'data-testid="state-badge" data-variant="{variant}" data-status="{status}">{state.name}</span>'
            in content)
    assert [b.label for b in response.context["primary_commands"]] == primary
    assert content.count('data-testid="primary-command"') == len(primary)
    more = response.context["more_commands"]
    assert ('data-testid="more-commands"' in content) == bool(more)
    # Nothing is both primary and under "More", and nothing is lost.
    assert len(response.context["command_buttons"]) == len(primary) + len(more)


def test_several_moves_under_more_say_where_they_go(seeded, waiting, staff_client):
    response = staff_client.get(change_url(waiting))

    labels = [b.label for b in response.context["more_commands"]
              if b.transition.command == "PKG_STATE_TRANSITION"]
    assert sorted(labels) == sorted(f"Move → {name}" for name in
                                    ["Waiting", "Waiting Remote Action", "Preparing", "Ready for Packaging"])


def test_a_command_without_input_asks_for_confirmation_before_it_runs(seeded, waiting, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    response = staff_client.get(change_url(waiting))

    content = response.content.decode()
    # The button opens a confirmation (a <details> element: no JavaScript needed); only the
    # confirmation's button posts.
    button = content.index('data-testid="primary-command" data-command="COMPLETE_PACKAGING"')
    assert content.rfind("<summary", 0, button) > content.rfind("<details", 0, button) > -1
    confirmation = content[button:content.index("</details>", button)]
    form = f'<form method="post" action="{command_url(waiting, pack)}" class="oms-confirm-box">'
    assert form in confirmation
    assert f"<p>Pack {waiting.number}? It will be Packed.</p>" in confirmation
    assert 'data-testid="confirm-command"' in confirmation
    assert Package.objects.get(pk=waiting.pk).status == 100


def test_the_primary_actions_come_first_on_the_page(seeded, waiting, staff_client):
    content = staff_client.get(change_url(waiting)).content.decode()

    badge = content.index('data-testid="state-badge"')
    primary = content.index('data-testid="primary-command"')
    more = content.index('data-testid="more-commands"')
    details = content.index('id="package_form"')
    timeline = content.index('data-testid="timeline"')
    # A phone shows the page top to bottom: state, then what to do, then the details.
    assert badge < primary < more < details < timeline


# -- timeline -------------------------------------------------------------------------------------------
def test_the_timeline_tells_what_happened_in_words(seeded, waiting, staff_user, staff_client, cargo):
    run(seeded, waiting, "BLOCK_THE_PACKAGE", 100, 350, actor=staff_user, reason="Customer called")
    run(seeded, waiting, "UNBLOCK_THE_PACKAGE", 350, actor=staff_user)
    run(seeded, waiting, "COMPLETE_PACKAGING", 100, 500, actor=staff_user)
    run(seeded, waiting, "SHIP_THE_PACKAGE_ADVANCED", 500, 550, actor=staff_user, tracking_number="YK123",
        cargo_company=str(cargo.pk))

    response = staff_client.get(change_url(waiting))

    entries = [(e.kind, e.title, e.old_state_name, e.new_state.name if e.new_state else "", e.actor,
                e.details) for e in response.context["timeline_entries"]]
    user = staff_user.username
    assert entries == [
        ("transition", "Block", "Waiting", "Blocked", user, [("Reason", "Customer called")]),
        ("transition", "Unblock", "Blocked", "Waiting", user, []),
        ("shipment", "Shipment created", "", "", "", [("Cargo company", "Yurtiçi Kargo")]),
        ("transition", "Pack", "Waiting", "Packed", user, []),
        ("shipment", "Handed to the carrier", "", "", "",
         [("Cargo company", "Yurtiçi Kargo"), ("Tracking number", "YK123")]),
        ("transition", "Advanced ship", "Packed", "Shipped", user,
         [("Cargo company", "Yurtiçi Kargo"), ("Tracking number", "YK123")]),
    ]
    content = response.content.decode()
    assert content.count('data-testid="timeline-entry"') == 6
    assert "<dt>Cargo company</dt><dd>Yurtiçi Kargo</dd>" in content
    assert f'"cargo_company": {cargo.pk}' not in content  # no JSON


def test_the_timeline_names_a_refusal_reason_by_its_title(seeded, waiting, staff_user, staff_client):
    reason = DenialReasonFactory(title="Damaged box")
    run(seeded, waiting, "PACKAGE_REFUSE", 100, 900, actor=staff_user, denial_reason=reason.pk)

    response = staff_client.get(change_url(waiting))

    [entry] = [e for e in response.context["timeline_entries"] if e.kind == "transition"]
    assert (entry.title, entry.details) == ("Refuse", [("Denial reason", "Damaged box")])


def test_the_timeline_of_a_package_shows_the_transfer_asked_for_it(seeded, staff_client):
    from transfers.services import transfer_create

    store = StockLocationFactory(erp_code="KDK02")
    package = make_package(location=store, skus={"SKU-RED": 1})
    transfer = transfer_create(package=package, source=StockLocationFactory(name="Central", erp_code="WH1"),
                               items=list(package.packageitem_set.all()))

    response = staff_client.get(change_url(package))

    assert [(e.kind, e.title) for e in response.context["timeline_entries"]] == [
        ("transfer", f"Transfer {transfer.number} asked from Central")]


# -- refusals in words --------------------------------------------------------------------------------
def test_a_stale_command_is_refused_in_words_and_changes_nothing(seeded, waiting, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)
    page = staff_client.get(change_url(waiting))  # the button was on the page…
    assert pack.pk in [b.transition.pk for b in page.context["primary_commands"]]
    run(seeded, waiting, "COMPLETE_PACKAGING", 100, 500)  # …then a colleague packed it
    before = snapshot(waiting)

    response = staff_client.post(command_url(waiting, pack))

    assert response.status_code == 302
    assert messages_of(response) == [("error", "WEB-240101P1 is Packed now; Pack needs Waiting.")]
    assert snapshot(waiting) == before


def test_a_refused_form_command_keeps_what_was_typed(seeded, waiting, staff_client, cargo):
    packed = run(seeded, waiting, "COMPLETE_PACKAGING", 100, 500)
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)
    run(seeded, packed, "READY_FOR_PICKUP", 500, 520)  # moved on while the form was open
    before = snapshot(packed)

    response = staff_client.post(command_url(packed, ship),
                                 {"tracking_number": "YK-TYPED-1", "cargo_company": str(cargo.pk)})

    assert response.status_code == 200
    assert messages_of(response) == [("error", "WEB-240101P1 is Ready for Pickup now; Ship needs Packed.")]
    form = response.context["form"]
    assert (form["tracking_number"].value(), form["cargo_company"].value()) == ("YK-TYPED-1", str(cargo.pk))
    assert 'value="YK-TYPED-1"' in response.content.decode()
    assert snapshot(packed) == before


def test_a_form_of_a_command_that_cannot_run_now_says_so_before_submitting(seeded, waiting, staff_client):
    ship = seeded.transition("SHIP_THE_PACKAGE_ADVANCED", 500, 550)

    response = staff_client.get(command_url(waiting, ship))

    assert response.context["stale"] == "WEB-240101P1 is Waiting now; Ship needs Packed."
    assert 'data-testid="stale-command"' in response.content.decode()


def test_the_api_keeps_the_seeds_wire_text_for_the_same_refusal(seeded, waiting, api):
    run(seeded, waiting, "COMPLETE_PACKAGING", 100, 500)

    response = api.post(f"/api/v1/oms/packages/{waiting.pk}/command/",
                        {"slug": "package__complete_packaging__waiting__packed"}, format="json")

    assert response.status_code == 406
    assert response.json() == {"error": {
        "non_field_errors": "Command definition is not allowed! Check source & destination states of "
                            "command to be created", "error_code": "commands_100_1"}, "status_code": 406}


def test_the_admin_history_names_commands_by_their_labels(seeded, waiting, staff_client):
    pack = seeded.transition("COMPLETE_PACKAGING", 100, 500)

    staff_client.post(command_url(waiting, pack))

    [entry] = LogEntry.objects.filter(object_id=str(waiting.pk))
    assert entry.get_change_message() == "Ran Pack (Waiting → Packed)."
    history = staff_client.get(reverse("admin:packages_package_history", args=[waiting.pk]))
    assert "Ran Pack (Waiting → Packed)." in history.content.decode()
    assert "package__complete_packaging" not in history.content.decode()


def test_the_page_does_not_query_per_button(seeded, waiting, staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from commands.models import Transition

    with CaptureQueriesContext(connection) as before:
        first = staff_client.get(change_url(waiting))
    for n in range(4):  # four more buttons under "More"
        Transition.objects.create(label=f"Extra move {n}", slug=f"extra-move-{n}",
                                  command="PKG_STATE_TRANSITION", source_state=seeded.state(100),
                                  destination_state=seeded.state(200))
    with CaptureQueriesContext(connection) as after:
        second = staff_client.get(change_url(waiting))

    assert len(second.context["command_buttons"]) == len(first.context["command_buttons"]) + 4
    assert len(after.captured_queries) == len(before.captured_queries)
