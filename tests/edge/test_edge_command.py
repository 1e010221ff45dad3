"""`rfidwms edge` as a process: a clean stop can never hang it for ever."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_stop_that_hangs_is_ended_by_the_watchdog_naming_what_was_pending():
    stuck = textwrap.dedent(
        """
        import asyncio, logging
        logging.basicConfig(level=logging.INFO)
        from rfidwms.commands.edge import ShutdownWatchdog

        async def never_finishing_stop():
            ShutdownWatchdog(asyncio.get_running_loop(), 0.5).start()
            await asyncio.Event().wait()

        asyncio.run(never_finishing_stop())
        """
    )
    done = subprocess.run([sys.executable, "-c", stuck], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "did not stop within" in done.stderr
    assert "still pending" in done.stderr and "never_finishing_stop" in done.stderr
