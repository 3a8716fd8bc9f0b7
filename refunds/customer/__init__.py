"""What the customer sees and does: the status page, lost-link lookup, feedback, consent."""
