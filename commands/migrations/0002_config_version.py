"""The configuration version (commands/cache.py): one row per cached part, whose ``version`` a
database trigger changes in the transaction of every write to that part's tables — whoever writes
(admin, API, a management command, ``QuerySet.update()``, raw SQL). Every process compares its
cached copy's version with this row and reloads when they differ.

PostgreSQL: BEFORE statement triggers, so a writer takes the version row's lock before any row
lock of the table it writes (config writers queue on it, they cannot deadlock each other); stock
locations bump only when a column other than ``quota``/``modified_date`` changes (commands move
quota on every pack: that must not invalidate anything, nor take this lock). SQLite: row
triggers (its writers are serialised anyway)."""

from django.db import migrations

TABLE = "oms_config_version"
PARTS = ("commands", "accounts", "webhooks", "planning")


def _tables(apps) -> dict[str, list[str]]:
    def model(label):
        return apps.get_model(label)

    def with_m2m(label, *fields):
        m = model(label)
        return [m._meta.db_table] + [m._meta.get_field(f).remote_field.through._meta.db_table for f in fields]

    return {
        "commands": [model("commands.State")._meta.db_table, model("commands.Transition")._meta.db_table],
        "accounts": with_m2m("accounts.Profile", "stock_locations"),
        "planning": with_m2m("planning.Scenario", "channels", "cargo_companies")
        + with_m2m("planning.Rule", "stock_locations", "except_stock_locations"),
    }


def _location_static_columns(apps) -> list[str]:
    location = apps.get_model("locations.StockLocation")
    return [f.column for f in location._meta.concrete_fields
            if f.name not in ("id", "quota", "modified_date", "created_date")]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    run = schema_editor.execute
    tables = _tables(apps)
    subscription = apps.get_model("webhooks.WebhookSubscription")._meta.db_table
    location = apps.get_model("locations.StockLocation")._meta.db_table
    run(f"CREATE TABLE {TABLE} (name varchar(32) NOT NULL PRIMARY KEY, version varchar(32) NOT NULL)")
    for part in PARTS:
        run(f"INSERT INTO {TABLE} (name, version) VALUES ('{part}', 'initial')")
    if vendor == "postgresql":
        run(f"""
            CREATE FUNCTION oms_config_bump() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE {TABLE} SET version = md5(random()::text || clock_timestamp()::text)
                WHERE name = TG_ARGV[0];
                RETURN NULL;
            END $$""")

        def statement_trigger(table, part, events="INSERT OR UPDATE OR DELETE OR TRUNCATE"):
            run(f"CREATE TRIGGER oms_config_{table} BEFORE {events} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION oms_config_bump('{part}')")

        for part, names in tables.items():
            for table in names:
                statement_trigger(table, part)
        statement_trigger(subscription, "webhooks",
                          "INSERT OR DELETE OR TRUNCATE OR UPDATE OF event_type, is_active")
        statement_trigger(location, "planning", "INSERT OR DELETE OR TRUNCATE")
        ignored = "- 'quota' - 'modified_date'"
        run(f"CREATE TRIGGER oms_config_{location}_update AFTER UPDATE ON {location} FOR EACH ROW "
            f"WHEN ((to_jsonb(OLD) {ignored}) IS DISTINCT FROM (to_jsonb(NEW) {ignored})) "
            f"EXECUTE FUNCTION oms_config_bump('planning')")
    else:
        bump = "UPDATE {table} SET version = lower(hex(randomblob(16))) WHERE name = '{part}';"

        def row_triggers(table, part, events=("INSERT", "UPDATE", "DELETE"), when=""):
            for event in events:
                name = f"oms_config_{table}_{event.split()[0].lower()}"
                run(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW {when} "
                    f"BEGIN {bump.format(table=TABLE, part=part)} END")

        for part, names in tables.items():
            for table in names:
                row_triggers(table, part)
        row_triggers(subscription, "webhooks", ("INSERT", "DELETE", "UPDATE OF event_type, is_active"))
        row_triggers(location, "planning", ("INSERT", "DELETE"))
        changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in _location_static_columns(apps))
        row_triggers(location, "planning", ("UPDATE",), when=f"WHEN {changed}")


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    run = schema_editor.execute
    tables = _tables(apps)
    subscription = apps.get_model("webhooks.WebhookSubscription")._meta.db_table
    location = apps.get_model("locations.StockLocation")._meta.db_table
    every = [t for names in tables.values() for t in names] + [subscription, location]
    if vendor == "postgresql":
        for table in every:
            run(f"DROP TRIGGER IF EXISTS oms_config_{table} ON {table}")
        run(f"DROP TRIGGER IF EXISTS oms_config_{location}_update ON {location}")
        run("DROP FUNCTION IF EXISTS oms_config_bump()")
    else:
        for table in every:
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS oms_config_{table}_{event}")
    run(f"DROP TABLE {TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ("commands", "0001_initial"),
        ("accounts", "0002_initial"),
        ("locations", "0002_initial"),
        ("planning", "0001_initial"),
        ("webhooks", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
