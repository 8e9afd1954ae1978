"""labstore.client.config: option layers, profiles, persisted options and the token file."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from labstore.client.config import (
    OPTION_DEFAULTS,
    TokenStore,
    get_profile_config,
    persist_options,
    resolve_options,
)
from labstore.errors import ConfigError

SECRET = "s3cret-Pa55word-never-on-disk"
TOKEN = "tok-abcdef0123456789-never-on-disk"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config.toml",
        """
default_profile = "lab"

[profiles.lab]
location = "https://file.example.org/"
username = "file-user"
cache_dir = "/tmp/file-cache"
request_timeout = 12.5

[profiles.other]
location = "https://other.example.org"
username = "other-user"
""",
    )


# --- layering -------------------------------------------------------------------------------


def test_defaults_without_any_layer(tmp_path: Path) -> None:
    options, path = resolve_options(None, tmp_path / "absent.toml", environ={})
    assert path == tmp_path / "absent.toml"
    assert options["request_timeout"] == OPTION_DEFAULTS["request_timeout"]
    assert options["retry_timeout"] == OPTION_DEFAULTS["retry_timeout"]
    assert options["location"] is None
    assert options["username"] is None
    assert options["password"] is None
    assert options["profile"] == "default"
    assert set(options) == set(OPTION_DEFAULTS)


def test_config_file_profile_beats_defaults(config_file: Path) -> None:
    options, _ = resolve_options({}, config_file, environ={})
    assert options["location"] == "https://file.example.org"  # trailing slash dropped
    assert options["username"] == "file-user"
    assert options["cache_dir"] == "/tmp/file-cache"
    assert options["request_timeout"] == 12.5
    assert options["profile"] == "lab"


def test_environment_beats_config_file(config_file: Path) -> None:
    environ = {"LABSTORE_URL": "https://env.example.org", "LABSTORE_USERNAME": "env-user"}
    options, _ = resolve_options({}, config_file, environ=environ)
    assert options["location"] == "https://env.example.org"
    assert options["username"] == "env-user"
    # Layers fill per option: what the environment lacks still comes from the file.
    assert options["cache_dir"] == "/tmp/file-cache"


def test_explicit_options_beat_environment(config_file: Path) -> None:
    environ = {"LABSTORE_URL": "https://env.example.org", "LABSTORE_USERNAME": "env-user"}
    options, _ = resolve_options(
        {"location": "https://arg.example.org", "username": "arg-user"}, config_file, environ
    )
    assert options["location"] == "https://arg.example.org"
    assert options["username"] == "arg-user"


def test_none_options_do_not_hide_lower_layers(config_file: Path) -> None:
    options, _ = resolve_options(
        {"location": None, "username": None},
        config_file,
        environ={"LABSTORE_USERNAME": "env-user"},
    )
    assert options["location"] == "https://file.example.org"
    assert options["username"] == "env-user"


def test_empty_environment_values_are_ignored(config_file: Path) -> None:
    options, _ = resolve_options({}, config_file, environ={"LABSTORE_URL": ""})
    assert options["location"] == "https://file.example.org"


@pytest.mark.parametrize(
    ("variable", "option"),
    [
        ("LABSTORE_PASSWORD", "password"),
        ("LABSTORE_TOKEN", "token"),
        ("LABSTORE_CACHE_DIR", "cache_dir"),
        ("LABSTORE_PROJECT", "project"),
    ],
)
def test_each_environment_variable_sets_its_option(
    tmp_path: Path, variable: str, option: str
) -> None:
    options, _ = resolve_options({}, tmp_path / "absent.toml", environ={variable: "v"})
    assert options[option] == "v"


def test_profile_chosen_by_option(config_file: Path) -> None:
    options, _ = resolve_options({"profile": "other"}, config_file, environ={})
    assert options["username"] == "other-user"
    assert options["profile"] == "other"
    assert options["cache_dir"] is None


def test_profile_chosen_by_environment(config_file: Path) -> None:
    options, _ = resolve_options({}, config_file, environ={"LABSTORE_PROFILE": "other"})
    assert options["username"] == "other-user"
    assert options["profile"] == "other"


def test_profile_option_beats_profile_environment(config_file: Path) -> None:
    options, _ = resolve_options(
        {"profile": "lab"}, config_file, environ={"LABSTORE_PROFILE": "other"}
    )
    assert options["username"] == "file-user"


def test_unknown_profile_named_explicitly_is_a_config_error(config_file: Path) -> None:
    with pytest.raises(ConfigError, match="nope"):
        resolve_options({"profile": "nope"}, config_file, environ={})


@pytest.mark.parametrize("key", ["cach_dir", "url", "passwd", "Location"])
def test_unknown_option_is_a_config_error_naming_it(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_options({key: "x"}, tmp_path / "absent.toml", environ={})
    assert key in info.value.message
    assert "cache_dir" in info.value.message  # the known options are listed


def test_config_file_path_may_be_a_string(config_file: Path) -> None:
    options, path = resolve_options({}, str(config_file), environ={})
    assert path == config_file
    assert options["username"] == "file-user"


# --- profiles -------------------------------------------------------------------------------


def test_get_profile_config_returns_stored_options(config_file: Path) -> None:
    assert get_profile_config("other", config_file) == {
        "location": "https://other.example.org",
        "username": "other-user",
    }


def test_get_profile_config_defaults_to_the_default_profile(config_file: Path) -> None:
    assert get_profile_config(None, config_file)["username"] == "file-user"


def test_get_profile_config_unknown_profile_names_the_known_ones(config_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        get_profile_config("nope", config_file)
    assert "'nope'" in info.value.message
    assert "lab" in info.value.message
    assert "other" in info.value.message


def test_get_profile_config_without_a_file(tmp_path: Path) -> None:
    assert get_profile_config(None, tmp_path / "absent.toml") == {}
    with pytest.raises(ConfigError, match="nope"):
        get_profile_config("nope", tmp_path / "absent.toml")


def test_get_profile_config_returns_a_copy(config_file: Path) -> None:
    first = get_profile_config("lab", config_file)
    first["username"] = "changed"
    assert get_profile_config("lab", config_file)["username"] == "file-user"


# --- corrupt config files -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["profiles = [", "[profiles.lab\nx=1", "= 3", "a = 'b' c"])
def test_corrupt_config_file_is_a_config_error_naming_the_path(tmp_path: Path, text: str) -> None:
    path = write_config(tmp_path / "broken.toml", text)
    with pytest.raises(ConfigError) as info:
        resolve_options({}, path, environ={})
    assert str(path) in info.value.message
    with pytest.raises(ConfigError) as info:
        get_profile_config(None, path)
    assert str(path) in info.value.message


def test_config_file_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        get_profile_config(None, tmp_path)
    assert str(tmp_path) in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        'default_profile = "lab"\n[profiles]\nlab = "not a table"\n',
        'default_profile = "lab"\nprofiles = "lab"\n',
        'default_profile = "lab"\nprofiles = ["lab"]\n',
    ],
)
def test_config_file_of_the_wrong_shape_is_a_config_error(tmp_path: Path, text: str) -> None:
    """Valid TOML whose profiles are not tables is as unusable as invalid TOML."""
    path = write_config(tmp_path / "odd.toml", text)
    with pytest.raises(ConfigError) as info:
        resolve_options({}, path, environ={})
    assert str(path) in info.value.message


# --- persisting -----------------------------------------------------------------------------


def test_persist_options_never_writes_password_or_token(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    persist_options(
        {
            "location": "https://lab.example.org",
            "username": "alice",
            "password": SECRET,
            "token": TOKEN,
            "cache_dir": tmp_path / "cache",
            "profile": "work",
        },
        path,
    )
    text = path.read_text()
    assert SECRET not in text
    assert TOKEN not in text
    assert "password" not in text
    assert "token" not in text
    data = tomllib.loads(text)
    assert data["default_profile"] == "work"
    assert data["profiles"]["work"] == {
        "location": "https://lab.example.org",
        "username": "alice",
        "cache_dir": str(tmp_path / "cache"),
    }


def test_persisted_options_are_read_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    persist_options(
        {"location": "https://lab.example.org", "username": "alice", "password": SECRET}, path
    )
    options, _ = resolve_options({}, path, environ={})
    assert options["location"] == "https://lab.example.org"
    assert options["username"] == "alice"
    assert options["password"] is None


def test_persist_options_keeps_other_profiles(config_file: Path) -> None:
    persist_options({"location": "https://new.example.org", "profile": "new"}, config_file)
    data = tomllib.loads(config_file.read_text())
    assert set(data["profiles"]) == {"lab", "other", "new"}
    assert data["default_profile"] == "lab"  # an existing default is kept
    assert data["profiles"]["other"]["username"] == "other-user"


def test_persist_options_without_profile_writes_the_default_profile(config_file: Path) -> None:
    persist_options({"location": "https://changed.example.org"}, config_file)
    assert get_profile_config("lab", config_file) == {"location": "https://changed.example.org"}


def test_persist_options_skips_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    persist_options(
        {"location": "https://x.org", "request_timeout": OPTION_DEFAULTS["request_timeout"]},
        path,
    )
    assert get_profile_config(None, path) == {"location": "https://x.org"}


def test_persist_options_with_retry_and_backoff(tmp_path: Path) -> None:
    """``retry`` and ``backoff`` are keyed by HTTP status (ints), as a Session takes them."""
    path = tmp_path / "config.toml"
    persist_options(
        {
            "location": "https://x.org",
            "password": SECRET,
            "retry": {503: 3, 429: 5},
            "backoff": {503: (0.5, 10.0)},
        },
        path,
    )
    assert SECRET not in path.read_text()
    stored = get_profile_config(None, path)
    assert stored["location"] == "https://x.org"
    assert "retry" in stored


def test_persist_options_refuses_to_overwrite_a_corrupt_file(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", "profiles = [")
    with pytest.raises(ConfigError):
        persist_options({"location": "https://x.org"}, path)
    assert path.read_text() == "profiles = ["


# --- tokens ---------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_token_store_put_get_forget(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens" / "tokens.json")
    assert store.get("alice", "https://a.org") is None
    store.put("alice", "https://a.org", TOKEN, "2030-01-01T00:00:00Z")
    store.put("bob", "https://a.org", "bob-token", None)
    store.put("alice", "https://b.org", "alice-b", None)
    assert store.get("alice", "https://a.org") == TOKEN
    assert store.get("bob", "https://a.org") == "bob-token"
    assert store.get("alice", "https://b.org") == "alice-b"
    assert TokenStore(store.path).get("alice", "https://a.org") == TOKEN  # it is on disk
    store.forget("alice", "https://a.org")
    assert store.get("alice", "https://a.org") is None
    assert store.get("bob", "https://a.org") == "bob-token"
    store.forget("nobody", "https://a.org")  # forgetting what is not there is fine
    assert store.get("alice", "https://b.org") == "alice-b"


def test_token_store_put_replaces(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.put("alice", "https://a.org", "old", None)
    store.put("alice", "https://a.org", "new", None)
    assert store.get("alice", "https://a.org") == "new"


def test_token_store_without_username(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.put(None, "https://a.org", "anon", None)
    assert store.get(None, "https://a.org") == "anon"
    assert store.get("alice", "https://a.org") is None


def test_token_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = TokenStore(path)
    store.put("alice", "https://a.org", TOKEN, None)
    assert mode(path) == 0o600
    store.forget("alice", "https://a.org")
    assert mode(path) == 0o600


def test_token_file_becomes_private_even_if_it_was_not(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    TokenStore(path).put("alice", "https://a.org", TOKEN, None)
    assert mode(path) == 0o600


def test_token_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.put("alice", "https://a.org", TOKEN, None)
    store.forget("alice", "https://a.org")
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"]


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"x"', '{"alice@https://a.org": "flat"}'])
def test_unreadable_token_file_is_an_empty_store(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(text)
    store = TokenStore(path)
    assert store.get("alice", "https://a.org") is None
    store.put("alice", "https://a.org", TOKEN, None)
    assert store.get("alice", "https://a.org") == TOKEN
