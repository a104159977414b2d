"""Languages: the admin and pages follow the user (Accept-Language, or the language chosen in the
admin's header, kept in a cookie); the API always answers in English, because its bodies are a
contract clients match on ("This field is required.", the error envelope's messages)."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


class LocaleMiddleware(DjangoLocaleMiddleware):
    def __call__(self, request):
        try:
            return super().__call__(request)
        finally:
            # The language was this request's: the thread's next work (a request on a reused
            # thread, a test run after a Turkish request) starts from the default again.
            translation.deactivate()

    def process_request(self, request) -> None:
        if request.path_info.startswith(API_PREFIX):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)

    def process_response(self, request, response):
        if request.path_info.startswith(API_PREFIX):
            return response
        return super().process_response(request, response)
