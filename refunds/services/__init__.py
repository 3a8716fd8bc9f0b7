"""Write paths. Views, the API, admin actions and jobs call these and nothing else changes tickets."""

from .comments import add_comment
from .tickets import create_ticket
from .transitions import perform_transition

__all__ = ["add_comment", "create_ticket", "perform_transition"]
