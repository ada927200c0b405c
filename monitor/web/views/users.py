"""Console pages: users (to be filled)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
