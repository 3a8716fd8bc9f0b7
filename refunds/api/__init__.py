"""Partner REST API v1 (SPEC §12): thin views over refunds.services and refunds.selectors."""
