"""RQ jobs: take ids, re-fetch under lock inside one service call, return early if the ticket moved on."""

from refunds.services import payouts


def submit_payout(ticket_id: int) -> None:
    payouts.submit_payout(ticket_id)


def send_payout(ticket_id: int) -> None:
    payouts.send_payout(ticket_id)
