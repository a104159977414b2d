"""The demo data set ``seed_demo`` loads: a warehouse and stores in Turkish cities, an apparel
catalogue, two sales channels and orders whose packages end in different states.

Kept apart from the command so the data reads as a table; every entry has a natural key
(``code``, ``erp_code``, ``sku``, order ``number``) that makes seeding idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CARGO_COMPANIES = [
    # (code, name)
    ("yurtici", "Yurtiçi Kargo"),
    ("aras", "Aras Kargo"),
    ("mng", "MNG Kargo"),
]


@dataclass(frozen=True)
class LocationSpec:
    erp_code: str
    name: str
    city: str
    latitude: str
    longitude: str
    stock_location_type: str = "store"
    max_quota: int | None = None
    priority: int = 0
    is_fulfillment_center: bool = False
    is_transfer_center: bool = False
    is_pickup_location: bool = False
    default_cargo_company: str = "yurtici"


LOCATIONS = [
    LocationSpec("WH-IST", "İstanbul Tuzla Depo", "İstanbul", "40.816700", "29.300000",
                 stock_location_type="warehouse", priority=100, is_fulfillment_center=True,
                 is_transfer_center=True),
    LocationSpec("ST-KDK", "Kadıköy Mağaza", "İstanbul", "40.990300", "29.029000", max_quota=20,
                 priority=50, is_pickup_location=True, default_cargo_company="aras"),
    LocationSpec("ST-BSK", "Beşiktaş Mağaza", "İstanbul", "41.043000", "29.007000", max_quota=15,
                 priority=40, is_pickup_location=True, default_cargo_company="aras"),
    LocationSpec("ST-ANK", "Ankara Kızılay Mağaza", "Ankara", "39.920800", "32.854100", max_quota=10,
                 priority=30, default_cargo_company="mng"),
    LocationSpec("ST-IZM", "İzmir Alsancak Mağaza", "İzmir", "38.437000", "27.143000", max_quota=12,
                 priority=20, default_cargo_company="mng"),
]

# One admin login per store: (username, erp_code). Channel instore, group "Store staff": each
# sees and works on its own store's packages and transfers only.
STORE_USERS = [
    ("store-kdk", "ST-KDK"),
    ("store-bsk", "ST-BSK"),
    ("store-ank", "ST-ANK"),
    ("store-izm", "ST-IZM"),
]

# sku -> (product name, unit price in TRY)
CATALOGUE: dict[str, tuple[str, Decimal]] = {
    "TSH-BSC-WHT-S": ("Basic crew-neck T-shirt, white, S", Decimal("249.90")),
    "TSH-BSC-WHT-M": ("Basic crew-neck T-shirt, white, M", Decimal("249.90")),
    "TSH-BSC-BLK-M": ("Basic crew-neck T-shirt, black, M", Decimal("249.90")),
    "TSH-BSC-BLK-L": ("Basic crew-neck T-shirt, black, L", Decimal("249.90")),
    "JNS-SLM-IND-30": ("Slim-fit jeans, indigo, W30", Decimal("899.90")),
    "JNS-SLM-IND-32": ("Slim-fit jeans, indigo, W32", Decimal("899.90")),
    "JNS-SLM-BLK-32": ("Slim-fit jeans, black, W32", Decimal("899.90")),
    "SWT-HOD-GRY-M": ("Hooded sweatshirt, grey melange, M", Decimal("749.90")),
    "SWT-HOD-GRY-L": ("Hooded sweatshirt, grey melange, L", Decimal("749.90")),
    "SHR-OXF-BLU-M": ("Oxford shirt, light blue, M", Decimal("649.90")),
    "SHR-OXF-WHT-L": ("Oxford shirt, white, L", Decimal("649.90")),
    "DRS-MID-FLR-36": ("Floral midi dress, 36", Decimal("1099.90")),
    "DRS-MID-FLR-38": ("Floral midi dress, 38", Decimal("1099.90")),
    "JKT-DNM-BLU-M": ("Denim jacket, mid blue, M", Decimal("1299.90")),
    "CRD-KNT-BEJ-M": ("Knit cardigan, beige, M", Decimal("849.90")),
    "SNK-CNV-WHT-40": ("Canvas sneakers, white, 40", Decimal("1199.90")),
    "SNK-CNV-WHT-42": ("Canvas sneakers, white, 42", Decimal("1199.90")),
    "SCF-WOL-RED-OS": ("Wool scarf, burgundy, one size", Decimal("399.90")),
    "BLT-LTH-BRN-90": ("Leather belt, brown, 90 cm", Decimal("449.90")),
    "SCK-CTN-MIX-3P": ("Cotton socks, 3-pack, mixed", Decimal("149.90")),
}

# How much of each SKU a location holds: the warehouse carries the whole catalogue, each store
# a part of it. Quantities are fixed so that every run (and every machine) seeds the same data.
STOCK: dict[str, dict[str, int]] = {
    "WH-IST": {sku: 40 + 7 * i for i, sku in enumerate(CATALOGUE)},
    "ST-KDK": {"TSH-BSC-WHT-S": 6, "TSH-BSC-WHT-M": 8, "TSH-BSC-BLK-M": 5, "JNS-SLM-IND-30": 4,
               "JNS-SLM-IND-32": 6, "SWT-HOD-GRY-M": 5, "DRS-MID-FLR-36": 3, "DRS-MID-FLR-38": 4,
               "SNK-CNV-WHT-40": 3, "SCF-WOL-RED-OS": 7, "SCK-CTN-MIX-3P": 12},
    "ST-BSK": {"TSH-BSC-WHT-M": 7, "TSH-BSC-BLK-L": 6, "JNS-SLM-BLK-32": 5, "SHR-OXF-BLU-M": 4,
               "SHR-OXF-WHT-L": 4, "JKT-DNM-BLU-M": 3, "CRD-KNT-BEJ-M": 5, "SNK-CNV-WHT-42": 4,
               "BLT-LTH-BRN-90": 6, "SCK-CTN-MIX-3P": 10},
    "ST-ANK": {"TSH-BSC-WHT-S": 5, "TSH-BSC-BLK-M": 6, "JNS-SLM-IND-32": 5, "SWT-HOD-GRY-L": 4,
               "SHR-OXF-BLU-M": 3, "DRS-MID-FLR-38": 3, "CRD-KNT-BEJ-M": 4, "SCF-WOL-RED-OS": 6,
               "SCK-CTN-MIX-3P": 8},
    "ST-IZM": {"TSH-BSC-WHT-M": 6, "TSH-BSC-BLK-L": 5, "JNS-SLM-IND-30": 4, "SWT-HOD-GRY-M": 4,
               "DRS-MID-FLR-36": 4, "JKT-DNM-BLU-M": 2, "SNK-CNV-WHT-40": 3, "BLT-LTH-BRN-90": 5,
               "SCK-CTN-MIX-3P": 9},
}

CHANNELS = [
    # (code, name, channel_type)
    ("web", "Web Store", "web"),
    ("trendyol", "Trendyol", "marketplace"),
]

DENIAL_REASONS = [
    # (title, priority)
    ("Damaged product", 30),
    ("Wrong size in store", 20),
    ("Product not found on the shelf", 10),
    ("Missing label or barcode", 0),
]


# The planning scenario orders posted to /orders/ (and re-planned packages) go through. Rules are
# tried in order; what no rule can place lands at the default location, out of stock.
SCENARIO = {
    "name": "Türkiye — stores first, then the warehouse",
    "default_stock_location": "WH-IST",
    "rules": [
        # (position, name, fields)
        (10, "A store in the customer's city with free quota",
         {"stock_location_type": "store", "same_city": True, "select_by_quota": True,
          "sort_keys": ["available_quota", "distance"]}),
        (20, "The warehouse",
         {"stock_location_type": "warehouse", "sort_keys": ["priority"]}),
        (30, "Any store with free quota, nearest first; missing items by transfer",
         {"stock_location_type": "store", "select_by_quota": True, "sort_keys": ["distance"],
          "transferable": True}),
    ],
}


@dataclass(frozen=True)
class Step:
    """One command run through the dispatcher: the transition is looked up by command type and
    source/destination state slugs, as ``seed_transitions`` creates them."""

    command: str
    source: str
    destination: str
    input_parameters: dict = field(default_factory=dict)


PACK = Step("COMPLETE_PACKAGING", "waiting", "packed")
CHANNEL_PACK = Step("CHANNEL_BASED_COMPLETE_PACKAGING", "waiting", "packed")


def ship(cargo_company: str, tracking_number: str) -> Step:
    return Step("SHIP_THE_PACKAGE_ADVANCED", "packed", "shipped",
                {"cargo_company": cargo_company, "tracking_number": tracking_number})


DELIVER = Step("UPDATE_PACKAGE_SHIPMENT_STATUS", "shipped", "delivered")


def block(reason: str) -> Step:
    return Step("BLOCK_THE_PACKAGE", "waiting", "blocked", {"reason": reason})


@dataclass(frozen=True)
class PackageSpec:
    location: str
    skus: dict[str, int]                 # sku -> quantity
    steps: tuple[Step, ...] = ()         # commands run after creation, in order
    # sku -> transfer center it comes from: the package waits for that transfer (300)
    transfer_from: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderSpec:
    number: str
    channel: str
    hours_ago: int
    customer: dict
    address: dict
    packages: tuple[PackageSpec, ...]
    payment_type: str = "credit_card"
    cargo_company: str | None = None
    tracking_number: str | None = None   # marketplace orders arrive with the channel's label


def _customer(first: str, last: str, phone: str) -> dict:
    email = f"{first}.{last}@example.com".lower()
    for turkish, plain in zip("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU", strict=True):
        email = email.replace(turkish, plain)
    return {"first_name": first, "last_name": last, "email": email, "phone": phone}


def _address(line: str, district: str, city: str, postcode: str) -> dict:
    return {"line": line, "district": district, "city": city, "country": "TR", "postcode": postcode}


ORDERS = [
    OrderSpec("WEB-240101", "web", 2, _customer("Zeynep", "Kaya", "+905321112233"),
              _address("Moda Cd. No:41 D:5", "Kadıköy", "İstanbul", "34710"),
              (PackageSpec("ST-KDK", {"TSH-BSC-WHT-M": 1, "JNS-SLM-IND-30": 1}),)),
    # Split order: the warehouse sends the hoodie, the Ankara store the jeans.
    OrderSpec("WEB-240102", "web", 3, _customer("Mehmet", "Demir", "+905332223344"),
              _address("Atatürk Blv. No:112 D:8", "Çankaya", "Ankara", "06680"),
              (PackageSpec("WH-IST", {"SWT-HOD-GRY-L": 1}),
               PackageSpec("ST-ANK", {"JNS-SLM-IND-32": 1}))),
    OrderSpec("WEB-240103", "web", 5, _customer("Elif", "Şahin", "+905353334455"),
              _address("Barbaros Blv. No:78 D:3", "Beşiktaş", "İstanbul", "34353"),
              (PackageSpec("ST-BSK", {"SHR-OXF-BLU-M": 1, "BLT-LTH-BRN-90": 1}, (PACK,)),)),
    OrderSpec("WEB-240104", "web", 6, _customer("Can", "Öztürk", "+905364445566"),
              _address("Kıbrıs Şehitleri Cd. No:24", "Konak", "İzmir", "35220"),
              (PackageSpec("WH-IST", {"JKT-DNM-BLU-M": 1, "TSH-BSC-BLK-L": 2}, (PACK,)),),
              payment_type="pay_on_delivery"),
    OrderSpec("WEB-240105", "web", 20, _customer("Ayşe", "Yıldız", "+905375556677"),
              _address("Tunalı Hilmi Cd. No:89 D:12", "Çankaya", "Ankara", "06700"),
              (PackageSpec("ST-ANK", {"CRD-KNT-BEJ-M": 1, "SCF-WOL-RED-OS": 1},
                           (PACK, ship("aras", "ARS4471200981"))),)),
    OrderSpec("WEB-240106", "web", 26, _customer("Burak", "Aydın", "+905386667788"),
              _address("Altıparmak Cd. No:15", "Osmangazi", "Bursa", "16050"),
              (PackageSpec("WH-IST", {"SNK-CNV-WHT-42": 1, "SCK-CTN-MIX-3P": 2},
                           (PACK, ship("yurtici", "YK7802314456"))),)),
    OrderSpec("WEB-240107", "web", 52, _customer("Selin", "Arslan", "+905397778899"),
              _address("Kordon Boyu No:7 D:2", "Alsancak", "İzmir", "35220"),
              (PackageSpec("ST-IZM", {"DRS-MID-FLR-36": 1},
                           (PACK, ship("mng", "MNG550193377"), DELIVER)),)),
    # Marketplace order: Trendyol prints the label, so the order brings its tracking number.
    OrderSpec("TY-8123456701", "trendyol", 8, _customer("Deniz", "Çelik", "+905401112200"),
              _address("Işıklar Cd. No:33 D:4", "Muratpaşa", "Antalya", "07100"),
              (PackageSpec("WH-IST", {"TSH-BSC-WHT-S": 2, "JNS-SLM-BLK-32": 1}, (CHANNEL_PACK,)),),
              payment_type="marketplace", cargo_company="yurtici", tracking_number="7330012345678"),
    OrderSpec("TY-8123456702", "trendyol", 1, _customer("Emre", "Koç", "+905412223300"),
              _address("Hakimiyeti Milliye Cd. No:18", "Üsküdar", "İstanbul", "34672"),
              (PackageSpec("ST-KDK", {"DRS-MID-FLR-38": 1}),),
              payment_type="marketplace", cargo_company="yurtici", tracking_number="7330012345679"),
    OrderSpec("WEB-240108", "web", 30, _customer("Hakan", "Yılmaz", "+905423334411"),
              _address("Ihlamurdere Cd. No:52 D:6", "Beşiktaş", "İstanbul", "34353"),
              (PackageSpec("ST-BSK", {"TSH-BSC-WHT-M": 1, "SNK-CNV-WHT-42": 1},
                           (block("Payment under fraud review"),)),)),
    # Ship-from-store with replenishment: Kadıköy packs it, the coat comes from the warehouse.
    OrderSpec("WEB-240109", "web", 4, _customer("Mert", "Güneş", "+905434445522"),
              _address("Söğütlüçeşme Cd. No:9", "Kadıköy", "İstanbul", "34714"),
              (PackageSpec("ST-KDK", {"TSH-BSC-WHT-S": 1, "JKT-DNM-BLU-M": 1},
                           transfer_from={"JKT-DNM-BLU-M": "WH-IST"}),)),
]
