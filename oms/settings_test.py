"""The test suite's settings: the real settings (oms/settings.py), with a throwaway SECRET_KEY so that
they start without DEBUG, as production runs. Subprocesses the tests start inherit it."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789abcdef")

from oms.settings import *  # noqa: E402,F403
