"""labstore: a home for a lab's experimental data and metadata, and the Session to reach it.

Example::

    import labstore
    s = labstore.Session({"location": URL, "username": "alice", "password": "..."})
    subject = s.set(s.Subject.new(nickname="ZM_1"))
"""

__version__ = "0.1.0"

from labstore import errors, session
from labstore.client import (
    LabObject,
    ModelInterface,
    Session,
    get_profile_config,
    login,
)

__all__ = [
    "LabObject",
    "ModelInterface",
    "Session",
    "__version__",
    "errors",
    "get_profile_config",
    "login",
    "session",
]
