"""The one way mpistd ends a forked helper process (the PDF helper of render/pdf.py, the report
helper of render/page_helper.py): tell it to stop over its pipe, close the pipe, give it
``wait`` seconds, then kill it. Idempotent in the callers, which clear their handle first."""
from __future__ import annotations

from typing import Any


def stop(process: Any, conn: Any, wait: float) -> None:
    try:
        conn.send(None)
    except (OSError, ValueError):
        pass
    conn.close()
    process.join(timeout=wait)
    if process.is_alive():
        process.kill()
        process.join()
