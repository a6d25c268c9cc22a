"""vsync_s3_client.pydantic with the real pydantic-settings, against vaults pushed to the local S3 server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

import pytest
import vsync_s3_client
import vsync_s3_client.pydantic as vsync_pydantic
from conftest import REPO
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from vsync_s3_client import WrongPassphraseError
from vsync_s3_client.pydantic import VsyncSettingsSource

Sources = Tuple[PydanticBaseSettingsSource, ...]

VAULT = {
    "SERVICE_NAME": "billing",
    "WORKERS": "8",
    "API_TOKEN": "tok-vault-secret-123",
    "DB__HOST": "db.internal",
    "DB__PORT": "6543",
    "PRIMARY_DSN": "postgres://app@db/billing",
    "ALLOWED_HOSTS": '["a.example", "b.example"]',
    "SHARED": "from-vault",
}
# Every name the settings classes below read: the process environment holds none of them unless
# a test sets it.
NAMES = [*VAULT, "ONLY_ENV", "ONLY_DEFAULT", "NOWHERE", "APP_SHARED", "DB", "DSN", "LOG_LEVEL"]


class Database(BaseModel):
    host: str
    port: int = 5432


class VaultSettings(BaseSettings):
    """The sources as the docs set them: constructor arguments, then the vsync chain (vault, process
    environment, defaults) in env_settings' place, then .env and secrets files. A subclass passes
    VsyncSettingsSource its arguments in `vsync_source_args`."""

    vsync_source_args: ClassVar[Dict[str, Any]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> Sources:
        vsync = VsyncSettingsSource(settings_cls, **cls.vsync_source_args)
        return (init_settings, vsync, dotenv_settings, file_secret_settings)


class AppSettings(VaultSettings):
    """str, int, SecretStr, a nested model, an alias and a JSON-decoded list, all from the vault."""

    model_config = SettingsConfigDict(env_nested_delimiter="__")

    service_name: str
    workers: int
    api_token: SecretStr
    db: Database
    dsn: str = Field(alias="PRIMARY_DSN")
    allowed_hosts: List[str]
    log_level: str = "info"


@pytest.fixture
def bootstrap(new_vault, clean_bootstrap_env: pytest.MonkeyPatch):
    """Push `kv` and point VSYNC_CONFIG / VSYNC_PASSPHRASE at it; the settings' names unset."""
    for name in NAMES:
        clean_bootstrap_env.delenv(name, raising=False)

    def make(kv: Mapping[str, str]):
        vault = new_vault(kv)
        clean_bootstrap_env.setenv("VSYNC_CONFIG", vault.config)
        clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", vault.passphrase)
        return vault

    return make


@pytest.fixture
def opened_handles(monkeypatch: pytest.MonkeyPatch) -> List[vsync_s3_client.Vsync]:
    """Every handle the source opens itself (the real open(), recorded)."""
    handles: List[vsync_s3_client.Vsync] = []
    real_open = vsync_pydantic._open_vault

    def recording_open(*args: Any, **kwargs: Any) -> vsync_s3_client.Vsync:
        handle = real_open(*args, **kwargs)
        handles.append(handle)
        return handle

    monkeypatch.setattr(vsync_pydantic, "_open_vault", recording_open)
    return handles


def test_the_settings_class_is_filled_from_the_vault(bootstrap, opened_handles) -> None:
    bootstrap(VAULT)
    settings = AppSettings()
    assert settings.service_name == "billing"
    assert settings.workers == 8
    assert settings.api_token.get_secret_value() == "tok-vault-secret-123"
    assert "tok-vault-secret-123" not in repr(settings)
    assert settings.db == Database(host="db.internal", port=6543)
    assert settings.dsn == "postgres://app@db/billing"
    assert settings.allowed_hosts == ["a.example", "b.example"]
    assert settings.log_level == "info"
    # It opened the vault once, and closed it before the constructor returned.
    assert len(opened_handles) == 1 and opened_handles[0].closed


def test_a_nested_model_also_reads_as_json(bootstrap) -> None:
    bootstrap({**{k: v for k, v in VAULT.items() if not k.startswith("DB__")}, "DB": '{"host": "json-db"}'})
    assert AppSettings().db == Database(host="json-db", port=5432)


def settings_with(source_args: Dict[str, Any], config: Optional[SettingsConfigDict] = None) -> type[BaseSettings]:
    """A settings class whose vsync source gets `source_args`."""

    class Settings(VaultSettings):
        model_config = config or SettingsConfigDict()
        vsync_source_args: ClassVar[Dict[str, Any]] = source_args

        shared: str = "field-default"
        only_env: str = "field-default"
        only_default: str = "field-default"
        nowhere: str = "field-default"

    return Settings


def test_precedence_vault_then_environment_then_defaults(bootstrap, clean_bootstrap_env) -> None:
    bootstrap({"SHARED": "from-vault"})
    clean_bootstrap_env.setenv("SHARED", "from-env")
    clean_bootstrap_env.setenv("ONLY_ENV", "from-env")
    defaults = {"SHARED": "from-default", "ONLY_ENV": "from-default", "ONLY_DEFAULT": "from-default"}
    settings = settings_with({"defaults": defaults})()
    assert settings.model_dump() == {
        "shared": "from-vault",
        "only_env": "from-env",
        "only_default": "from-default",
        "nowhere": "field-default",
    }


