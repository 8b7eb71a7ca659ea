"""A failing line that names no host is about the dependency its container is configured with
for that role: the flag or env variable whose name shares a word with the line."""

from __future__ import annotations

from assistant.engine.reading import configured_for
from knowledge import match_line

LINE = ('error while discovery OIDC configuration: failed to discover OIDC configuration: '
        'unexpected status "503": <html>')


def _pod(args: list[str]) -> dict[str, object]:
    return {"metadata": {"name": "oauth2-proxy-1", "namespace": "tools"},
            "spec": {"containers": [{"name": "oauth2-proxy", "args": args}]}}


def test_the_flag_of_the_role_the_line_names_is_the_dependency() -> None:
    found = match_line(LINE)
    assert found is not None and found.target is None  # the line itself names no host
    pod = _pod(["--upstream=http://backstage.tools.svc.cluster.local:7007",
                "--redirect-url=https://backstage.example.io/oauth2/callback",
                "--oidc-issuer-url=https://sso.example.io/realms/corp"])
    assert configured_for(found, pod, "oauth2-proxy") == "sso.example.io"


def test_a_flag_that_names_a_secret_is_never_taken_for_the_dependency() -> None:
    found = match_line(LINE)
    assert found is not None
    pod = _pod(["--oidc-client-secret", "s3cr3t-value.example.io:443",
                "--oidc-issuer-url", "https://sso.example.io/realms/corp"])
    assert configured_for(found, pod, "oauth2-proxy") == "sso.example.io"
    alone = _pod(["--oidc-client-secret=s3cr3t-value.example.io:443"])
    assert configured_for(found, alone, "oauth2-proxy") is None


def test_an_address_never_carries_the_password_of_its_userinfo() -> None:
    found = match_line(LINE)
    assert found is not None
    pod = _pod(["--oidc-issuer-url=https://client:P@ss.w0rd@sso.example.io/realms/corp"])
    assert configured_for(found, pod, "oauth2-proxy") == "sso.example.io"
    schemeless = _pod(["--oidc-addr=svc.app:31337@sso.example.io:8443"])
    assert configured_for(found, schemeless, "oauth2-proxy") != "svc.app:31337"


def test_flags_glued_into_one_argument_are_read_one_word_each() -> None:
    found = match_line(LINE)
    assert found is not None
    pod = _pod(["--oidc-issuer-url=http://keycloak --oidc-client-secret=Summer.Time:2024"])
    assert configured_for(found, pod, "oauth2-proxy") is None
