"""The client: Session, model objects and interfaces, configuration and transport."""

from labstore.client.config import get_profile_config
from labstore.client.interfaces import ModelInterface
from labstore.client.objects import LabObject
from labstore.client.session import Session, login

__all__ = ["LabObject", "ModelInterface", "Session", "get_profile_config", "login"]
