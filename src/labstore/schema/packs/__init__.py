"""The built-in packs, declared in the same form a lab uses for its own."""

from labstore.schema.packs import core, ephys, experiment, inventory, metadata
from labstore.schema.registry import Registry
from labstore.schema.types import Pack

BUILTIN_PACKS: tuple[Pack, ...] = (
    core.PACK,
    experiment.PACK,
    inventory.PACK,
    metadata.PACK,
    ephys.PACK,
)


def builtin_registry() -> Registry:
    """A registry of every built-in pack."""
    return Registry(BUILTIN_PACKS)
