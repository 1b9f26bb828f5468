"""nianbao: a rules checker for 政府信息公开工作年度报告 (government information disclosure annual reports)."""

__version__ = "0.1.0"

from nianbao.check import Result, check  # noqa: E402

__all__ = ["Result", "check", "__version__"]
