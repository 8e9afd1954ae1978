"""labstore: a home for a lab's experimental data and metadata, and the Session to reach it."""

__version__ = "0.1.0"
