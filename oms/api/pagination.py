from rest_framework.pagination import PageNumberPagination


class PageLimitPagination(PageNumberPagination):
    """``{count, next, previous, results}`` with ``?page=`` and ``?limit=`` (max 500)."""

    page_size_query_param = "limit"
    max_page_size = 500
