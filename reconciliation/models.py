"""Statement and ledger imports, matching runs and exceptions (see the reconciliation issue)."""
