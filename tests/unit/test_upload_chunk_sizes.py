"""How the client cuts a file into upload chunks."""

from __future__ import annotations

import pytest

from labstore.client.uploads import CHUNK_SIZE, MAX_CHUNK_SIZE, chunk_size_for

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "chunk"),
    [
        (9 * MIB, 8 * MIB),  # just over the chunked-upload threshold: the smallest chunk
        (200 * MIB, 8 * MIB),  # 25 chunks
        (256 * MIB, 16 * MIB),  # 16 chunks
        (1024 * MIB, 32 * MIB),  # 32 chunks: the largest chunk
        (100 * 1024 * MIB, 32 * MIB),
    ],
)
def test_chunks_grow_with_the_file_within_bounds(size, chunk):
    assert chunk_size_for(size) == chunk
    assert chunk % CHUNK_SIZE == 0 and CHUNK_SIZE <= chunk <= MAX_CHUNK_SIZE
