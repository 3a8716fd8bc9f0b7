import pytest

from refunds.customer.progress import PLAIN_WORDS, STATE_STEP, STEPS, progress_for
from refunds.lifecycle import State

EXPECTED = {
    State.SUBMITTED: ("received", "ok"),
    State.AWAITING_CUSTOMER: ("in_review", "action"),
    State.IN_REVIEW: ("in_review", "ok"),
    State.PENDING_APPROVAL: ("in_review", "ok"),
    State.ON_HOLD: ("in_review", "ok"),
    State.APPROVED: ("approved", "ok"),
    State.PROCESSING: ("sent", "ok"),
    State.FAILED: ("sent", "problem"),
    State.REFUNDED: ("arrived", "done"),
    State.RECONCILED: ("arrived", "done"),
    State.REJECTED: ("in_review", "stopped"),
    State.CANCELLED: ("received", "stopped"),
}


def test_every_state_is_mapped():
    assert set(STATE_STEP) == set(State) == set(PLAIN_WORDS) == set(EXPECTED)


@pytest.mark.parametrize("state", list(State))
def test_progress_stage_for_every_state(state):
    progress = progress_for(state)
    code, tone = EXPECTED[state]
    assert [s.code for s in progress.steps] == [c for c, _ in STEPS]
    assert progress.steps[progress.current].code == code
    assert progress.tone == tone
    statuses = [s.status for s in progress.steps]
    # Everything before the current step is done, everything after is still to come.
    assert all(s == "done" for s in statuses[: progress.current])
    assert all(s == "todo" for s in statuses[progress.current + 1:])
    assert statuses[progress.current] == ("done" if tone == "done" else "current")


@pytest.mark.parametrize("state", list(State))
def test_status_page_renders_every_state(client, status_ticket, state):
    ticket, token = status_ticket(state=state, customer_language="en")
    response = client.get(f"/status/{token}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert str(PLAIN_WORDS[state]) in body.replace("&#x27;", "'")
    assert ticket.reference in body
    code, tone = EXPECTED[state]
    assert f"tone-{tone}" in body


def test_waiting_for_fallback_consent_stays_at_refund_sent():
    progress = progress_for(State.AWAITING_CUSTOMER, ["fallback_consent"])
    assert progress.steps[progress.current].code == "sent" and progress.tone == "action"
