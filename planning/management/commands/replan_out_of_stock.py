"""Re-plan packages waiting in 'Contains out of stock products' (920): run REPACK on each
through the command dispatcher. Meant for cron (the original system runs it every 30 minutes).

Safe to run twice at once: each package is locked by its command, and a package already moved
by the other run is skipped (its state no longer matches)."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from commands.dispatcher import command_run
from commands.errors import CommandNotAllowed
from commands.models import Transition
from oms.errors import DomainError
from packages.enums import PackageStatus
from packages.errors import NoStockToReplan
from packages.models import Package
from planning.services import active_scenarios, scenario_matching


class Command(BaseCommand):
    help = "Re-plan packages in status 920 (out of stock) with the REPACK command."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many packages.")
        parser.add_argument("--progress-every", type=int, default=50)

    def handle(self, *args, limit=None, progress_every=50, **options):
        repack = {t.source_state_id: t for t in Transition.objects.filter(
            command="REPACK", is_active=True, source_state__enum_value=str(PackageStatus.OUT_OF_STOCK))}
        if not repack:
            raise CommandError("No active REPACK transition leaves an out-of-stock state. Run "
                               "`manage.py seed_transitions` or activate one in the admin.")
        scenarios = active_scenarios()
        waiting = (Package.objects.filter(status=PackageStatus.OUT_OF_STOCK, packageitem_set__isnull=False)
                   .distinct().select_related("order").order_by("id"))
        ids, elsewhere = [], 0
        for package in waiting:
            scenario = scenario_matching(scenarios, package.order)
            # Spec §7: the packages waiting at their scenario's default location for stock.
            if scenario is not None and package.stock_location_id == scenario.default_stock_location_id:
                ids.append((package.pk, package.state_id))
            else:
                elsewhere += 1
        if limit is not None:
            ids = ids[:limit]
        self.stdout.write(f"{len(ids)} package(s) in 'Contains out of stock products' at their "
                          f"scenario's default location ({elsewhere} elsewhere, left alone).")
        outcome: Counter[str] = Counter()
        for done, (package_id, state_id) in enumerate(ids, start=1):
            transition = repack.get(state_id)
            if transition is None:
                outcome["no REPACK transition from its state"] += 1
            else:
                outcome[self._repack(package_id, transition)] += 1
            if done % progress_every == 0 or done == len(ids):
                self.stdout.write(f"  {done}/{len(ids)} processed")
        summary = ", ".join(f"{n} {what}" for what, n in sorted(outcome.items())) or "nothing to do"
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))

    def _repack(self, package_id: int, transition: Transition) -> str:
        try:
            command_run(object_type="package", object_id=package_id, transition_id=transition.pk,
                        actor=None, channel=None)
        except NoStockToReplan:
            return "still without stock"
        except CommandNotAllowed:
            return "skipped (moved meanwhile)"
        except DomainError as error:
            self.stderr.write(f"  package {package_id}: {error}")
            return "refused"
        return "re-planned"
