"""gunicorn settings for production (docs/DEPLOY.md): `gunicorn -c deploy/gunicorn.conf.py`.

Sizing from docs/PERFORMANCE.md: a step is CPU-bound Python (~8–16 ms of CPU), so one worker
process per core and 4 threads each (threads cover the time spent waiting on PostgreSQL).
With PROMETHEUS_MULTIPROC_DIR set, /metrics adds up every worker; a dead worker's files are
marked here so its gauges do not linger.
"""

import multiprocessing
import os

bind = os.environ.get("ZHITONGCHE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ZHITONGCHE_WEB_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("ZHITONGCHE_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
wsgi_app = "webapp:create_app()"
accesslog = "-"  # to the journal
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
