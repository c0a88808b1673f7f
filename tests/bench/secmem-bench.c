/* secmem-bench.c: the cost of one AEAD seal (what the channel protector
 * does per packet) and one HKDF while K other secrets live in libgcrypt's
 * secure memory, as a server's sessions keep their keys there.  Shows why
 * the server's CPU per login grows with the users online (doc/bench.md,
 * "Login load").  Run by `make bench`; also alone:
 *
 *   build/tests/bench/secmem-bench
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"
#include "crypto-init.h"

#include <stdio.h>
#include <string.h>

#define ITERATIONS 20000

static double
seal_us (void)
{
  guint8 key[CHATD_AEAD_KEY_LEN] = { 1 }, nonce[CHATD_AEAD_NONCE_LEN] = { 2 };
  guint8 plain[100] = { 3 }, sealed[sizeof plain + CHATD_AEAD_TAG_LEN];
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < ITERATIONS; i++)
    {
      nonce[0] = (guint8) i;
      if (!chatd_aead_encrypt (CHATD_AEAD_CHACHA20_POLY1305, key, nonce, NULL, 0, plain, sizeof plain,
                               sealed, NULL))
        return -1;
    }
  return (g_get_monotonic_time () - start) / (double) ITERATIONS;
}

/* what the channel protector does per packet since it keeps one keyed
 * cipher per direction: set the nonce, seal */
static double
context_seal_us (void)
{
  guint8 key[CHATD_AEAD_KEY_LEN] = { 1 }, nonce[CHATD_AEAD_NONCE_LEN] = { 2 };
  guint8 plain[100] = { 3 }, sealed[sizeof plain + CHATD_AEAD_TAG_LEN];
  g_autoptr(ChatdAeadContext) context = chatd_aead_context_new (CHATD_AEAD_CHACHA20_POLY1305, key, NULL);
  if (context == NULL)
    return -1;
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < ITERATIONS; i++)
    {
      nonce[0] = (guint8) i;
      nonce[1] = (guint8) (i >> 8);
      if (!chatd_aead_context_encrypt (context, nonce, NULL, 0, plain, sizeof plain, sealed, NULL))
        return -1;
    }
  return (g_get_monotonic_time () - start) / (double) ITERATIONS;
}

static double
median_of_5 (double (*measure) (void))
{
  double v[5];
  for (guint i = 0; i < 5; i++)
    v[i] = measure ();
  for (guint i = 0; i < 5; i++)
    for (guint j = i + 1; j < 5; j++)
      if (v[j] < v[i])
        {
          double t = v[i];
          v[i] = v[j];
          v[j] = t;
        }
  return v[0] < 0 ? -1 : v[2];
}

static double
hkdf_us (void)
{
  guint8 prk[CHATD_SHA256_LEN];
  ChatdSlice ikm = CHATD_SLICE ("input keying material", 21);
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < ITERATIONS / 4; i++)
    if (!chatd_hkdf_extract (NULL, 0, &ikm, 1, prk, NULL))
      return -1;
  return (g_get_monotonic_time () - start) / (double) (ITERATIONS / 4);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  if (!chatd_crypto_init (&error))
    {
      g_printerr ("secmem-bench: %s\n", error->message);
      return 1;
    }
  static const guint live[] = { 0, 100, 1000, 2000, 4000 };
  g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_secret_free);
  printf ("secmem-bench: µs per operation with K live 32-byte secrets in secure memory\n");
  printf ("(medians of 5 runs of %u; 'seal' sets up a cipher per call as the channel did before,\n"
          " 'context seal' reuses one keyed cipher as the channel does now)\n", ITERATIONS);
  printf ("%8s %12s %14s %12s\n", "K", "AEAD seal", "context seal", "HKDF extract");
  double first = 0, last = 0, context_first = 0, context_last = 0;
  for (guint i = 0; i < G_N_ELEMENTS (live); i++)
    {
      while (secrets->len < live[i])
        g_ptr_array_add (secrets, chatd_secret_new_random (32));
      double seal = median_of_5 (seal_us), context = median_of_5 (context_seal_us),
             hkdf = median_of_5 (hkdf_us);
      if (seal < 0 || hkdf < 0 || context < 0)
        {
          g_printerr ("secmem-bench: an operation failed\n");
          return 1;
        }
      printf ("%8u %12.2f %14.2f %12.2f\n", live[i], seal, context, hkdf);
      if (i == 0)
        {
          first = seal;
          context_first = context;
        }
      last = seal;
      context_last = context;
    }
  printf ("AEAD seal with %u live secrets costs %.1fx the cost with none\n",
          live[G_N_ELEMENTS (live) - 1], first > 0 ? last / first : 0);
  printf ("context seal with %u live secrets costs %.1fx the cost with none\n",
          live[G_N_ELEMENTS (live) - 1], context_first > 0 ? context_last / context_first : 0);
  return 0;
}
