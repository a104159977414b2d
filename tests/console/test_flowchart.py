"""The state machine chart: an inline SVG drawn on the server from the State/Transition rows."""

import io
import itertools
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.utils import translation

from commands.flowchart import render_svg
from commands.models import State, Transition

SVG = "{http://www.w3.org/2000/svg}"
PACKAGE_STATES = ["cancellation-waiting", "waiting", "waiting-remote-action", "preparing",
                  "waiting-for-transfer", "blocked", "ready-for-packaging", "packed", "ready-for-pickup",
                  "shipped", "attempted-delivery", "delivery-failed", "delivered", "needs-rescheduling",
                  "out-of-stock", "cancelled", "packed-for-refund"]


@pytest.fixture
def machine(db):
    call_command("seed_transitions", stdout=io.StringIO())


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))  # well-formed XML, or this raises


def groups(root: ET.Element, testid: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("data-testid") == testid]


def box_text(group: ET.Element) -> str:
    text = group.find(f"{SVG}text")
    return " ".join("".join(span.itertext()) for span in text.findall(f"{SVG}tspan"))


def test_every_state_is_a_box_with_its_name(machine):
    # when
    root = parse(render_svg("PackageStatus"))
    # then
    boxes = {g.get("data-state"): box_text(g) for g in groups(root, "flow-state")}
    assert sorted(boxes) == sorted(PACKAGE_STATES)
    assert boxes["waiting"] == "Waiting"
    assert boxes["out-of-stock"] == "Contains out of stock products"
    assert root.get("data-enum-class") == "PackageStatus"


def test_every_active_transition_is_drawn_exactly_once(machine):
    # given one transition deactivated
    off = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
    off.is_active = False
    off.save()
    # when
    root = parse(render_svg("PackageStatus"))
    # then arrows, loops (same state) and hooks (back to the state before) hold each active one once
    drawn = [int(i) for kind in ("flow-edge", "flow-loop", "flow-restore")
             for g in groups(root, kind) for i in g.get("data-transitions").split(",")]
    expected = Transition.objects.filter(source_state__enum_class="PackageStatus", is_active=True)
    assert sorted(drawn) == sorted(expected.values_list("id", flat=True))
    assert off.pk not in drawn
    assert len(drawn) == 81  # 82 package transitions seeded (89 with the 7 of transfers), one off


def test_transitions_between_two_states_share_one_arrow(machine):
    # when
    root = parse(render_svg("PackageStatus"))
    # then Waiting -> Packed is one arrow carrying the three pack commands
    edge = next(g for g in groups(root, "flow-edge")
                if (g.get("data-from"), g.get("data-to")) == ("waiting", "packed"))
    assert sorted(map(int, edge.get("data-transitions").split(","))) == sorted(
        Transition.objects.filter(source_state__slug="waiting", destination_state__slug="packed",
                                  source_state__enum_class="PackageStatus").values_list("id", flat=True))
    assert edge.find(f"{SVG}title").text.count("\n") == 2
    pairs = [(g.get("data-from"), g.get("data-to")) for g in groups(root, "flow-edge")]
    assert len(pairs) == len(set(pairs))


def test_restoring_and_state_keeping_transitions_are_drawn_on_their_box(machine):
    # when
    root = parse(render_svg("PackageStatus"))
    # then
    restores = {g.get("data-from") for g in groups(root, "flow-restore")}
    loops = {g.get("data-from") for g in groups(root, "flow-loop")}
    assert restores == {"blocked", "cancellation-waiting"}
    assert loops == {"waiting", "waiting-remote-action", "preparing", "ready-for-packaging", "packed",
                     "shipped", "attempted-delivery", "delivery-failed", "delivered", "ready-for-pickup"}


def test_current_state_and_allowed_transitions_are_marked(machine):
    # given a Waiting package whose user may pack and refuse
    waiting = State.objects.get(enum_class="PackageStatus", slug="waiting")
    pack = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
    refuse = Transition.objects.get(slug="package__package_refuse__waiting__needs-rescheduling")
    # when
    root = parse(render_svg("PackageStatus", current_state_id=waiting.pk,
                            allowed_transition_ids=[pack.pk, refuse.pk]))
    # then only Waiting is current; exactly those two arrows are marked and labelled plainly
    current = [g.get("data-state") for g in groups(root, "flow-state") if g.get("data-current") == "true"]
    assert current == ["waiting"]
    marked = {(g.get("data-from"), g.get("data-to")): "".join(g.find(f"{SVG}text").itertext())
              for g in groups(root, "flow-edge") if g.get("data-allowed") == "true"}
    assert marked == {("waiting", "packed"): "Pack", ("waiting", "needs-rescheduling"): "Refuse"}
    assert all(g.get("data-allowed") == "false"
               for g in [*groups(root, "flow-loop"), *groups(root, "flow-restore")])


