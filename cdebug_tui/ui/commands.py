"""Provides the command palette's commands: "Debug an image..." for each local image."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cdebug_tui.errors import CdebugError

HELP = "a session on a throwaway container of this image (shell-less ones too)"


class ImageCommands(Provider):
    """Lists the current engine's local images as "Debug an image: REF" commands."""

    _refs: list[str] | None = None

    async def startup(self) -> None:
        # Once per opening of the palette, not per key typed.
        self._refs = await self._read_images()

    async def _read_images(self) -> list[str]:
        engine: Any = getattr(self.app, "engine", None)
        if engine is None:
            return []
        try:
            # In a thread: the engine is a network call, the UI thread never waits on one.
            images = await asyncio.to_thread(engine.images)
        except CdebugError:
            return []
        return sorted(tag for image in images for tag in image.tags)

    async def _images(self) -> list[str]:
        if self._refs is None:
            self._refs = await self._read_images()
        return self._refs

    def _debug(self, ref: str) -> None:
        debug = getattr(self.app, "debug_image", None)
        if callable(debug):
            debug(ref)

    async def discover(self) -> Hits:
        for ref in await self._images():
            yield DiscoveryHit(f"Debug an image: {ref}", partial(self._debug, ref), help=HELP)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for ref in await self._images():
            text = f"Debug an image: {ref}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._debug, ref), help=HELP)
