"""Redaction: no secret of any kind survives, placeholders are stable and map back."""

from __future__ import annotations

import time

import pytest

from bifrost.llm.redact import Redactor

# (kind, text with the secret, the secret itself). All values are made up.
PLANTED = [
    ("key", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("key", "using ASIAY34FZKBOKMUTVV7A for sts", "ASIAY34FZKBOKMUTVV7A"),
    (
        "secret",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "secret",
        "AWS secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "key",
        "maps?key=AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    ),
    (
        "key",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
        '-----END PRIVATE KEY-----\\n", "client_id": "1"}',
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    (
        "key",
        "DefaultEndpointsProtocol=https;AccountName=acct;"
        "AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy+/==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy+/==",
    ),
    (
        "token",
        "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=abcDEF123%2Bxyz%3D&se=1",
        "abcDEF123%2Bxyz%3D",
    ),
    ("token", "Authorization: Bearer abc123.def456-ghi789", "abc123.def456-ghi789"),
    (
        "token",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF",
    ),
    ("password", "connecting to postgres://alice:s3cr3t!@db.internal:5432/app", "s3cr3t!"),
    ("password", "DB_PASSWORD=hunter22", "hunter22"),
    ("password", "passwd: 'correct horse'", "correct horse"),
    ("password", "login pwd=Tr0ub4dor", "Tr0ub4dor"),
    ("secret", "client_secret=abcSecretValue", "abcSecretValue"),
    ("token", "GITHUB_TOKEN: tok-value-1", "tok-value-1"),
    ("key", "x-api-key: k-123-value", "k-123-value"),
    ("key", "apikey=zzzApiKeyValue", "zzzApiKeyValue"),
    ("token", '{"access_token": "ya29.a0AfH6SMBx"}', "ya29.a0AfH6SMBx"),
    (
        "key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\nshort\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAx",
    ),
    (
        "token",
        "push with ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    (
        "token",
        "gho_0123456789abcdefghijABCDEFGHIJ012345",
        "gho_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    (
        "token",
        "ghs_0123456789abcdefghijABCDEFGHIJ012345",
        "ghs_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    (
        "token",
        "ghu_0123456789abcdefghijABCDEFGHIJ012345",
        "ghu_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    (
        "token",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    ),
    ("token", "slack xoxb-1234567890-0987654321-AbCdEfGh", "xoxb-1234567890-0987654321-AbCdEfGh"),
    ("token", "slack xoxp-1234567890-0987654321-AbCdEfGh", "xoxp-1234567890-0987654321-AbCdEfGh"),
    ("token", "app xapp-1-A0123-456-abcdef0123", "xapp-1-A0123-456-abcdef0123"),
    (
        "secret",
        "POST https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX",
        "T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    ("key", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("secret", "the credential is 8f3Kd9sLq2Zx7Vb1Nm4Pq6Rt", "8f3Kd9sLq2Zx7Vb1Nm4Pq6Rt"),
    ("email", "mail bob.smith+ci@example.co.uk failed", "bob.smith+ci@example.co.uk"),
    ("ip", "upstream 10.0.0.12:443 refused", "10.0.0.12"),
    ("ip", "peer 2001:db8::ff00:42:8329 reset", "2001:db8::ff00:42:8329"),
    ("ip", "ssh [fe80::1%eth0]:22", "fe80::1%eth0"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), PLANTED)
def test_every_planted_secret_is_removed_and_restored(kind: str, text: str, secret: str) -> None:
    redactor = Redactor()
    redacted = redactor.redact(text)
    assert secret not in redacted
    assert f"<{kind.upper()}_" in redacted
    assert [r.kind for r in redactor.redactions] == [kind]
    assert redactor.restore(redacted) == text


def test_all_secrets_in_one_log_leave_nothing_behind() -> None:
    redactor = Redactor()
    redacted = redactor.redact("\n".join(text for _, text, _ in PLANTED))
    for _, _, secret in PLANTED:
        assert secret not in redacted
    assert all(secret not in repr(redactor.redactions) for _, _, secret in PLANTED)


def test_the_same_secret_twice_gets_one_placeholder() -> None:
    redactor = Redactor()
    first = redactor.redact("password=hunter22 from 10.1.1.1")
    second = redactor.redact("retry password=hunter22 from 10.1.1.1 and 10.1.1.2")
    assert first == "password=<PASSWORD_1> from <IP_2>"
    assert second == "retry password=<PASSWORD_1> from <IP_2> and <IP_3>"
    counts = {r.placeholder: r.count for r in redactor.redactions}
    assert counts == {"<PASSWORD_1>": 2, "<IP_2>": 2, "<IP_3>": 1}


def test_harmless_look_alikes_are_kept() -> None:
    text = (
        "v1.2.3.4 pkg==1.2.3.4 build 1.2.3.4.5 at 08:12:44.123 mac 00:1a:2b:3c:4d:5e "
        "std::vector max_tokens=1024 tokenizer=bert num_tokens: 512 "
        "password authentication failed password=${DB_PASS} password=*** "
        "local 127.0.0.1:5432 and ::1 bind 0.0.0.0 image@sha256:abc 999.1.1.1"
    )
    redactor = Redactor()
    assert redactor.redact(text) == text
    assert redactor.redactions == []


def test_a_bare_dotted_quad_counts_as_an_ip() -> None:
    # Indistinguishable from an address: privacy wins over a version's readability.
    assert Redactor().redact("version 1.2.3.4") == "version <IP_1>"


def test_placeholders_already_in_the_log_are_never_handed_out() -> None:
    redactor = Redactor()
    text = "earlier run: <SECRET_1> <PASSWORD_2>; now password=hunter22"
    redacted = redactor.redact(text)
    assert redacted == "earlier run: <SECRET_1> <PASSWORD_2>; now password=<PASSWORD_3>"
    assert redactor.restore(redacted) == text


def test_reserve_protects_later_texts() -> None:
    redactor = Redactor()
    later = "copied from a report: <PASSWORD_1>"
    redactor.reserve(later)
    assert redactor.redact("password=hunter22") == "password=<PASSWORD_2>"
    assert redactor.restore(redactor.redact(later)) == later


def test_restore_leaves_unknown_placeholders_alone() -> None:
    redactor = Redactor()
    redactor.redact("token=abc123")
    assert redactor.restore("<TOKEN_1> and <TOKEN_9>") == "abc123 and <TOKEN_9>"


def test_a_pem_block_keeps_its_line_count() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----\nnext"
    redacted = Redactor().redact(text)
    assert redacted.split("\n") == ["<KEY_1>", "", "", "next"]


def test_kinds_can_be_turned_off() -> None:
    redactor = Redactor(kinds={"password"})
    assert redactor.redact("password=x1 from 10.0.0.1 by a@b.io") == (
        "password=<PASSWORD_1> from 10.0.0.1 by a@b.io"
    )
    with pytest.raises(ValueError, match="unknown redaction kinds: ipv4"):
        Redactor(kinds={"ipv4"})


def test_a_long_run_of_dotted_words_is_fast() -> None:
    # Every part of the run could start a key (`a.b.c.password=`); none may be read to its end.
    line = "a_b.c-" * 3000
    started = time.perf_counter()
    assert Redactor().redact(line) == line
    assert time.perf_counter() - started < 1.0


def test_a_few_thousand_lines_are_fast() -> None:
    lines = "\n".join(
        f"2024-05-14T08:12:{i % 60:02d}Z INFO worker {i} GET /api/v1/items/{i} 200 12ms user=u{i}"
        for i in range(5000)
    )
    started = time.perf_counter()
    Redactor().redact(lines)
    assert time.perf_counter() - started < 2.0
