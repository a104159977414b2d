"""The answer of the re-planning command types (spec §3.2, §5): the seed's shape names the package
that now holds the items and whether it is at the location the command ran at."""


from packages.models import Package, PackageItem
from planning.models import Rule, Scenario
from tests.factories import StockLocationFactory, make_package


def command(api, package, transition, input_parameters=None):
    body = {"transition": transition.pk, "slug": transition.slug,
            "input_parameters": input_parameters or {}}
    return api.post(f"/api/v1/oms/packages/{package.pk}/command/", body, format="json")


def test_out_of_stock_with_nothing_placeable_answers_with_the_package_at_the_default_location(
        seeded, api):
    # given: the only stock of X is at the packing location, which is not the scenario's default
    default, store = StockLocationFactory(), StockLocationFactory()
    scenario = Scenario.objects.create(name="Everywhere", default_stock_location=default)
    Rule.objects.create(scenario=scenario, position=0, name="Any location")
    package = make_package(location=store, skus={"X": 1})
    item = PackageItem.objects.get(package=package)

    # when
    response = command(api, package, seeded.transition("DETECTED_OUT_OF_STOCK_ITEM", 100, 920),
                       {"package_items": [item.pk]})

    # then: the package waits in 920 at the default location, and the answer says so
    package = Package.objects.get(pk=package.pk)
    assert (package.status, package.stock_location_id) == (920, default.pk)
    assert response.status_code == 200
    assert response.json() == {"package_id": package.pk, "package_number": package.number,
                               "package_stock_location_id": default.pk,
                               "package_stock_location_name": default.name,
                               "is_same_location": False}
