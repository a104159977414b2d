"""gunicorn settings for the OMS: ``gunicorn -c gunicorn.conf.py oms.wsgi`` (``make serve-prod``).

Everything comes from the environment. The sizing numbers are starting points: measure with bench/
before changing them (README, "Deploying"). Each worker (thread) keeps its own PostgreSQL connection
(CONN_MAX_AGE), so one node opens up to workers x threads connections."""

import os
import shutil
import tempfile

# -- sizing ------------------------------------------------------------------------------------------
CPU_COUNT = os.cpu_count() or 1
# Measured with `make bench` on 2 CPUs shared with PostgreSQL (bench/RESULTS.md, issue 10):
# single-threaded (sync) workers, 2 per CPU, served pack, ship and intake best, at full CPU and with
# the lowest p99 (whole bench runs alternated: 4 processes packed 6 % faster than 5 and shipped 3 %
# faster; 6 and more were slower still). Threaded workers (3 x 4, an earlier default) left a third of
# the CPU idle in many runs: keep-alive connections stay with the process that accepted them, and a
# process holding more of them than its share is bound by its GIL while the others wait. A sync
# worker answers with "Connection: close" and takes the next request from the shared accept queue,
# so the kernel spreads the load. More processes than cores cover the time a request waits on
# PostgreSQL; with the database across a network that wait is longer: measure, and raise
# WEB_CONCURRENCY while the CPU is not busy. Sync workers need a proxy or load balancer in front
# that buffers slow clients (README, "Deploying"); GUNICORN_THREADS > 1 switches to threaded workers.
WORKERS_PER_CPU = 2  # processes per CPU (at least 2)
THREADS_PER_WORKER = 1  # requests in flight per process (sync when 1, gthread when > 1)
MAX_REQUESTS_PER_WORKER = 5000  # a worker is replaced after this many requests (bounds slow leaks)
MAX_REQUESTS_JITTER = 500  # so that workers are not all replaced at once

workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, round(WORKERS_PER_CPU * CPU_COUNT)))
threads = int(os.environ.get("GUNICORN_THREADS") or THREADS_PER_WORKER)
worker_class = "gthread" if threads > 1 else "sync"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or MAX_REQUESTS_PER_WORKER)
max_requests_jitter = MAX_REQUESTS_JITTER

# -- network -----------------------------------------------------------------------------------------
# GUNICORN_BIND wins (e.g. "0.0.0.0:8000" or "unix:/run/oms.sock"); else HOST:PORT, loopback by default.
_host, _port = os.environ.get("HOST") or "127.0.0.1", os.environ.get("PORT") or "8000"
bind = [os.environ.get("GUNICORN_BIND") or f"{_host}:{_port}"]
# Longer than the load balancer's idle timeout (60 s on most), so the balancer never reuses a
# connection that gunicorn is closing at that moment (a 502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 75)

# -- time limits -------------------------------------------------------------------------------------
# A worker silent for this long is killed and replaced (a request stuck that long has failed anyway).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# On SIGTERM (a deploy, a scale-in) workers stop accepting and finish the requests in flight — a
# command commits or rolls back, never half-way — for up to this long before they are killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)

# -- logs --------------------------------------------------------------------------------------------
accesslog = "-"  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The request id is the response's X-Request-ID (oms.middleware), the same as on the app's log lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "oms.logging.JsonFormatter"}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "root": {"handlers": [], "level": "INFO"},  # the app's own lines: oms.settings.LOGGING
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }

# gunicorn's control socket (gunicornc) defaults to one path per user: two servers on a host (blue/green,
# the tests' two app servers) would fight over it. Off unless GUNICORN_CONTROL_SOCKET names one.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # worker heartbeats off the disk (a slow disk looks like a hung worker)


# -- Prometheus: every worker's counts add up (oms.metrics) ------------------------------------------
def on_starting(server):
    """Before the workers start: one metrics directory for them all, emptied of a previous run's."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="oms-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        target = os.path.join(path, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
        else:
            os.remove(target)
    server.log.info("Prometheus multiprocess metrics in %s", path)


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 - imported once the env is set

    multiprocess.mark_process_dead(worker.pid)
