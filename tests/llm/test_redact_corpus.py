"""The redaction corpus: for every rule, log text it must redact and look-alikes it must keep.

A case is one line. A true positive is (rule, log text, what the model is sent), placeholders
numbered from 1 as the rules, in order, hand them out; a true negative is (rule, log text),
sent exactly as it is, the rule naming the look-alike it guards against. All values are made
up. The hard cases decided in `bifrost.llm.redact` are here too (`version=1.2.3.4` is kept,
`version 1.2.3.4` in prose is not).
"""

# One case per line, however long: adding a case is adding a line.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from bifrost.llm.redact import Redactor

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF"
AZURE = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFy+/=="
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

POSITIVES: list[tuple[str, str, str]] = [
    ("private key", PEM, "<KEY_1>\n\n"),
    ("private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE", "<KEY_1>\n"),
    ("private key", '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----"}', '{"private_key": "<KEY_1>"}'),
    ("url password", "https://user:pass@host/x", "https://user:<PASSWORD_1>@host/x"),
    ("url password", "jdbc:postgresql://app:S3cr3t@db:5432/orders", "jdbc:postgresql://app:<PASSWORD_1>@db:5432/orders"),
    ("url password", "redis://:hunter22@cache:6379/0", "redis://:<PASSWORD_1>@cache:6379/0"),
    ("slack webhook", "POST https://hooks.slack.com/services/T0001/B0001/XXXXXXXX", "POST https://hooks.slack.com/services/<SECRET_1>"),
    ("jwt", f"jwt {JWT} expired", "jwt <TOKEN_1> expired"),
    ("jwt", f'{{"jwt":"{JWT}"}}', '{"jwt":"<TOKEN_1>"}'),
    ("azure key", f"{AZURE};EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<KEY_1>;EndpointSuffix=core.windows.net"),
    ("sas signature", "GET /c/b?sv=2022-11-02&sig=abcDEF123%2Bxyz%3D&se=1", "GET /c/b?sv=2022-11-02&sig=<TOKEN_1>&se=1"),
    ("auth scheme", "Authorization: Bearer abc123.def456-ghi789", "Authorization: Bearer <TOKEN_1>"),
    ("auth scheme", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <TOKEN_1>"),
    ("auth scheme", "Proxy-Authorization: Basic YWxhZGRpbjpvcGVu", "Proxy-Authorization: Basic <TOKEN_1>"),
    ("aws access key", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "aws_access_key_id=<KEY_1>"),
    ("aws access key", "using ASIAY34FZKBOKMUTVV7A for sts", "using <KEY_1> for sts"),
    ("google api key", "maps?key=AIzaSyA-1234567890abcdefghijklmnopqrstu", "maps?key=<KEY_1>"),
    ("github token", "push with ghp_0123456789abcdefghijABCDEFGHIJ012345", "push with <TOKEN_1>"),
    ("github token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "<TOKEN_1>"),
    ("slack token", "slack xoxb-1234567890-0987654321-AbCdEfGh", "slack <TOKEN_1>"),
    ("stripe key", "stripe rk_test_4eC39HqLyjWDarjtT1zdp7dc", "stripe <KEY_1>"),
    ("aws secret", "AWS secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret: <SECRET_1>"),
    ("password=", "DB_PASSWORD=hunter22", "DB_PASSWORD=<PASSWORD_1>"),
    ("password=", "PGPASSWORD=s3cr3t psql -h db", "PGPASSWORD=<PASSWORD_1> psql -h db"),
    ("password=", "dbPassword=hunter22", "dbPassword=<PASSWORD_1>"),
    ("password=", '{"user": "app", "password": "correct horse"}', '{"user": "app", "password": "<PASSWORD_1>"}'),
    ("password=", "spring.datasource.password: s3cret", "spring.datasource.password: <PASSWORD_1>"),
    ("password=", "?user=app&password=s3cret&sslmode=require", "?user=app&password=<PASSWORD_1>&sslmode=require"),
    ("password=", "mysql --password=hunter22", "mysql --password=<PASSWORD_1>"),
    ("key=", "x-api-key: k-123-value", "x-api-key: <KEY_1>"),
    ("key=", '{"api_key": "zzzApiKeyValue"}', '{"api_key": "<KEY_1>"}'),
    ("secret=", "client_secret=abcSecretValue", "client_secret=<SECRET_1>"),
    ("token=", "X-Auth-Token: abcdef123", "X-Auth-Token: <TOKEN_1>"),
    ("token=", '{"access_token":"ya29.a0AfH6SMBx"}', '{"access_token":"<TOKEN_1>"}'),
    ("cookie", "Cookie: session=abc123def456; theme=dark", "Cookie: <TOKEN_1>"),
    ("cookie", f'{{"cookie": "sid={JWT}; csrftoken=x1", "host": "a"}}', '{"cookie": "<TOKEN_1>", "host": "a"}'),
    ("set-cookie", "set-cookie: JSESSIONID=8F3A2B; Path=/; HttpOnly", "set-cookie: <TOKEN_1>; Path=/; HttpOnly"),
    ("generic", "the credential is 8f3Kd9sLq2Zx7Vb1Nm4Pq6Rt", "the credential is <SECRET_1>"),
    ("generic", "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "Authorization: Token <SECRET_1>"),
    ("generic", "api key rejected: 4f9a8c7e2b1d6f3a0e5c9b8a7d6e5f4a", "api key rejected: <SECRET_1>"),
    ("base64 blob", f"{PEM_BODY}\n{PEM_BODY[::-1]}", "<SECRET_1>\n<SECRET_2>"),
    ("email", "mail bob.smith+ci@example.co.uk failed", "mail <EMAIL_1> failed"),
    ("email", "user=alice@example.com", "user=<EMAIL_1>"),
    ("email", "From: On Call <oncall@example.org>", "From: On Call <<EMAIL_1>>"),
    ("ipv4", "host=10.12.0.5 client_ip=198.51.100.7", "host=<IP_1> client_ip=<IP_2>"),
    ("ipv4", '{"ip":"203.0.113.9"} ip: 203.0.113.10', '{"ip":"<IP_1>"} ip: <IP_2>'),
    ("ipv4", "peer [203.0.113.9]:443 (10.0.0.1) addr='192.168.1.20'", "peer [<IP_1>]:443 (<IP_2>) addr='<IP_3>'"),
    ("ipv4", "X-Forwarded-For: 203.0.113.9, 10.0.0.1", "X-Forwarded-For: <IP_1>, <IP_2>"),
    ("ipv4", "upstream 10.0.0.12:443 refused; cidr=10.0.0.0/8", "upstream <IP_1>:443 refused; cidr=<IP_2>/8"),
    # Prose: nothing tells a version from an address, and privacy wins (a key does: negatives).
    ("ipv4", "version 1.2.3.4", "version <IP_1>"),
    ("ipv6", "peer 2001:db8::ff00:42:8329 reset", "peer <IP_1> reset"),
    ("ipv6", "ip=2001:db8::1 peer:2001:db8::2", "ip=<IP_1> peer:<IP_2>"),
    ("ipv6", 'addr=[2001:db8::1]:80 "ip":"2001:db8::3"', 'addr=[<IP_1>]:80 "ip":"<IP_2>"'),
    ("ipv6", "ssh [fe80::1%eth0]:22", "ssh [<IP_1>]:22"),
    ("ipv6", "from ::ffff:203.0.113.9", "from ::ffff:<IP_1>"),
]  # fmt: skip

NEGATIVES: list[tuple[str, str]] = [
    ("private key", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----"),
    ("private key", "-----BEGIN PUBLIC KEY-----"),
    ("url password", "GET https://example.com:8443/health"),
    ("url password", "proxy http://user@proxy:3128 refused"),
    ("slack webhook", "see https://api.slack.com/messaging/webhooks"),
    ("jwt", "decoded header eyJhbGciOiJIUzI1NiJ9"),
    ("azure key", "missing AccountKey in connection string"),
    ("sas signature", "checking sig=12345678 of block 7"),
    ("auth scheme", "HTTP Basic authentication failed"),
    ("auth scheme", 'WWW-Authenticate: Bearer realm="api", error="invalid_token"'),
    ("auth scheme", "using bearer tokens"),
    ("aws access key", "the AKIA prefix marks a long-term key"),
    ("google api key", "AIzaSy is a prefix"),
    ("github token", "deploy to gh-pages with ghp_ tokens"),
    ("slack token", "xoxb- tokens are bot tokens"),
    ("stripe key", "publishable pk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("aws secret", "AWS secret rotation succeeded"),
    ("password=", "password authentication failed for user app"),
    ("password=", "password=${DB_PASS} password=*** password=<redacted>"),
    ("password=", "password_expiry_days=90"),
    ("key=", "max_tokens=1024 monkey=1 hotkey=F5"),
    ("secret=", "secretName: db-credentials secret_name=db"),
    ("token=", "tokenizer=bert num_tokens: 512 token_count=5"),
    ("cookie", "cookie consent banner shown; cookies disabled"),
    ("cookie", "Cookie: ***"),
    ("set-cookie", "no set-cookie header in the response"),
    ("generic", "Authentication failed for [org/springframework/boot/loader/LaunchedURLClassLoader.class]"),
    ("generic", "Secret com/acme/security/token/JwtTokenProviderImpl loaded"),
    ("generic", "org.springframework.security.authentication.BadCredentialsException: Bad credentials"),
    ("generic", "token expired after 3600 seconds"),
    ("generic", "request_id=123e4567-e89b-12d3-a456-426614174000 trace_id=4bf92f3577b34da6a3ce929d0e0e4736"),
    ("generic", "HEAD is now at 1df06ef Merge 224cb433e56bdde784538e9555fbad701aa728ec"),
    ("base64 blob", f"pull image@sha256:{SHA256}"),
    ("base64 blob", "class path resource [org/springframework/boot/autoconfigure/security/servlet/SpringBootWebSecurityConfiguration.class]"),
    ("base64 blob", "at /home/runner/work/app/src/main/java/com/acme/auth/AuthenticationService.java:42"),
    ("email", "lodash@4.17.21 k8s.io/client-go@v0.27.3/tools/cache @Override user@localhost"),
    ("email", f"image@sha256:{SHA256[:12]}"),
    ("ipv4", "version=1.2.3.4 kernel_version: 5.15.0.1"),
    ("ipv4", '"appVersion": "4.0.0.0"'),
    ("ipv4", "System.Runtime, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a"),
    ("ipv4", "v1.2.3.4 pkg==1.2.3.4 requests>=2.31.0.1 foo~=1.2.3.4 pkg-1.2.3.4 build 1.2.3.4.5"),
    ("ipv4", "999.1.1.1 01.02.03.04"),
    ("ipv4", "connect to 127.0.0.1:5432 refused; bind 0.0.0.0:8080"),
    ("ipv6", "local ::1 port 5432; listen [::]:80"),
    ("ipv6", "mac 00:1a:2b:3c:4d:5e std::vector<int> a::b"),
    ("ipv6", "2024-05-14T08:12:44.123456Z 14/May/2024:08:12:44 +0000"),
    ("ipv6", "E0514 08:12:44.123456   12345 reflector.go:138] watch failed"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "text", "sent"), POSITIVES)
def test_a_true_positive_is_replaced_and_comes_back(rule: str, text: str, sent: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == sent, rule
    assert redactor.restore(f"The log says: {sent}") == f"The log says: {text}"


@pytest.mark.parametrize(("rule", "text"), NEGATIVES)
def test_a_true_negative_is_sent_as_it_is(rule: str, text: str) -> None:
    redactor = Redactor()
    assert redactor.redact(text) == text, rule
    assert redactor.redactions == []


def test_every_rule_has_true_positives_and_true_negatives() -> None:
    assert {rule for rule, _, _ in POSITIVES} == {rule for rule, _ in NEGATIVES}


def test_the_whole_corpus_in_one_log_comes_back_whole() -> None:
    log = "\n".join([*(text for _, text, _ in POSITIVES), *(text for _, text in NEGATIVES)])
    redactor = Redactor()
    redacted = redactor.redact(log)
    assert redacted.count("\n") == log.count("\n")  # line numbers still hold
    for _, text in NEGATIVES:
        assert text in redacted
    assert redactor.restore(redacted) == log
