"""Neo and odML objects <-> labstore records and arrays.

Needs the ``ephys`` extra (neo, quantities, odml). The client imports this package only when
it meets a Neo or odML object or an ``ephys`` / ``metadata`` record, so a session that never
does works without them.
"""
