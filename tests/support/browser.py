"""A minimal Chrome DevTools Protocol client: enough to drive the web UI in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets

from tests.support.waiting import wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# What DevTools answers an evaluation that a navigation cut short.
NAVIGATING = ("Inspected target navigated or closed", "Cannot find context", "Execution context was destroyed")


def sticking_out(container: str) -> str:
    """JavaScript: the names of shown form controls that reach past the padding of their ``container``."""
    return f"""[...document.querySelectorAll('input, select, textarea, button')].filter(e => {{
  const box = e.closest({json.dumps(container)});
  if (!box || !e.offsetParent) return false;
  const edge = box.getBoundingClientRect().right - parseFloat(getComputedStyle(box).paddingRight);
  return e.getBoundingClientRect().right > edge + 0.5;
}}).map(e => e.name || e.id || e.tagName)"""


class Page:
    """One browser tab: evaluate JavaScript, wait for conditions, collect script errors."""

    def __init__(self, socket: Any, port: int) -> None:
        self.socket = socket
        self.port = port  # the browser's DevTools port, for more tabs
        self.errors: list[str] = []
        self._next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are scanned for errors)."""
        self._next_id += 1
        call_id = self._next_id
        await self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("method") == "Runtime.exceptionThrown":
                self.errors.append(str(message["params"]["exceptionDetails"]))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                result: dict[str, Any] = message["result"]
                return result

    async def js(self, expression: str) -> Any:
        """The value of ``expression`` (promises awaited)."""
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 20.0) -> None:
        """Wait until ``expression`` is truthy in the page (also across a reload or redirect)."""

        # A page still loading may not have the elements asked about yet: ask again. Whether it
        # had loaded is read in the same evaluation, so a reload finishing in between cannot
        # turn a half-parsed page's error into the test's.
        guarded = (
            "(async () => { const loaded = document.readyState === 'complete';"
            f" try {{ return await ({expression}); }} catch (e) {{ if (loaded) throw e; return false; }} }})()"
        )

        async def holds() -> Any:
            try:
                return await self.js(guarded)
            except RuntimeError as exc:
                if any(sign in str(exc) for sign in NAVIGATING):
                    return False  # asked of the page being left
                raise

        await wait_for(holds, timeout=timeout, interval=0.05)

    @asynccontextmanager
    async def another_tab(self) -> AsyncIterator[Page]:
        """A second tab of the same browser (same profile, so it shares storage and channels)."""
        async with httpx.AsyncClient() as http:
            target = (await http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank")).json()
        try:
            async with _attached(target["webSocketDebuggerUrl"], self.port) as tab:
                yield tab
        finally:
            async with httpx.AsyncClient() as http:
                await http.get(f"http://127.0.0.1:{self.port}/json/close/{target['id']}")

    async def text(self) -> str:
        """The visible text of the page."""
        return str(await self.js("document.body.innerText"))

    async def submit(self, selector: str, values: dict[str, str]) -> None:
        """Fill the form matched by ``selector`` and submit it as a user would."""
        script = (
            "((sel, values) => { const form = document.querySelector(sel);"
            " for (const [name, value] of Object.entries(values)) form.elements[name].value = value;"
            " form.requestSubmit(); return true; })"
        )
        await self.js(f"{script}({json.dumps(selector)}, {json.dumps(values)})")

    async def click(self, label: str) -> None:
        """Click the button whose text is ``label``."""
        await self.js(
            f"[...document.querySelectorAll('button')].find(b => b.textContent === {json.dumps(label)}).click()"
        )


@asynccontextmanager
async def _attached(url: str, port: int) -> AsyncIterator[Page]:
    """The tab at DevTools ``url``, with the events a Page reads switched on."""
    async with websockets.connect(url, max_size=None) as socket:
        page = Page(socket, port)
        await page.call("Runtime.enable")
        await page.call("Page.enable")
        yield page


@asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile) and its first tab."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            port = None
            while port is None:
                line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
                if not line:
                    raise RuntimeError("chromium exited before listening")
                found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
                port = int(found.group(1)) if found else None
            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"http://127.0.0.1:{port}/json")).json()
            tab = next(t for t in targets if t["type"] == "page")
            async with _attached(tab["webSocketDebuggerUrl"], port) as page:
                yield page
        finally:
            process.terminate()
            await process.wait()
