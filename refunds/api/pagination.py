"""Cursor pagination `{"next", "previous", "results"}`: stable under inserts, no COUNT(*) query."""

from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-pk")


class EventCursorPagination(ApiCursorPagination):
    ordering = ("seq",)


class PkCursorPagination(ApiCursorPagination):
    ordering = ("-pk",)
