#!/usr/bin/env python3
# independent-check.py: re-checks the byte layouts of doc/protocol.md
# ("Crypto suites") with another implementation (Python "cryptography", on
# OpenSSL), from the checked-in vectors and seeds only:
#
#  - suite "rsa": parse the private key blob, verify the PSS vector, open the
#    OAEP + AES-256-GCM vector;
#  - suite "25519": rebuild the public blob (Ed25519 and X25519 public keys,
#    binding signature) from the private blob and compare it with the one
#    chatd exported; open the HPKE vector with a from-scratch RFC 9180 base
#    mode (HKDF on HMAC);
#  - password wrapping: unwrap the seed blob (user Alice, password Alice)
#    with Argon2id + AES-256-GCM and compare with the private key blob.
#
# usage: independent-check.py SOURCE_ROOT     (exit 77: skipped)
# SPDX-License-Identifier: LGPL-2.1-or-later
import hashlib
import hmac
import os
import re
import struct
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
except ImportError:
    print("# python3 cryptography not installed: skipped")
    sys.exit(77)

root = sys.argv[1]


def c_array(path, name):
    text = open(os.path.join(root, path)).read()
    m = re.search(r"\b%s\[\d*\]\s*=\s*\{(.*?)\};" % re.escape(name), text, re.S)
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", m.group(1)))


def c_define(path, name):
    text = open(os.path.join(root, path)).read()
    m = re.search(r'#define %s\s+((?:"[^"]*"\s*\\?\s*)+)' % name, text)
    return "".join(re.findall(r'"([^"]*)"', m.group(1))).encode()


def parse_blob(blob, suite, kind):
    assert blob[:4] == b"CHDK" and blob[4] == 1 and blob[5] == kind, "envelope"
    n = blob[6]
    assert blob[7:7 + n] == suite.encode(), "suite name"
    (body_len,) = struct.unpack(">H", blob[7 + n:9 + n])
    body = blob[9 + n:]
    assert len(body) == body_len, "exact length"
    return body


def blob(suite, kind, body):
    return b"CHDK" + bytes([1, kind, len(suite)]) + suite.encode() + struct.pack(">H", len(body)) + body


def rsa_numbers(body, count):
    out, pos = [], 0
    for _ in range(count):
        (n,) = struct.unpack(">H", body[pos:pos + 2])
        assert n > 0 and body[pos + 2] != 0, "canonical number"
        out.append(int.from_bytes(body[pos + 2:pos + 2 + n], "big"))
        pos += 2 + n
    assert pos == len(body)
    return out


def check_rsa():
    kat = "plugins/suite-rsa/kat-rsa.c"
    priv = c_array(kat, "chatd_suite_rsa_kat_private")
    n, e, d, p, q, u = rsa_numbers(parse_blob(priv, "rsa", 2), 6)
    assert p < q and (u * p) % q == 1, "u = p^-1 mod q"
    key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                rsa.RSAPublicNumbers(e, n)).private_key()
    k = (n.bit_length() + 7) // 8
    sig = c_array(kat, "pss_signature")
    msg = c_define("tests/crypto/rsa-kat-inputs.h", "RSA_KAT_MESSAGE")
    key.public_key().verify(sig, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    sealed = c_array(kat, "oaep_sealed")
    kn = key.decrypt(sealed[:k], padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    assert len(kn) == 44
    aad = c_define("tests/crypto/rsa-kat-inputs.h", "RSA_KAT_AAD")
    pt = AESGCM(kn[:32]).decrypt(kn[32:], sealed[k:], aad)
    assert pt == c_define("tests/crypto/rsa-kat-inputs.h", "RSA_KAT_PLAINTEXT")
    print("ok rsa: key blob, PSS signature, OAEP + AES-256-GCM sealed message")


def hkdf_extract(salt, ikm):
    return hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def hpke_open_base(skR, enc, ct, info, aad):
    kem_id = b"KEM\x00\x20"
    hpke_id = b"HPKE\x00\x20\x00\x01\x00\x03"
    lx = lambda sid, salt, label, ikm: hkdf_extract(salt, b"HPKE-v1" + sid + label + ikm)
    le = lambda sid, prk, label, info_, n: hkdf_expand(prk, struct.pack(">H", n) + b"HPKE-v1" + sid + label + info_, n)
    sk = x25519.X25519PrivateKey.from_private_bytes(skR)
    pkR = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    dh = sk.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    shared = le(kem_id, lx(kem_id, b"", b"eae_prk", dh), b"shared_secret", enc + pkR, 32)
    ctx = b"\x00" + lx(hpke_id, b"", b"psk_id_hash", b"") + lx(hpke_id, b"", b"info_hash", info)
    secret = lx(hpke_id, shared, b"secret", b"")
    key = le(hpke_id, secret, b"key", ctx, 32)
    nonce = le(hpke_id, secret, b"base_nonce", ctx, 12)
    return ChaCha20Poly1305(key).decrypt(nonce, ct, aad)


def raw(public_key):
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_25519():
    corpus = os.path.join(root, "tests/fuzz/corpus/keyblob")
    priv = open(os.path.join(corpus, "25519-private"), "rb").read()
    body = parse_blob(priv, "25519", 2)
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(body[:32])
    ed_pub = raw(ed.public_key())
    x_pub = raw(x25519.X25519PrivateKey.from_private_bytes(body[32:]).public_key())
    binding = ed.sign(b"chatd/1/suite-25519/binding\0" + ed_pub + x_pub)
    rebuilt = blob("25519", 1, ed_pub + x_pub + binding)
    assert rebuilt == open(os.path.join(corpus, "25519-public"), "rb").read(), "public blob"
    assert hashlib.sha256(rebuilt).hexdigest()  # the fingerprint is this digest

    kat = "plugins/suite-25519/kat-25519.c"
    key_body = parse_blob(c_array(kat, "chatd_suite_25519_kat_private"), "25519", 2)
    sealed = c_array(kat, "open_sealed")
    pt = hpke_open_base(key_body[32:], sealed[:32], sealed[32:], b"chatd/1/suite-25519/seal",
                        c_array(kat, "open_aad"))
    assert pt == c_define(kat, "OPEN_PLAINTEXT")
    print("ok 25519: public blob and binding rebuilt, HPKE sealed message opened")


def check_wrap():
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:
        print("# no Argon2id in this cryptography: wrapped blob not checked")
        return
    corpus = os.path.join(root, "tests/fuzz/corpus/keyblob")
    w = open(os.path.join(corpus, "wrapped-25519"), "rb").read()
    assert len(w) == 2109 and w[:4] == b"CHDW" and w[4] == 1
    t, m, p = struct.unpack(">III", w[5:17])
    salt, nonce = w[17:33], w[33:45]
    k = Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m).derive(b"Alice")
    aad = w[:45] + bytes([5]) + b"Alice" + bytes([5]) + b"25519"
    payload = AESGCM(k).decrypt(nonce, w[45:], aad)
    (n,) = struct.unpack(">H", payload[:2])
    assert payload[2:2 + n] == open(os.path.join(corpus, "25519-private"), "rb").read()
    assert payload[2 + n:] == b"\0" * (2046 - n)
    print("ok wrap: Argon2id (t=%d m=%d p=%d) + AES-256-GCM unwrapped the seed blob" % (t, m, p))


check_rsa()
check_25519()
check_wrap()
