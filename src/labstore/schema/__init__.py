"""Packs and the model, field and relation types they are declared with. Pure: no I/O."""

from labstore.schema.registry import COMMON_FIELDS, ChildLink, Registry
from labstore.schema.types import Field, Model, Pack, Relation

__all__ = ["COMMON_FIELDS", "ChildLink", "Field", "Model", "Pack", "Registry", "Relation"]
