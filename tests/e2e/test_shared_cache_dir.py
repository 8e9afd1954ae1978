"""Several processes syncing and reading one cache_dir at once, against a real server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import labstore

WORKER = textwrap.dedent(
    """
    import sys, labstore
    url, cache, config = sys.argv[1:4]
    s = labstore.Session({"location": url, "username": "alice", "password": "alice-password",
                          "cache_dir": cache}, file_name=config)
    for _ in range(6):
        s.refresh_cache()
        assert s.Lab.count(query_type="local") >= 0
        s.select("lab", {"name__startswith": "shared-"}, query_type="local")
    s.close()
    """
)


def test_processes_share_one_cache_dir_safely(live_server, tmp_path):
    cache = tmp_path / "cache"
    writer = labstore.Session(
        {"location": live_server.url, "username": "alice", "password": "alice-password"},
        file_name=tmp_path / "w.toml",
    )
    for i in range(10):
        writer.set(writer.Lab.new(name=f"shared-{i}"))
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                live_server.url,
                str(cache),
                str(tmp_path / f"p{n}.toml"),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for i in range(10, 30):  # the server keeps changing while they sync
        writer.set(writer.Lab.new(name=f"shared-{i}"))
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    final = labstore.Session(
        {
            "location": live_server.url,
            "username": "alice",
            "password": "alice-password",
            "cache_dir": str(cache),
        },
        file_name=tmp_path / "f.toml",
    )
    final.refresh_cache()
    local = {
        lab.name for lab in final.select("lab", {"name__startswith": "shared-"}, query_type="local")
    }
    remote = {
        lab.name
        for lab in final.select("lab", {"name__startswith": "shared-"}, query_type="remote")
    }
    assert local == remote and len(remote) >= 30
    path = final.local_store.path
    final.close()
    writer.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
