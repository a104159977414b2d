from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

MAX_PAGE = 2**31 - 1


class PageLimitPagination(PageNumberPagination):
    """``{count, next, previous, results}`` with ``?page=`` (from 1) and ``?limit=`` (1..500).

    Out-of-range or non-numeric values answer 400 (DRF would quietly fall back to the default
    size); a page past the last answers 404."""

    page_size_query_param = "limit"
    max_page_size = 500
    last_page_strings = ()
    page_query_description = "A page number, from 1; a page past the last answers 404."
    page_size_query_description = "Results per page (1 to 500, default 20)."

    def paginate_queryset(self, queryset, request, view=None):
        self._check(request, self.page_query_param, 1, MAX_PAGE)
        self._check(request, self.page_size_query_param, 1, self.max_page_size)
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def _check(request, name: str, low: int, high: int) -> None:
        raw = request.query_params.get(name)
        if not raw:  # absent or empty (a form's blank field): the default
            return
        value = raw.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 10 and low <= int(value) <= high):
            raise ValidationError({name: [f"Enter a whole number between {low} and {high}."]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
