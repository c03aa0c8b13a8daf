"""The public surface is exactly what is intended (API.md names are fixed)."""

from __future__ import annotations

import msal_mi_async

API_MD_NAMES = {
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
    "ManagedIdentityClient",
    "SyncManagedIdentityClient",
    "AccessTokenResult",
    "TokenSource",
    "ManagedIdentitySourceKind",
    "MemoryTokenCache",
    "ManagedIdentityError",
    "ManagedIdentitySource",
    "Middleware",
}


def test_api_md_names_are_exported() -> None:
    assert set(msal_mi_async.__all__) >= API_MD_NAMES


def test_all_is_sorted_unique_and_importable() -> None:
    names = msal_mi_async.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(msal_mi_async, name), name


def test_public_classes_are_defined_in_the_package() -> None:
    classes = [getattr(msal_mi_async, name) for name in msal_mi_async.__all__]
    for member in classes:
        if isinstance(member, type):
            assert member.__module__.startswith("msal_mi_async._"), member
