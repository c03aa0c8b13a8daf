from __future__ import annotations

import pytest

from msal_mi_async import (
    ErrorCode,
    IdentityKind,
    InvalidResourceError,
    ManagedIdentityError,
    SystemAssignedManagedIdentity,
    UserAssignedManagedIdentity,
)
from msal_mi_async._scopes import resource_from_scopes


def test_system_assigned_is_a_frozen_value() -> None:
    assert SystemAssignedManagedIdentity() == SystemAssignedManagedIdentity()
    assert SystemAssignedManagedIdentity().kind is IdentityKind.SYSTEM_ASSIGNED
    assert SystemAssignedManagedIdentity().value is None


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"client_id": "c1"}, IdentityKind.CLIENT_ID),
        ({"resource_id": "/subscriptions/s/rg/x"}, IdentityKind.RESOURCE_ID),
        ({"object_id": "o1"}, IdentityKind.OBJECT_ID),
    ],
)
def test_user_assigned_takes_exactly_one_selector(
    kwargs: dict[str, str], kind: IdentityKind
) -> None:
    identity = UserAssignedManagedIdentity(**kwargs)
    assert identity.kind is kind
    assert identity.value == next(iter(kwargs.values()))
    assert identity == UserAssignedManagedIdentity(**kwargs)
    assert hash(identity) == hash(UserAssignedManagedIdentity(**kwargs))
    with pytest.raises(AttributeError):
        identity.value = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"client_id": "a", "object_id": "b"}, {"client_id": "  "}, {"client_id": ""}],
)
def test_user_assigned_rejects_zero_or_several_selectors(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"client_id=\.\.\., resource_id=\.\.\. or object_id"):
        UserAssignedManagedIdentity(**kwargs)


@pytest.mark.parametrize(
    ("given", "resource"),
    [
        ("https://management.azure.com", "https://management.azure.com"),
        ("https://management.azure.com/", "https://management.azure.com/"),
        ("https://management.azure.com/.default", "https://management.azure.com"),
        ("https://management.azure.com//.default", "https://management.azure.com/"),
        (["https://vault.azure.net/.default"], "https://vault.azure.net"),
        ("  api://my-app  ", "api://my-app"),
    ],
)
def test_resource_from_scope(given: str | list[str], resource: str) -> None:
    assert resource_from_scopes(given) == resource


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "the resource is empty"),
        ("   ", "the resource is empty"),
        (".default", "'.default' alone"),
        ("/.default", "'.default' alone"),
        ("https://a/.default https://b/.default", "several scopes"),
        (["https://a/.default", "https://b/.default"], "exactly one scope, got 2"),
        ([], "exactly one scope, got 0"),
    ],
)
def test_bad_resources_raise_a_value_error_showing_the_right_form(
    given: str | list[str], problem: str
) -> None:
    with pytest.raises(InvalidResourceError) as info:
        resource_from_scopes(given)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ManagedIdentityError)
    assert info.value.error_code == ErrorCode.INVALID_RESOURCE
    assert problem in str(info.value)
    assert "https://management.azure.com/.default" in str(info.value)
