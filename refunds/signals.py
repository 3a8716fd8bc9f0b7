"""Extension point: sent after a ticket transition has committed (never inside the transaction).

Receivers (notifications, partner webhooks) must only enqueue work; they get ids, not instances.
"""

from django.dispatch import Signal

# kwargs: ticket_id, transition, from_state, to_state, actor_kind
ticket_transitioned = Signal()
