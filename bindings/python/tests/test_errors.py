"""The error mapping: one table (errors._BY_CODE), a test per core ErrorKind, no panic escapes."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import vsync_s3_client
from vsync_s3_client import _native, errors

# The seven classes Python exports, in the core's order (checked against the core below).
SEVEN = [name for name in errors.__all__ if name != "VSyncError"]

# Every ErrorKind of the core: (number, canonical class name, code).
KINDS = list(_native.ERROR_KINDS)
CODE = {name: code for (_n, name, code) in KINDS}

# The kinds outside the taxonomy, as Python raises them (the root stands for a caught bug).
NOT_TAXONOMY = {
    "ClosedError": ValueError,
    "NotFoundError": KeyError,
    "InternalError": vsync_s3_client.VSyncError,
    "InvalidArgumentError": TypeError,
}


def test_core_has_the_seven_plus_four_outside_the_taxonomy() -> None:
    names = [name for (_n, name, _c) in KINDS]
    assert names == SEVEN + list(NOT_TAXONOMY)


@pytest.mark.parametrize("number,name,code", KINDS, ids=[k[1] for k in KINDS])
def test_each_core_kind_maps_to_its_python_exception(number: int, name: str, code: str) -> None:
    with pytest.raises(Exception) as info:
        _native._raise_for_test(number)
    err = info.value
    cls = NOT_TAXONOMY.get(name) or getattr(vsync_s3_client, name)
    assert type(err) is cls
    assert errors._BY_CODE[code] is cls
    if name in SEVEN:
        assert cls.__name__ == name
    if isinstance(err, vsync_s3_client.VSyncError):
        assert err.code == code == type(err).code
    assert f"test error {name}" in str(err)


@pytest.mark.parametrize("name", SEVEN)
def test_importable_from_package_and_errors_module(name: str) -> None:
    cls = getattr(errors, name)
    assert getattr(vsync_s3_client, name) is cls
    assert issubclass(cls, errors.VSyncError) and issubclass(cls, Exception)
    assert name in vsync_s3_client.__all__ and name in errors.__all__
    assert cls.__doc__


def test_codes_are_unique_and_the_table_is_complete() -> None:
    codes = [getattr(errors, n).code for n in SEVEN]
    assert len(set(codes)) == 7
    assert codes == [CODE[n] for n in SEVEN]
    assert set(errors._BY_CODE) == set(CODE.values())
    assert errors.VSyncError.code == CODE["InternalError"]


def test_error_classes_are_handed_over_at_import_never_imported_at_raise(tmp_path: Path) -> None:
    # No run-time _native <-> errors cycle: errors.py registers its table with the native module
    # once, at import, and raising never imports anything. A fresh process in which the import
    # system refuses vsync_s3_client.errors after the package loaded still gets the right class.
    program = (
        "import sys, vsync_s3_client\n"
        "sys.modules['vsync_s3_client.errors'] = None\n"
        "try:\n"
        "    vsync_s3_client.open_with('', 'x')\n"
        "except vsync_s3_client.ConfigMissingError as e:\n"
        "    print(type(e).__name__, e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["ConfigMissingError", CODE["ConfigMissingError"]], out.stderr


def test_the_error_table_is_checked_and_registered_once() -> None:
    with pytest.raises(ValueError, match="no Python class for"):
        _native._register_error_classes({})
    with pytest.raises(TypeError, match="not an exception"):
        _native._register_error_classes({code: int for code in CODE.values()})
    with pytest.raises(RuntimeError, match="already registered"):
        _native._register_error_classes(errors._BY_CODE)


def test_root_is_exception() -> None:
    assert vsync_s3_client.VSyncError.__bases__ == (Exception,)


def test_panic_becomes_vsync_error_not_panic_exception() -> None:
    with pytest.raises(vsync_s3_client.VSyncError) as info:
        _native._panic_for_test()
    assert type(info.value) is vsync_s3_client.VSyncError
    assert info.value.code == CODE["InternalError"]


def test_errors_pickle_round_trip() -> None:
    # Errors cross process boundaries (multiprocessing, Celery): they must pickle.
    try:
        vsync_s3_client.open_with("", "x")
    except vsync_s3_client.ConfigMissingError as e:
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is vsync_s3_client.ConfigMissingError and back.code == e.code and str(back) == str(e)
    else:
        pytest.fail("no error")


def test_open_with_empty_or_none_inputs() -> None:
    for cfg, pw in [("", "p"), (None, "p"), ("vsync-cfg-v1:x", ""), ("vsync-cfg-v1:x", None)]:
        with pytest.raises(vsync_s3_client.ConfigMissingError):
            vsync_s3_client.open_with(cfg, pw)  # type: ignore[arg-type]


def test_config_blob_errors_before_network() -> None:
    with pytest.raises(vsync_s3_client.ConfigMissingError):
        vsync_s3_client.open_with('{"v":1}', "p")
    with pytest.raises(vsync_s3_client.ConfigUnsupportedVersionError):
        vsync_s3_client.open_with("vsync-cfg-v1:abc=", "p")
    with pytest.raises(vsync_s3_client.BundleCorruptError):
        vsync_s3_client.open_with("vsync-cfg-v1:!!!!", "p")


def test_bad_arguments_are_python_errors() -> None:
    with pytest.raises(TypeError):
        vsync_s3_client.open_with("vsync-cfg-v1:x", "p", {"A": 1})  # type: ignore[dict-item]
    for bad in (0, -1, float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError):
            vsync_s3_client.open_with("vsync-cfg-v1:x", "p", timeout=bad)


def test_out_of_range_min_generation_is_a_value_error() -> None:
    # Like a bad timeout (and Java's IllegalArgumentException, Go's ErrInvalidArgument, Node's
    # TypeError), not PyO3's OverflowError from converting to an unsigned 64-bit integer: the
    # core decides (bootstrap::min_generation_from_decimal), before any network.
    for bad in (-1, -(2**70), 2**64, 2**200):
        with pytest.raises(ValueError, match="min_generation must be a non-negative integer") as caught:
            vsync_s3_client.open_with("vsync-cfg-v1:x", "p", min_generation=bad)
        assert not isinstance(caught.value, OverflowError)
        with pytest.raises(ValueError, match="min_generation"):
            vsync_s3_client.open(min_generation=bad)
    for not_an_int in ("3", 1.5):
        with pytest.raises(TypeError):
            vsync_s3_client.open_with("vsync-cfg-v1:x", "p", min_generation=not_an_int)  # type: ignore[arg-type]
    # In range, the open goes on and fails on the config itself.
    for good in (0, 2**64 - 1):
        with pytest.raises(vsync_s3_client.BundleCorruptError):
            vsync_s3_client.open_with("vsync-cfg-v1:x", "p", min_generation=good)


def test_huge_timeouts_are_clamped_not_refused() -> None:
    # Issue 12 #7: the core clamps any finite deadline to 24 h; the open goes on and fails on
    # the config itself.
    for huge in (1e300, 1e20, 2.0**64):
        with pytest.raises(vsync_s3_client.BundleCorruptError):
            vsync_s3_client.open_with("vsync-cfg-v1:x", "p", timeout=huge)
