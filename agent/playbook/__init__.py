"""The human-owned playbook: schema, loading with line-numbered errors, and its fingerprint."""

from agent.playbook.loader import PlaybookError, fingerprint, load_playbook, parse_playbook
from agent.playbook.models import STAGES, Playbook, Stage

__all__ = [
    "STAGES",
    "Playbook",
    "PlaybookError",
    "Stage",
    "fingerprint",
    "load_playbook",
    "parse_playbook",
]
