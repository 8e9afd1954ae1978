"""The labstore server: ``create_app(settings)`` builds it; nothing is built at import."""

from labstore.server.app import create_app
from labstore.server.settings import Settings

__all__ = ["Settings", "create_app"]
