"""nianbao: a rules checker for 政府信息公开工作年度报告 (government information disclosure annual reports)."""

__version__ = "0.1.0"

from nianbao.pipeline import check  # noqa: E402
from nianbao.result import Result  # noqa: E402

__all__ = ["Result", "check", "__version__"]
