"""A supervisor's round (轮次) as data: the store, collections added to it, and its exports."""

from nianbao.round.store import Round, RoundError

__all__ = ["Round", "RoundError"]
