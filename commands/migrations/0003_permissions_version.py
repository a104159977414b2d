"""A ``permissions`` part of the configuration version (0002): what an API user may do — their own
permissions, their groups, the groups' permissions, whether they are active or superusers — is
cached per process (accounts/permissions.py) and a write to any of it changes this version in the
writer's transaction, as 0002 does for the other parts."""

from django.db import migrations

TABLE = "oms_config_version"
PART = "permissions"


def _tables(apps) -> list[str]:
    user = apps.get_model("auth", "User")
    group = apps.get_model("auth", "Group")
    permission = apps.get_model("auth", "Permission")
    def through(model, name):
        return model._meta.get_field(name).remote_field.through._meta.db_table

    return [permission._meta.db_table, through(user, "user_permissions"), through(user, "groups"),
            through(group, "permissions")]


def forward(apps, schema_editor):
    run = schema_editor.execute
    user = apps.get_model("auth", "User")._meta.db_table
    run(f"INSERT INTO {TABLE} (name, version) VALUES ('{PART}', 'initial')")
    if schema_editor.connection.vendor == "postgresql":
        for table in _tables(apps):
            run(f"CREATE TRIGGER oms_config_{table} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION oms_config_bump('{PART}')")
        # A login (last_login) or a profile edit does not change what the user may do.
        run(f"CREATE TRIGGER oms_config_{user} BEFORE DELETE OR TRUNCATE OR UPDATE OF is_active, "
            f"is_superuser ON {user} FOR EACH STATEMENT EXECUTE FUNCTION oms_config_bump('{PART}')")
    else:
        bump = f"UPDATE {TABLE} SET version = lower(hex(randomblob(16))) WHERE name = '{PART}';"
        for table in _tables(apps):
            for event in ("INSERT", "UPDATE", "DELETE"):
                run(f"CREATE TRIGGER oms_config_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"FOR EACH ROW BEGIN {bump} END")
        run(f"CREATE TRIGGER oms_config_{user}_delete AFTER DELETE ON {user} FOR EACH ROW BEGIN {bump} END")
        run(f"CREATE TRIGGER oms_config_{user}_update AFTER UPDATE OF is_active, is_superuser ON {user} "
            f"FOR EACH ROW WHEN OLD.is_active IS NOT NEW.is_active "
            f"OR OLD.is_superuser IS NOT NEW.is_superuser BEGIN {bump} END")


def backward(apps, schema_editor):
    run = schema_editor.execute
    user = apps.get_model("auth", "User")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        for table in [*_tables(apps), user]:
            run(f"DROP TRIGGER IF EXISTS oms_config_{table} ON {table}")
    else:
        for table in _tables(apps):
            for event in ("insert", "update", "delete"):
                run(f"DROP TRIGGER IF EXISTS oms_config_{table}_{event}")
        run(f"DROP TRIGGER IF EXISTS oms_config_{user}_delete")
        run(f"DROP TRIGGER IF EXISTS oms_config_{user}_update")
    run(f"DELETE FROM {TABLE} WHERE name = '{PART}'")


class Migration(migrations.Migration):

    dependencies = [
        ("commands", "0002_config_version"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forward, backward)]
