"""Notification events, templates and the delivery log (see the notifications issue)."""