def test_arguments_given_in_code_win_over_the_vault(bootstrap) -> None:
    bootstrap({"SHARED": "from-vault", "ONLY_ENV": "from-vault"})
    settings = settings_with({})(shared="from-code")
    assert (settings.shared, settings.only_env) == ("from-code", "from-vault")


def test_a_passed_handle_is_read_and_left_open(new_vault, clean_bootstrap_env, opened_handles) -> None:
    vault = new_vault({"SHARED": "from-the-handle"})
    clean_bootstrap_env.delenv("SHARED", raising=False)
    with vsync_s3_client.open_with(vault.config, vault.passphrase) as handle:
        settings = settings_with({"vault": handle})()
        assert settings.shared == "from-the-handle"
        assert not handle.closed and handle.get_env("SHARED") == "from-the-handle"
    assert opened_handles == []  # no VSYNC_CONFIG in the environment, and none was needed


def test_open_arguments_with_a_handle_are_refused(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault({"SHARED": "x"})
    with vsync_s3_client.open_with(vault.config, vault.passphrase) as handle:
        with pytest.raises(TypeError, match="defaults"):
            settings_with({"vault": handle, "defaults": {"ONLY_DEFAULT": "d"}})()
        assert not handle.closed


def test_a_closed_handle_is_refused(new_vault, clean_bootstrap_env) -> None:
    vault = new_vault({"SHARED": "x"})
    handle = vsync_s3_client.open_with(vault.config, vault.passphrase)
    handle.close()
    with pytest.raises(ValueError, match="closed"):
        settings_with({"vault": handle})()


def test_a_failed_open_raises_the_vsync_error(bootstrap, clean_bootstrap_env, opened_handles) -> None:
    bootstrap({"SHARED": "x"})
    clean_bootstrap_env.setenv("VSYNC_PASSPHRASE", "not the passphrase")
    with pytest.raises(WrongPassphraseError):
        settings_with({})()
    assert opened_handles == []  # open() raised: there was no handle to close


def test_the_handle_is_closed_when_validation_fails(bootstrap, opened_handles) -> None:
    bootstrap({"WORKERS": "not a number"})
    with pytest.raises(ValidationError):
        AppSettings()
    assert len(opened_handles) == 1 and opened_handles[0].closed


def test_env_prefix_and_case_sensitivity_follow_the_model_config(bootstrap) -> None:
    bootstrap({"APP_SHARED": "prefixed", "SHARED": "unprefixed", "ONLY_ENV": "upper"})
    prefixed = settings_with({}, SettingsConfigDict(env_prefix="APP_"))()
    assert prefixed.shared == "prefixed"
    # Case-insensitive by default (SHARED fills `shared`); case-sensitive, the field's own name.
    assert settings_with({})().only_env == "upper"
    assert settings_with({}, SettingsConfigDict(case_sensitive=True))().only_env == "field-default"
    # ... and the source's own arguments override the model_config, as for EnvSettingsSource.
    assert settings_with({"env_prefix": "APP_"})().shared == "prefixed"


def test_the_source_repr_shows_no_value(bootstrap) -> None:
    bootstrap(VAULT)
    source = VsyncSettingsSource(AppSettings)
    assert "tok-vault-secret-123" not in repr(source) and "billing" not in repr(source)
    assert repr(source).startswith("VsyncSettingsSource(")


def test_without_pydantic_settings_the_package_imports_and_the_module_names_the_extra() -> None:
    # pydantic_settings = None in sys.modules makes `import pydantic_settings` fail as if absent.
    script = """
import sys
sys.modules["pydantic_settings"] = None
import vsync_s3_client
assert "vsync_s3_client.pydantic" not in sys.modules
try:
    import vsync_s3_client.pydantic
except ImportError as e:
    print(e)
else:
    raise SystemExit("imported without pydantic-settings")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "vsync_s3_client.pydantic needs pydantic-settings: pip install 'vsync-s3-client[pydantic]'"
    )


# ---- the README's example, run as written ----


def readme_pydantic_blocks(readme: Path) -> Dict[str, str]:
    """The first ```sh and ```python blocks of the "## pydantic-settings" section."""
    section = re.search(r"^## pydantic-settings\n(.*?)(?=^## )", readme.read_text(), re.S | re.M)
    assert section, f"{readme}: no '## pydantic-settings' section"
    blocks: Dict[str, str] = {}
    for lang, body in re.findall(r"^```(\w+)\n(.*?)^```", section.group(1), re.S | re.M):
        blocks.setdefault(lang, body)
    return blocks


README_VAULT = {
    "DATABASE_URL": "postgres://app@db:5432/app",
    "API_TOKEN": "tok-readme-123",
    "SMTP__HOST": "smtp.internal",
}
README_OUTPUT = "DATABASE_URL=postgres://app@db:5432/app smtp=smtp.internal:587 workers=4 api_token=**********\n"


def test_the_readme_example_runs_as_written(new_vault, tmp_path: Path) -> None:
    blocks = readme_pydantic_blocks(REPO / "bindings/python/README.md")
    assert blocks["sh"].strip() == "pip install 'vsync-s3-client[pydantic]'"
    vault = new_vault(README_VAULT)
    (tmp_path / "app.py").write_text(blocks["python"])
    env = {"PATH": "/usr/bin:/bin", "VSYNC_CONFIG": vault.config, "VSYNC_PASSPHRASE": vault.passphrase}
    out = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == README_OUTPUT
