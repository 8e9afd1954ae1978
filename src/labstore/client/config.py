"""Client options: layered, persisted without the password, and the token kept in a 0600 file.

Layers, highest first: the options passed in, ``LABSTORE_*`` environment variables, the
profile in the config file, then defaults. The config file is TOML::

    default_profile = "lab"

    [profiles.lab]
    location = "https://labstore.example.org"
    username = "alice"
    cache_dir = "~/.cache/labstore"

Tokens live beside it in ``tokens.json`` (mode 0600), keyed by user and server, so a new
Session needs no password until the token expires. No keyring backend exists on headless
machines, so the file is the one place tokens go.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from labstore.errors import ConfigError

log = logging.getLogger("labstore.client.config")
APP_NAME = "labstore"
DEFAULT_PROFILE = "default"

# Every option a Session understands, with its default. An unknown key is a ConfigError, so
# a typo (``cach_dir``) is caught instead of silently ignored.
OPTION_DEFAULTS: dict[str, Any] = {
    "location": None,
    "username": None,
    "password": None,
    "token": None,
    "cache_dir": None,
    "profile": None,
    "project": None,
    "request_timeout": 30.0,
    "retry": None,
    "backoff": None,
    "retry_timeout": 300.0,
}
ENV_OPTIONS = {
    "location": "LABSTORE_URL",
    "username": "LABSTORE_USERNAME",
    "password": "LABSTORE_PASSWORD",
    "token": "LABSTORE_TOKEN",
    "cache_dir": "LABSTORE_CACHE_DIR",
    "profile": "LABSTORE_PROFILE",
    "project": "LABSTORE_PROJECT",
}
# Never written to disk by persist_options.
SECRET_OPTIONS = frozenset({"password", "token"})


def default_config_file() -> Path:
    """``config.toml`` in the platform's user config directory (``~/.config/labstore``)."""
    env = os.environ.get("LABSTORE_CONFIG_FILE")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def read_config(path: Path) -> dict[str, Any]:
    """The whole config file; an absent file is an empty config.

    Raises:
        ConfigError: The file exists but is not valid TOML.
    """
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc


def profile_name(config: Mapping[str, Any], profile: str | None) -> str:
    return profile or str(config.get("default_profile") or DEFAULT_PROFILE)


def get_profile_config(
    profile: str | None = None, file_name: str | Path | None = None
) -> dict[str, Any]:
    """The options stored for ``profile`` (the file's default profile when ``None``).

    Raises:
        ConfigError: A profile was named that the file does not have.
    """
    path = Path(file_name).expanduser() if file_name else default_config_file()
    config = read_config(path)
    name = profile_name(config, profile)
    profiles = config.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: 'profiles' must be a table of profiles")
    if name not in profiles:
        if profile is not None:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"no profile {profile!r} in {path} (profiles: {known})")
        return {}
    stored = profiles[name]
    if not isinstance(stored, dict):
        raise ConfigError(f"{path}: profile {name!r} must be a table of options")
    unknown = sorted(set(stored) - set(OPTION_DEFAULTS))
    if unknown:
        # A newer labstore may have written options this one does not know: say so, go on.
        log.warning("%s: profile %r has unknown options %s", path, name, ", ".join(unknown))
    return {k: _from_toml(k, v) for k, v in stored.items() if k in OPTION_DEFAULTS}


# ``retry`` and ``backoff`` are keyed by HTTP status; TOML keys are strings.
_STATUS_KEYED = frozenset({"retry", "backoff"})


def _to_toml(name: str, value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if name in _STATUS_KEYED and isinstance(value, Mapping):
        return {str(k): list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    return value


def _from_toml(name: str, value: Any) -> Any:
    if name in _STATUS_KEYED and isinstance(value, Mapping):
        try:
            return {int(k): tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        except ValueError:
            raise ConfigError(f"option {name}: keys must be HTTP status codes") from None
    return value


def resolve_options(
    options: Mapping[str, Any] | None,
    file_name: str | Path | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], Path]:
    """All options, filled from each layer in turn; returns them and the config file used.

    Raises:
        ConfigError: An unknown option, or an unreadable config file.
    """
    given = dict(options or {})
    unknown = set(given) - set(OPTION_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(OPTION_DEFAULTS)}"
        )
    env = os.environ if environ is None else environ
    path = Path(file_name).expanduser() if file_name else default_config_file()
    from_env = {k: env[v] for k, v in ENV_OPTIONS.items() if env.get(v)}
    profile = given.get("profile") or from_env.get("profile")
    stored = get_profile_config(profile, path)
    resolved = dict(OPTION_DEFAULTS)
    for layer in (stored, from_env, given):
        resolved.update({k: v for k, v in layer.items() if v is not None and k in resolved})
    resolved["profile"] = profile_name(read_config(path), profile)
    if resolved["location"]:
        resolved["location"] = str(resolved["location"]).rstrip("/")
    return resolved, path


def persist_options(options: Mapping[str, Any], path: Path) -> None:
    """Store the options (never the password or token) as the options' profile."""
    config = read_config(path)
    name = profile_name(config, options.get("profile"))
    keep = {
        k: _to_toml(k, v)
        for k, v in options.items()
        if k not in SECRET_OPTIONS
        and k != "profile"
        and v is not None
        and v != OPTION_DEFAULTS.get(k)
    }
    config.setdefault("profiles", {})[name] = keep
    config.setdefault("default_profile", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, tomli_w.dumps(config), mode=0o644)


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write atomically, with the permissions set before any byte is in the file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class TokenStore:
    """Login tokens by user and server, in a file only its owner can read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def key(username: str | None, location: str) -> str:
        return f"{username or ''}@{location}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, username: str | None, location: str) -> str | None:
        entry = self._read().get(self.key(username, location))
        return entry.get("token") if isinstance(entry, dict) else None

    def put(self, username: str | None, location: str, token: str, expires: str | None) -> None:
        data = self._read()
        data[self.key(username, location)] = {"token": token, "expires": expires}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(self.path, json.dumps(data, indent=1))

    def forget(self, username: str | None, location: str) -> None:
        data = self._read()
        if data.pop(self.key(username, location), None) is not None:
            _write_private(self.path, json.dumps(data, indent=1))
