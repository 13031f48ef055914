"""The forked helper processes of the report (the PDF helper of render/pdf.py, the report helper
of render/page_helper.py): one way to fork one, ask it for an answer with a timeout, and end it.

A helper is ``(process, connection)``. It only ever helps: every failure here (no process to
spare, a helper gone, an answer that does not come, a wrong answer) is None to the caller, who
then does the work in-process and reports any error itself."""
from __future__ import annotations

from typing import Any, Callable


def fork(target: Callable[..., None], args: tuple[Any, ...], name: str) -> tuple[Any, Any] | None:
    """Start ``target(connection, *args)`` in a forked daemon process; None if none can start."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    process = ctx.Process(target=target, args=(there, *args), name=name, daemon=True)
    try:
        process.start()
    except OSError:  # no process to spare
        here.close()
        return None
    finally:
        there.close()
    return process, here


def ask(helper: tuple[Any, Any], message: Any, tag: str, timeout: float) -> Any | None:
    """Send ``message`` and wait up to ``timeout`` seconds for an answer tagged ``tag``; the answer,
    or None (the caller then ends the helper: a helper that hangs never hangs the run)."""
    _, conn = helper
    try:
        conn.send(message)
        if not conn.poll(timeout):
            return None
        answer = conn.recv()
    except Exception:  # noqa: BLE001 - a message that does not pickle, a helper gone
        return None
    return answer if answer[0] == tag else None


def stop(process: Any, conn: Any, wait: float) -> None:
    """Tell the helper to stop over its pipe, close the pipe, give it ``wait`` seconds, then kill it."""
    try:
        conn.send(None)
    except (OSError, ValueError):
        pass
    conn.close()
    process.join(timeout=wait)
    if process.is_alive():
        process.kill()
        process.join()
