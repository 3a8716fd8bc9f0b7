"""Cursor pagination `{"next", "previous", "results"}`: stable under inserts, no COUNT(*) query."""

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-pk")

    def decode_cursor(self, request):
        # DRF answers a garbled cursor with 404; it is a bad parameter, not a missing resource.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


class EventCursorPagination(ApiCursorPagination):
    ordering = ("seq",)


class PkCursorPagination(ApiCursorPagination):
    ordering = ("-pk",)
