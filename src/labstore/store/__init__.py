"""Tables built from packs, engines and row conversion: shared by the server and the client's
local replica, so both hold objects in the same shape and the same compiled queries run on
both."""

from labstore.store.engine import create_store_engine, read_transaction, write_transaction
from labstore.store.records import location_of, new_id, row_to_json, split_location
from labstore.store.tables import StoreTables

__all__ = [
    "StoreTables",
    "create_store_engine",
    "location_of",
    "new_id",
    "read_transaction",
    "row_to_json",
    "split_location",
    "write_transaction",
]
