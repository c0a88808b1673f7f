/* crypto-bench.c: operations per second of each suite (key generation,
 * sign, verify, seal and open of 100 B and 64 KiB) and of the password KDF,
 * printed as a table.  Run by `make bench`; also directly:
 *
 *   build/tests/bench/crypto-bench [--quick]
 *
 * Each operation runs until about 0.5 s (--quick: 0.1 s) have passed or its
 * iteration cap is reached; RSA key generation is capped at a few keys.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <gcrypt.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const ChatdSuite *suite;
  guint             bits;
  ChatdKey         *key;
  ChatdKey         *public_key;
  const guint8     *msg;
  gsize             msg_len;
  GBytes           *sig;
  GBytes           *sealed;
} Bench;

typedef gboolean (*BenchOp) (Bench *b);

static double budget_s = 0.5;

static gboolean
op_keygen (Bench *b)
{
  ChatdKey *k = b->suite->generate (b->suite, b->bits, NULL);
  chatd_key_free (k);
  return k != NULL;
}

static gboolean
op_sign (Bench *b)
{
  GBytes *sig = b->suite->sign (b->key, b->msg, b->msg_len, NULL);
  if (sig == NULL)
    return FALSE;
  g_clear_pointer (&b->sig, g_bytes_unref);
  b->sig = sig;
  return TRUE;
}

static gboolean
op_verify (Bench *b)
{
  return b->suite->verify (b->public_key, b->msg, b->msg_len, g_bytes_get_data (b->sig, NULL),
                           g_bytes_get_size (b->sig), NULL);
}

static gboolean
op_seal (Bench *b)
{
  GBytes *sealed = b->suite->seal (b->public_key, (const guint8 *) "aad", 3, b->msg, b->msg_len, NULL);
  if (sealed == NULL)
    return FALSE;
  g_clear_pointer (&b->sealed, g_bytes_unref);
  b->sealed = sealed;
  return TRUE;
}

static gboolean
op_open (Bench *b)
{
  GBytes *opened = b->suite->open (b->key, (const guint8 *) "aad", 3,
                                   g_bytes_get_data (b->sealed, NULL),
                                   g_bytes_get_size (b->sealed), NULL);
  gboolean ok = opened != NULL && g_bytes_get_size (opened) == b->msg_len;
  g_clear_pointer (&opened, g_bytes_unref);
  return ok;
}

static gboolean
op_check (Bench *b)
{
  return chatd_suite_check (b->suite, NULL);
}

static void
run (Bench *b, const char *what, BenchOp op, guint max_iterations)
{
  gint64 start = g_get_monotonic_time (), now = start;
  guint n = 0;
  double seconds;

  while (n < max_iterations && (n == 0 || (now - start) < budget_s * G_USEC_PER_SEC))
    {
      if (!op (b))
        {
          printf ("%-6s %5u  %-20s FAILED\n", b->suite->name, b->bits, what);
          return;
        }
      n++;
      now = g_get_monotonic_time ();
    }
  seconds = (now - start) / (double) G_USEC_PER_SEC;
  printf ("%-6s %5u  %-20s %12.1f %12.1f %8u\n", b->suite->name, b->bits, what,
          n / seconds, seconds * 1e6 / n, n);
}

static void
bench_suite (const ChatdSuite *suite, guint bits, guint keygen_cap)
{
  Bench b = { suite, bits, NULL, NULL, NULL, 0, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  static const gsize sizes[] = { 100, 64 * 1024 };
  g_autofree guint8 *msg = g_malloc (64 * 1024);

  gcry_create_nonce (msg, 64 * 1024);
  b.msg = msg;
  run (&b, "known-answer check", op_check, 1000);
  run (&b, "keygen", op_keygen, keygen_cap);
  b.key = suite->generate (suite, bits, &error);
  g_assert_no_error (error);
  blob = suite->export_public (b.key, &error);
  b.public_key = suite->import_public (suite, g_bytes_get_data (blob, NULL),
                                       g_bytes_get_size (blob), &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      char name[32];
      const char *size_name = sizes[i] == 100 ? "100 B" : "64 KiB";

      /* signatures are over short domain-separated digests; sign the
       * 100-byte message only (CHATD_SIGN_MESSAGE_MAX) */
      b.msg_len = sizes[i];
      if (sizes[i] <= CHATD_SIGN_MESSAGE_MAX)
        {
          g_snprintf (name, sizeof name, "sign %s", size_name);
          run (&b, name, op_sign, 100000);
          g_snprintf (name, sizeof name, "verify %s", size_name);
          run (&b, name, op_verify, 100000);
        }
      g_snprintf (name, sizeof name, "seal %s", size_name);
      run (&b, name, op_seal, 100000);
      g_snprintf (name, sizeof name, "open %s", size_name);
      run (&b, name, op_open, 100000);
    }
  g_clear_pointer (&b.sig, g_bytes_unref);
  g_clear_pointer (&b.sealed, g_bytes_unref);
  chatd_key_free (b.key);
  chatd_key_free (b.public_key);
}

static void
bench_kdf (void)
{
  ChatdKdfParams params = CHATD_KDF_DEFAULT_PARAMS;
  guint8 salt[16] = { 0 }, out[32];
  guint n = 0;
  gint64 start = g_get_monotonic_time (), now = start;
  double seconds;

  while (n < 20 && (n == 0 || (now - start) < 2 * budget_s * G_USEC_PER_SEC))
    {
      if (!chatd_argon2id (&params, (const guint8 *) "password", 8, salt, sizeof salt,
                           NULL, 0, NULL, 0, out, sizeof out, NULL))
        {
          printf ("argon2id FAILED\n");
          return;
        }
      n++;
      now = g_get_monotonic_time ();
    }
  seconds = (now - start) / (double) G_USEC_PER_SEC;
  printf ("%-6s %5s  %-20s %12.1f %12.1f %8u\n", "kdf", "-", "argon2id 64MiB t=3 p=1",
          n / seconds, seconds * 1e6 / n, n);
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--quick") == 0)
    budget_s = 0.1;
  if (!chatd_crypto_init (NULL))
    return 1;

  printf ("%-6s %5s  %-20s %12s %12s %8s\n", "suite", "bits", "operation", "ops/s", "us/op", "runs");
  bench_suite (&chatd_suite_rsa, 3072, 3);
  bench_suite (&chatd_suite_rsa, 2048, 5);
  bench_suite (&chatd_suite_25519, 256, 100000);
  bench_kdf ();
  return 0;
}
