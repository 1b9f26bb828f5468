"""The help pages of the ``nianbao`` command in Chinese (with the English kept), whole.

Typer (Click) writes its own headings and notes in English ("Usage:", "Options", "Show this
message and exit.", "[default: …]") and cuts each command's summary in the top-level help to
fit a line. ``chinese(command)`` gives the click command tree a formatter that writes those in
Chinese, and every command a summary of its own, so nothing is cut.
"""

from __future__ import annotations

WORDS = {
    "Usage: ": "用法 / Usage: ",
    "Options": "选项 / Options",
    "Arguments": "参数 / Arguments",
    "Commands": "命令 / Commands",
    "Show this message and exit.": "显示本帮助并退出 / show this help",
    "[default: ": "[默认：",
    "[required]": "[必需]",
    "[env var: ": "[环境变量：",
}


def _say(text: str) -> str:
    for english, chinese in WORDS.items():
        text = text.replace(english, chinese)
    return text


def _formatter(base: type) -> type:
    class Formatter(base):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, _say(prefix or "Usage: "))

        def write_heading(self, heading: str) -> None:
            super().write_heading(_say(heading))

        def write_dl(self, rows, *args, **kwargs) -> None:
            super().write_dl([(first, _say(second)) for first, second in rows], *args, **kwargs)

    return Formatter


def chinese(command):
    """``command`` (a click group or command) and every command below it, with Chinese help pages
    and whole summaries; returns ``command``."""
    context = type("Context", (command.context_class,), {"formatter_class": _formatter(command.context_class.formatter_class)})
    stack = [command]
    while stack:
        cmd = stack.pop()
        cmd.context_class = context
        if not cmd.short_help and cmd.help:
            cmd.short_help = cmd.help.strip().split("\n\n")[0].replace("\n", " ")
        stack += list(getattr(cmd, "commands", {}).values())
    return command
