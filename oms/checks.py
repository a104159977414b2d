"""Deployment checks (`manage.py check --deploy`) beyond Django's own."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        return []
    return [Warning(f"collectstatic has not run: {manifest} is missing, so the admin's CSS and JS "
                    "answer 404.", hint="Run `manage.py collectstatic --noinput` on every release "
                                        "(make serve-prod does).", id="oms.W001")]
