from django_tasks import task

from webhooks.delivery import deliveries_run


@task()
def deliver_pending() -> int:
    """Deliver what is due (run by `manage.py db_worker`)."""
    return deliveries_run()
