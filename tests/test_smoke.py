from packages.models import Package


def test_make_package_reserves_and_takes_quota(seeded):
    from tests.factories import make_package

    package = make_package(skus={"A": 2, "B": 1})
    package.stock_location.refresh_from_db()
    assert package.number.endswith("P1")
    assert package.status == 100
    assert package.stock_location.quota == 1
    stocks = {s.sku: (s.quantity, s.reserved) for s in package.stock_location.stocks.all()}
    assert stocks == {"A": (10, 2), "B": (10, 1)}
    assert Package.objects.count() == 1
