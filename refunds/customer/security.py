"""Response headers for customer pages: never cached, and a strict Content-Security-Policy.

A decorator rather than django-csp: the customer pages are the only ones with a known, tiny asset
set (one stylesheet, no scripts), so a fixed policy on those views is enough and adds no
dependency; the back office and admin keep their own needs.
"""

from functools import wraps

from django.http import Http404
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def customer_page(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            # Unknown or revoked token: a customer page pointing to the lost-link form, same headers.
            response = render(request, "status/not_found.html", {"languages": [], "language": ""}, status=404)
        add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
        response["Content-Security-Policy"] = CSP
        # The token is in the URL: never send it to other sites ("no-referrer" would make browsers send
        # "Origin: null" on our own form posts, which CSRF protection rightly refuses).
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex"
        return response

    return wrapped
