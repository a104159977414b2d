from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CommandsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "commands"

    def ready(self) -> None:
        # Domain apps register their object and command types from their handlers modules.
        autodiscover_modules("handlers")
