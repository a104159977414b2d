"""Create the three roles as groups: "Store staff", "Operations" and "Integration".

A role is a group holding exactly the model permissions its people need (README "Roles").
Which rows a user sees is decided elsewhere: an ``instore`` profile narrows everything to its
stock locations (``accounts.scoping``), and a transition's ``ui_visibility`` decides which
commands a channel may run. Groups only say *which kinds* of objects a user may read or change.

Idempotent, and operators' edits win: a group that does not exist is created with its role's
permissions; a group that exists is left exactly as it is (an operator may have taken a
permission away on purpose). ``--add-missing`` adds the role's permissions an existing group
lacks (after an upgrade that brings new ones); nothing ever removes a permission."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

STORE_STAFF = "Store staff"
OPERATIONS = "Operations"
INTEGRATION = "Integration"

CRUD = ("add", "change", "delete", "view")

# What a store works on, read-only: its packages, their items and shipments, the orders they
# belong to, transfers from and to it, its stock and reservations, the packages' history.
_STORE_READS = [
    "packages.package", "packages.packageitem", "packages.shipment", "orders.order",
    "orders.orderitem", "transfers.transferorder", "transfers.transferitem", "locations.stock",
    "locations.reservation", "commands.statetransitionlog",
]
# Configuration operators own (states and transitions, locations and their quota, cargo
# companies, channels, denial reasons, planning scenarios and rules, webhook subscriptions).
_CONFIGURATION = [
    "commands.state", "commands.transition", "locations.stocklocation", "locations.cargocompany",
    "orders.channel", "packages.packagedenialreason", "planning.scenario", "planning.rule",
    "webhooks.webhooksubscription",
]
# Running a command changes its object: the dispatcher's API and admin entry points check the
# object's ``change`` permission.
_RUN_COMMANDS = ["packages.change_package", "transfers.change_transferorder"]


def _perms(models: list[str], actions: tuple[str, ...]) -> list[str]:
    return [f"{label.split('.')[0]}.{action}_{label.split('.')[1]}" for label in models
            for action in actions]


ROLES: dict[str, list[str]] = {
    STORE_STAFF: [*_perms(_STORE_READS, ("view",)), *_RUN_COMMANDS],
    OPERATIONS: [
        *_perms(_CONFIGURATION, CRUD),
        *_perms(_STORE_READS, ("view",)),
        *_RUN_COMMANDS,
        # Stock corrections; delivery monitoring and re-sending.
        "locations.change_stock",
        *_perms(["webhooks.webhookevent", "webhooks.webhookattempt"], ("view",)),
        "webhooks.view_webhookdelivery", "webhooks.change_webhookdelivery",
    ],
    INTEGRATION: [
        "orders.add_order",  # order intake (POST orders/)
        *_RUN_COMMANDS,
        "locations.add_stock", "locations.change_stock",  # stocks/bulk_upsert/
        *_perms([*_STORE_READS, "locations.stocklocation", "locations.cargocompany", "orders.channel",
                 "packages.packagedenialreason", "commands.state", "commands.transition"], ("view",)),
    ],
}


def role_permissions(role: str) -> list[Permission]:
    """The Permission rows of a role; raises ``CommandError`` naming any that do not exist."""
    wanted = ROLES[role]
    query = Q()
    for name in wanted:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    names = {f"{p.content_type.app_label}.{p.codename}" for p in found}
    missing = [name for name in wanted if name not in names]
    if missing:
        raise CommandError(f"Role '{role}': permissions {', '.join(missing)} do not exist; "
                           "run `manage.py migrate` first.")
    return found


class Command(BaseCommand):
    help = ("Create the groups 'Store staff', 'Operations' and 'Integration' with their permissions. "
            "Existing groups are left as they are unless --add-missing is given (never removes).")

    def add_arguments(self, parser):
        parser.add_argument("--add-missing", action="store_true",
                            help="Also add a role's permissions that an existing group lacks.")

    @transaction.atomic
    def handle(self, *args, add_missing: bool = False, **options):
        for role in ROLES:
            permissions = role_permissions(role)
            group, created = Group.objects.get_or_create(name=role)
            if created:
                group.permissions.set(permissions)
                self.stdout.write(f"Role '{role}': created with {len(permissions)} permissions.")
                continue
            have = set(group.permissions.values_list("pk", flat=True))
            missing = [p for p in permissions if p.pk not in have]
            if not missing:
                self.stdout.write(f"Role '{role}': already there, nothing missing.")
            elif add_missing:
                group.permissions.add(*missing)
                self.stdout.write(f"Role '{role}': added {len(missing)} missing permissions.")
            else:
                self.stdout.write(f"Role '{role}': already there, left as is ({len(missing)} of the "
                                  "role's permissions missing; --add-missing adds them).")
