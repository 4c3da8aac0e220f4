"""Provides run_app, the entry point the CLI calls to open the full-screen app."""

from __future__ import annotations


def run_app(target: str | None, image: str | None) -> int:
    """Runs the app until the user quits.

    Args:
        target: A container (name, id or id prefix) to open a session on at once; None opens
            the container list.
        image: The toolkit image for that session; None uses the last one chosen.

    Returns:
        The process exit code: 0 after a normal quit.
    """
    # Only Textual is imported here: docker-py loads in a worker after the first frame.
    from cdebug_tui.ui.app import CdebugApp

    app = CdebugApp(target=target, image=image)
    result = app.run()
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
