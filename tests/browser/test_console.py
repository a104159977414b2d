"""The admin as store staff and operators use it, in a real browser (system Chromium).

Given the demo data (seed_demo: Kadıköy has two Waiting packages, WEB-240101P1 and
TY-8123456702P1, and a coat coming from the warehouse), each test logs in as a store user or an
operator and works through the pages as a person would: clicks, forms, confirmations."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from commands.dispatcher import command_run
from commands.models import StateTransitionLog, Transition
from locations.models import StockLocation
from packages.models import Package
from tests.browser.conftest import DESKTOP, PHONE, login, no_sideways_scroll, screenshot

STORE = "store-kdk"


def package_url(base: str, number: str) -> str:
    return f"{base}/admin/packages/package/{Package.objects.get(number=number).pk}/change/"


def badge(page):
    return page.locator("#object-commands [data-testid=state-badge]").first


def test_store_packs_and_ships_from_its_work_queue(demo, page):
    # given a Kadıköy store user on the admin's home page
    login(page, demo.url, STORE)
    queue = page.get_by_test_id("queue-ST-KDK")
    expect(queue.get_by_test_id("tile-to-pack").get_by_test_id("tile-value")).to_have_text("2")
    screenshot(page, "work-queue")
    # when they open "To pack" and the first package
    queue.get_by_test_id("tile-to-pack").click()
    expect(page.locator("#result_list")).to_contain_text("WEB-240101P1")
    expect(page.locator("#result_list")).to_contain_text("TY-8123456702P1")
    page.locator("#result_list a", has_text="WEB-240101P1").click()
    expect(badge(page)).to_have_attribute("data-status", "waiting")
    # and pack it (a confirmation first: no command runs on one click)
    pack = page.locator("[data-testid=primary-command][data-command=COMPLETE_PACKAGING]")
    expect(pack).to_have_text("Pack")
    pack.click()
    page.locator("[data-testid=confirm-command][data-command=COMPLETE_PACKAGING]").click()
    # then it is Packed
    expect(badge(page)).to_have_attribute("data-status", "packed")
    # when they ship it with a carrier and a tracking number
    page.locator("[data-testid=primary-command][data-command=SHIP_THE_PACKAGE_ADVANCED]").click()
    form = page.get_by_test_id("command-form")
    form.locator("select[name=cargo_company]").select_option(label="Yurtiçi Kargo")
    form.locator("input[name=tracking_number]").fill("YK1234567890")
    form.get_by_test_id("confirm-command").click()
    # then it is Shipped, and the timeline tells the story in words
    expect(badge(page)).to_have_attribute("data-status", "shipped")
    timeline = page.get_by_test_id("timeline")
    entries = timeline.get_by_test_id("timeline-entry")
    expect(timeline.locator("[data-command=COMPLETE_PACKAGING]")).to_have_count(1)
    shipped = timeline.locator("[data-command=SHIP_THE_PACKAGE_ADVANCED]")
    expect(shipped).to_contain_text("Yurtiçi Kargo")
    expect(shipped).to_contain_text("YK1234567890")
    expect(shipped).to_contain_text(STORE)
    assert entries.count() >= 2
    page.get_by_test_id("timeline").scroll_into_view_if_needed()
    screenshot(page, "package-timeline")
    # and the database agrees
    package = Package.objects.select_related("shipment__cargo_company").get(number="WEB-240101P1")
    assert (package.status, package.shipment.cargo_company.code, package.shipment.tracking_number) == (
        550, "yurtici", "YK1234567890")


def test_store_packs_two_packages_at_once(demo, page):
    # given the store's list of packages to pack
    login(page, demo.url, STORE)
    page.get_by_test_id("queue-ST-KDK").get_by_test_id("tile-to-pack").click()
    ids = [Package.objects.get(number=n).pk for n in ("WEB-240101P1", "TY-8123456702P1")]
    # when both are selected and "Pack" runs on the selection
    for pk in ids:
        page.locator(f"input.action-select[value='{pk}']").check()
    page.locator("select[name=action]").select_option("command_pack")
    page.locator("#changelist-actions button[type=submit][name=index]").click()
    form = page.get_by_test_id("bulk-command-form")
    expect(form.get_by_test_id("bulk-row")).to_have_count(2)
    screenshot(page, "bulk-pack")
    form.get_by_test_id("confirm-command").click()
    # then both are packed, and the summary says so
    expect(page.locator("body")).to_contain_text("2 packed")
    assert sorted(Package.objects.filter(pk__in=ids).values_list("status", flat=True)) == [500, 500]


def test_a_stale_command_is_refused_in_words(demo, page):
    # given a store user looking at a Waiting package
    login(page, demo.url, STORE)
    page.goto(package_url(demo.url, "WEB-240101P1"))
    expect(badge(page)).to_have_attribute("data-status", "waiting")
    # and someone else packs it meanwhile
    package = Package.objects.get(number="WEB-240101P1")
    pack = Transition.objects.get(slug="package__complete_packaging__waiting__packed")
    command_run(object_type="package", object_id=package.pk, transition_id=pack.pk, actor=None, channel=None)
    log_rows = package_log_count(package)
    # when they press Pack on the page they still have open
    page.locator("[data-testid=primary-command][data-command=COMPLETE_PACKAGING]").click()
    page.locator("[data-testid=confirm-command][data-command=COMPLETE_PACKAGING]").click()
    # then they read what happened, and the page shows the package as it is now
    expect(page.locator("body")).to_contain_text("WEB-240101P1 is Packed now; Pack needs Waiting")
    expect(badge(page)).to_have_attribute("data-status", "packed")
    assert package_log_count(package) == log_rows  # nothing ran twice


def package_log_count(package: Package) -> int:
    return StateTransitionLog.objects.filter(object_id=package.pk,
                                             content_type__model="package").count()


def test_an_operator_changes_a_quota_and_who_sees_a_command(demo, page):
    # given an operator
    login(page, demo.url, "operator")
    expect(page.get_by_test_id("operations-dashboard")).to_be_visible()
    screenshot(page, "operations-dashboard")
    # when they raise Kadıköy's quota
    kadikoy = StockLocation.objects.get(erp_code="ST-KDK")
    page.goto(f"{demo.url}/admin/locations/stocklocation/{kadikoy.pk}/change/")
    page.locator("input[name=max_quota]").fill("25")
    page.locator("[name=_save]").click()
    expect(page.locator("body")).to_contain_text("changed successfully")
    # and let stores block a Waiting package
    block = Transition.objects.get(slug="package__block_the_package__waiting__blocked")
    assert "instore" not in block.ui_visibility
    page.goto(f"{demo.url}/admin/commands/transition/?q=package__block_the_package__waiting")
    page.locator(f"input.action-select[value='{block.pk}']").check()
    page.locator("select[name=action]").select_option("set_visibility")
    page.locator("#changelist-actions button[type=submit][name=index]").click()
    form = page.get_by_test_id("visibility-form")
    form.locator("input[name=mode][value=add]").check()
    form.locator("input[name=channels][value=instore]").check()
    form.get_by_test_id("confirm-visibility").click()
    expect(page.locator("body")).to_contain_text("1 transitions changed")
    # then
    kadikoy.refresh_from_db()
    block.refresh_from_db()
    assert kadikoy.max_quota == 25
    assert block.ui_visibility == ["oms_web", "third_party", "instore"]


def test_the_flowchart_draws_the_state_machine(demo, page):
    # given an operator on the transitions list
    login(page, demo.url, "operator")
    page.goto(f"{demo.url}/admin/commands/transition/")
    chart = page.get_by_test_id("flowchart").first
    # when the chart is opened
    if chart.evaluate("el => el.tagName") == "DETAILS":
        chart.locator("summary").click()
    svg = chart.locator("svg[data-testid=flowchart]")
    # then every package state is a box the browser actually draws
    expect(svg).to_be_visible()
    boxes = svg.locator("[data-testid=flow-state]")
    expect(boxes).to_have_count(17)
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box is not None and box["width"] > 20 and box["height"] > 10
    expect(svg.locator("[data-testid=flow-state][data-state=waiting]")).to_contain_text("Waiting")
    screenshot(page, "flowchart")
    # and on a Waiting package's page the current state is highlighted, its commands marked
    store_page = page.context.browser.new_page(viewport=DESKTOP)
    login(store_page, demo.url, STORE)
    store_page.goto(package_url(demo.url, "WEB-240101P1"))
    chart = store_page.locator("#object-flowchart svg[data-testid=flowchart]")
    current = chart.locator("[data-testid=flow-state][data-current=true]")
    expect(current).to_have_attribute("data-state", "waiting")
    expect(chart.locator("[data-testid=flow-edge][data-from=waiting][data-to=packed]")).to_have_attribute(
        "data-allowed", "true")
    expect(chart.locator("[data-testid=flow-edge][data-allowed=true]")).to_have_count(3)  # pack, refuse, oos
    store_page.close()


def test_phone_width_no_sideways_scroll_and_pack_on_the_first_screen(demo, browser):
    # given a store user on a 390 px wide phone
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    login(page, demo.url, STORE)
    # when they go through the work queue, the list and a package
    pages = {"work queue": f"{demo.url}/admin/",
             "packages": f"{demo.url}/admin/packages/package/",
             "package": package_url(demo.url, "WEB-240101P1")}
    for name, url in pages.items():
        page.goto(url)
        # then no page scrolls sideways
        assert no_sideways_scroll(page) <= PHONE["width"], name
    # and Pack is on the first screen, without scrolling
    pack = page.locator("[data-testid=primary-command][data-command=COMPLETE_PACKAGING]")
    expect(pack).to_be_visible()
    box = pack.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "phone-package")
    # and pressing it works there too
    pack.click()
    page.locator("[data-testid=confirm-command][data-command=COMPLETE_PACKAGING]").click()
    expect(badge(page)).to_have_attribute("data-status", "packed")
    assert no_sideways_scroll(page) <= PHONE["width"]
    context.close()


def test_home_and_offline_api_docs(demo, page):
    # given nothing but the server (no network beyond it)
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
    # when the landing page is opened
    page.goto(f"{demo.url}/")
    # then it leads to the admin, the docs and health
    for testid in ("home-admin", "home-docs", "home-health"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    # and the API docs render from the OMS's own files
    page.get_by_test_id("home-docs").click()
    # (generating the schema takes seconds on a busy machine)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("OMS API", timeout=30_000)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
