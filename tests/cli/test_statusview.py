"""The status table shows what podman reports about a container (an image's USER, its
name, its ports): a control character in it is written as its escape."""

from __future__ import annotations

from phoenix_compose.cli.statusview import status_table
from phoenix_compose.runtime.containers import ServiceState
from phoenix_compose.runtime.status import ServiceStatus


def test_a_hostile_image_user_cannot_drive_the_terminal() -> None:
    row = ServiceStatus(service="web", container="p_web_1", state="running",
                        status=ServiceState.RUNNING, uptime_s=5.0, restarts=0, ports=(),
                        user="\x1b]0;owned\x07\x1b[2J")
    text = status_table([row])
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07\\x1b[2J" in text


def test_on_a_terminal_a_cell_is_text_never_rich_markup(monkeypatch) -> None:
    """rich reads '[link=...]' in a cell as markup and writes a hyperlink escape (OSC 8)
    of its own: a container's USER is shown as written."""
    from phoenix_compose.cli import progress

    monkeypatch.setattr(progress, "fancy", lambda: True)
    row = ServiceStatus(service="web", container="p_web_1", state="running",
                        status=ServiceState.RUNNING, uptime_s=5.0, restarts=0, ports=(),
                        user="[b]x[/b]")
    text = status_table([row])
    assert "[b]x[/b]" in text


def test_a_progress_line_escapes_what_podman_said(capsys) -> None:
    """up's progress rows carry podman's words (an error, a check's output): plain."""
    from phoenix_compose.cli.progress import plain

    plain("web", "failed", "exit 1: \x1b[2Jgone\rforged")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\\x1b[2Jgone\\rforged" in out