def test_runnable_transition_ids_is_the_same_as_allowed(machine):
    # given
    unblock = Transition.objects.get(command="UNBLOCK_THE_PACKAGE")
    # when (the admin's flowchart_svg passes this name)
    root = parse(render_svg("PackageStatus", runnable_transition_ids=[unblock.pk]))
    # then the hook on Blocked is marked
    assert [(g.get("data-from"), g.get("data-allowed")) for g in groups(root, "flow-restore")
            if g.get("data-allowed") == "true"] == [("blocked", "true")]


def test_two_queries_whatever_the_size(machine, django_assert_num_queries):
    # when / then
    with django_assert_num_queries(2):
        render_svg("PackageStatus")
    with django_assert_num_queries(2):
        render_svg("TransferStatus")


def test_nothing_is_fetched_and_no_script_runs(machine):
    # when
    svg = str(render_svg("PackageStatus"))
    # then the only URL is the SVG namespace
    assert "<script" not in svg.lower() and "href" not in svg and "@import" not in svg
    assert svg.count("http") == 1 and 'xmlns="http://www.w3.org/2000/svg"' in svg


def test_boxes_do_not_overlap_and_fit_the_picture(machine):
    # when
    root = parse(render_svg("PackageStatus"))
    # then
    _, _, width, height = map(float, root.get("viewBox").split())
    rects = [tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
             for g in groups(root, "flow-state") for r in [g.find(f"{SVG}rect")]]
    assert len(rects) == 17
    for x, y, w, h in rects:
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in itertools.combinations(rects, 2):
        assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


def test_transfer_machine_and_its_unconnected_cancelled_state(machine):
    # when
    root = parse(render_svg("TransferStatus"))
    # then every transfer status is there; Cancelled (no transfer command leads there) is last
    boxes = {g.get("data-state"): float(g.find(f"{SVG}rect").get("y")) for g in groups(root, "flow-state")}
    assert sorted(boxes) == sorted(["waiting", "ready-to-shipment", "in-transit", "transferred",
                                    "not-found", "out-of-stock", "cancelled"])
    assert boxes["cancelled"] == max(boxes.values())
    assert boxes["waiting"] == min(boxes.values())


def test_names_are_escaped(machine):
    # given an operator's state name with markup
    State.objects.filter(enum_class="PackageStatus", slug="waiting").update(name="<b>Wait</b> & see")
    # when
    svg = str(render_svg("PackageStatus"))
    # then it is text, not markup
    assert "<b>" not in svg
    boxes = {g.get("data-state"): box_text(g) for g in groups(parse(svg), "flow-state")}
    assert boxes["waiting"] == "<b>Wait</b> & see"


def test_turkish_names_come_from_the_translations(machine):
    # when
    with translation.override("tr"):
        root = parse(render_svg("PackageStatus"))
    # then
    boxes = {g.get("data-state"): box_text(g) for g in groups(root, "flow-state")}
    assert boxes["waiting"] == "Bekliyor"
    assert boxes["packed"] == "Paketlendi"


def test_two_charts_on_one_page_do_not_share_ids(machine):
    # when
    first, second = parse(render_svg("PackageStatus")), parse(render_svg("TransferStatus"))
    # then their markers and titles have their own ids
    ids = lambda root: {el.get("id") for el in root.iter() if el.get("id")}  # noqa: E731
    assert ids(first) and ids(second) and not ids(first) & ids(second)


def test_an_empty_machine_is_an_empty_picture(db):
    # given no states at all (seed_transitions not run)
    # when
    root = parse(render_svg("PackageStatus", current_state_id=1, allowed_transition_ids=[1]))
    # then
    assert groups(root, "flow-state") == [] and groups(root, "flow-edge") == []
    assert float(root.get("viewBox").split()[2]) > 0
