"""Django's PostgreSQL backend with a health check that costs no round trip when nothing happened.

``CONN_HEALTH_CHECKS`` makes Django check a reused connection before a request uses it; Django's
check is ``SELECT 1``, one more round trip on every request. A server that ends a connection
(restart, failover, ``pg_terminate_backend``, a pooler's idle timeout) sends a message or closes
the socket, so an idle connection whose socket has nothing to read is as usable as it was after its
last statement: only when something arrived does the check ask the server."""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        return super().is_usable()  # a notice or the end of the connection: SELECT 1 decides
