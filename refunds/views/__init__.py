"""Server-rendered back-office views: thin, guarded by refunds.screens, calling services/selectors."""
