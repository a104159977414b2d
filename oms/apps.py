from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS"

    def ready(self) -> None:
        from django.core.signals import request_finished  # noqa: PLC0415

        from oms import checks  # noqa: F401, PLC0415 - registers the deployment checks
        from oms.logging import clear_request_id  # noqa: PLC0415

        request_finished.connect(clear_request_id, dispatch_uid="oms.clear_request_id")
