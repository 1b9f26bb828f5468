"""nianbao: a rules checker for 政府信息公开工作年度报告 (government information disclosure annual reports).

``check(path)`` checks one file; ``check_round(inputs, roster=..., out=...)`` a supervisor's batch."""

__version__ = "0.1.0"

from nianbao.pipeline import check  # noqa: E402
from nianbao.result import Result  # noqa: E402

__all__ = ["Result", "Run", "check", "check_round", "__version__"]


def __getattr__(name: str):
    # The batch machinery (worker pool, copy writer) is loaded only by those who run a batch, not by the 检查 button.
    if name in ("Run", "check_round"):
        from nianbao import run

        return getattr(run, name)
    raise AttributeError(name)
