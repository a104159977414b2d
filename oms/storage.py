"""Static files in production: WhiteNoise serves what ``collectstatic`` wrote, compressed (gzip and
Brotli when installed) under content-hashed names that browsers may cache forever."""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest ``collectstatic`` wrote. A name the manifest lacks (no
    ``collectstatic`` yet: the test suite, a server started before it ran) keeps its plain URL, so a
    page renders and only that file answers 404 — Django's strict manifest would make every admin
    page a 500 instead. ``check --deploy`` warns when the manifest is missing (oms.W001)."""

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            logger.debug("Static file %r is not in the collectstatic manifest", name)
            return name
