"""The public testing helpers: assert_requests and the mi_emulator pytest plugin."""

from __future__ import annotations

import pytest

from msal_mi_async import MemoryTokenCache, SyncManagedIdentityClient
from msal_mi_async.emulator import Emulator
from msal_mi_async.testing import assert_requests

STORAGE = "https://storage.azure.com"
VAULT = "https://vault.azure.net"


def _acquire(*resources: str) -> None:
    with SyncManagedIdentityClient(token_cache=MemoryTokenCache()) as client:
        for resource in resources:
            client.acquire_token(resource)


def test_assert_requests_counts_with_filters(mi_emulator: Emulator) -> None:
    _acquire(STORAGE, VAULT, STORAGE)
    assert len(assert_requests(mi_emulator, 2)) == 2  # the client cached the second STORAGE
    (vault,) = assert_requests(mi_emulator, 1, source="imds", resource=VAULT)
    assert vault.query["resource"] == VAULT
    assert_requests(mi_emulator, 0, source="app_service")


def test_assert_requests_failure_lists_what_arrived(mi_emulator: Emulator) -> None:
    _acquire(STORAGE)
    with pytest.raises(AssertionError) as caught:
        assert_requests(mi_emulator, 2, resource=STORAGE)
    assert str(caught.value) == (
        f"expected 2 request(s) with source=any resource={STORAGE}, got 1; received:\n"
        f"  GET /metadata/identity/oauth2/token source=imds resource={STORAGE}"
    )


def test_assert_requests_on_an_idle_emulator(mi_emulator: Emulator) -> None:
    with pytest.raises(AssertionError, match=r"got 0; received:\n  \(none\)$"):
        assert_requests(mi_emulator, 1)


@pytest.mark.parametrize("mi_emulator", ["app_service"], indirect=True)
def test_mi_emulator_takes_another_source(mi_emulator: Emulator) -> None:
    _acquire(STORAGE)
    assert_requests(mi_emulator, 1, source="app_service")


PLUGIN_USER = """
from msal_mi_async import SyncManagedIdentityClient
from msal_mi_async.testing import assert_requests

def test_first(mi_emulator):
    with SyncManagedIdentityClient() as client:       # the process-wide cache
        client.acquire_token("https://storage.azure.com")
    assert_requests(mi_emulator, 1)

def test_second_starts_with_an_empty_cache(mi_emulator):
    with SyncManagedIdentityClient() as client:
        client.acquire_token("https://storage.azure.com")
    assert_requests(mi_emulator, 1)

def test_counts_are_exact(mi_emulator):
    assert_requests(mi_emulator, 3)
"""


def test_plugin_is_registered_and_isolates_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=PLUGIN_USER)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*expected 3 request(s) with source=any resource=any, got 0*"])
