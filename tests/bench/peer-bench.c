/* peer-bench.c: the cost of peer sessions (daemon/peer): one handshake, and
 * seal + open of a 100-byte message (ratchet step, AEAD, message framing,
 * each side), in process, one core.  Prints medians of 5 runs.  Run by
 * `make bench`; also alone:
 *
 *   build/tests/bench/peer-bench [--messages N] [--live-secrets K]
 *
 * --live-secrets K first puts K other 32-byte secrets in libgcrypt's secure
 * memory, as a node with many sessions has (tests/bench/secmem-bench shows
 * why that matters for code that allocates secure memory per operation).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "auth-message.h"
#include "peer-handshake.h"
#include "suite-25519.h"

#include <stdio.h>
#include <string.h>

#define RUNS 5

static ChatdKey *alice, *alice_public, *bob, *bob_public;

static ChatdKey *
public_of (const ChatdKey *key)
{
  g_autoptr(GBytes) blob = key->suite->export_public (key, NULL);
  return key->suite->import_public (key->suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
}

static gboolean
handshake (ChatdPeerSession **ret_a, ChatdPeerSession **ret_b)
{
  ChatdPeerIdentity a_self = { "Alice", alice }, a_peer = { "Bob", bob_public };
  ChatdPeerIdentity b_self = { "Bob", bob }, b_peer = { "Alice", alice_public };
  ChatdPeerHandshakeConfig config = { .limits.rekey_messages = G_MAXUINT32 };
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(ChatdPeerHandshake) a = chatd_peer_handshake_new_initiator (&chatd_suite_25519, &a_self, &a_peer,
                                                                        &config, now, &init, NULL);
  g_autoptr(ChatdPeerHandshake) b = chatd_peer_handshake_new_responder (&chatd_suite_25519, &b_self, &b_peer,
                                                                        &config, now, NULL);
  if (a == NULL || b == NULL || !chatd_peer_handshake_receive (b, init, now, &response, NULL) ||
      !chatd_peer_handshake_receive (a, response, now, &finish, NULL) ||
      !chatd_peer_handshake_receive (b, finish, now, &none, NULL))
    return FALSE;
  *ret_a = chatd_peer_handshake_take_session (a);
  *ret_b = chatd_peer_handshake_take_session (b);
  return TRUE;
}

/* µs per forged PEER_MESSAGE (right session id, counter at the edge of the
 * accepted gap, garbage): the work anyone who saw one message can cause */
static double
forged_cost (ChatdPeerSession *b, guint64 next, guint count)
{
  guint8 counter_be[8], garbage[76];
  chatd_u64_to_be (next + CHATD_PEER_MAX_GAP, counter_be);   /* next: what b expects */
  memset (garbage, 0x5a, sizeof garbage);
  ChatdSlice fields[] = { CHATD_SLICE (chatd_peer_session_id (b), CHATD_PEER_SESSION_ID_LEN),
                          CHATD_SLICE (counter_be, 8), CHATD_SLICE (garbage, sizeof garbage) };
  g_autoptr(GBytes) forged = chatd_auth_message_build (CHATD_MSG_PEER_MESSAGE, fields, 3);
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    {
      GBytes *p = chatd_peer_session_open (b, forged, NULL, 0, NULL, NULL);
      if (p != NULL)
        g_bytes_unref (p);
    }
  return (g_get_monotonic_time () - start) / (double) count;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* µs per message of the receipts of `count` messages (at most
 * CHATD_PEER_UNACKED_MAX): made by b and checked by a, one PEER_RECEIPT
 * each (batch 0) or PEER_RECEIPTS of `batch` messages; -1 on a failure */
static double
receipt_cost (guint count, guint batch)
{
  ChatdPeerSession *a = NULL, *b = NULL;
  if (!handshake (&a, &b))
    return -1;
  guint8 text[100];
  memset (text, 'm', sizeof text);
  GPtrArray *sealed = g_ptr_array_new_full (count, (GDestroyNotify) g_bytes_unref);
  ChatdPeerReceiptEntry *entries = g_new0 (ChatdPeerReceiptEntry, count);
  double result = -1;
  for (guint i = 0; i < count; i++)
    {
      GBytes *m = chatd_peer_session_seal (a, NULL, 0, text, sizeof text, NULL, NULL);
      g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (m, NULL);
      g_ptr_array_add (sealed, m);
      g_autoptr(GBytes) p = chatd_peer_session_open_parsed (b, parsed, NULL, 0, &entries[i].counter,
                                                            entries[i].digest, NULL);
      if (p == NULL)
        goto out;
    }
  gint64 start = g_get_monotonic_time ();
  if (batch == 0)
    for (guint i = 0; i < count; i++)
      {
        g_autoptr(GBytes) r = chatd_peer_session_receipt (b, sealed->pdata[i], 0, NULL);
        if (r == NULL || !chatd_peer_session_check_receipt (a, r, NULL, NULL, NULL))
          goto out;
      }
  else
    for (guint i = 0; i < count; i += batch)
      {
        guint n = MIN (batch, count - i), got = 0;
        g_autoptr(GBytes) r = chatd_peer_session_receipts (b, entries + i, n, NULL);
        g_autoptr(ChatdAuthMessage) parsed = r ? chatd_auth_message_parse (r, NULL) : NULL;
        guint64 counters[CHATD_PEER_RECEIPTS_MAX];
        guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
        if (parsed == NULL || !chatd_peer_session_check_receipts (a, parsed, counters, statuses, &got, NULL) ||
            got != n)
          goto out;
      }
  result = (g_get_monotonic_time () - start) / (double) count;
out:
  g_free (entries);
  g_ptr_array_unref (sealed);
  chatd_peer_session_free (a);
  chatd_peer_session_free (b);
  return result;
}

int
main (int argc, char **argv)
{
  guint messages = 100000, live = 0;
  for (int i = 1; i + 1 < argc; i++)
    if (g_str_equal (argv[i], "--messages"))
      messages = (guint) g_ascii_strtoull (argv[i + 1], NULL, 10);
    else if (g_str_equal (argv[i], "--live-secrets"))
      live = (guint) g_ascii_strtoull (argv[i + 1], NULL, 10);
  if (!chatd_crypto_init (NULL))
    return 1;
  g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_secret_free);
  while (secrets->len < live)
    g_ptr_array_add (secrets, chatd_secret_new_random (32));
  alice = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  bob = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  alice_public = public_of (alice);
  bob_public = public_of (bob);

  double handshake_ms[RUNS], seal_us[RUNS], open_us[RUNS], both_us[RUNS];
  guint8 text[100];
  memset (text, 'm', sizeof text);
  for (guint run = 0; run < RUNS; run++)
    {
      ChatdPeerSession *a = NULL, *b = NULL;
      gint64 start = g_get_monotonic_time ();
      if (!handshake (&a, &b))
        {
          g_printerr ("peer-bench: handshake failed\n");
          return 1;
        }
      handshake_ms[run] = (g_get_monotonic_time () - start) / 1000.0;
      GPtrArray *sealed = g_ptr_array_new_full (messages, (GDestroyNotify) g_bytes_unref);
      start = g_get_monotonic_time ();
      for (guint i = 0; i < messages; i++)
        {
          GBytes *m = chatd_peer_session_seal (a, (const guint8 *) "Alice>Bob", 9, text, sizeof text, NULL, NULL);
          if (m == NULL)
            return 1;
          g_ptr_array_add (sealed, m);
        }
      gint64 mid = g_get_monotonic_time ();
      for (guint i = 0; i < messages; i++)
        {
          GBytes *p = chatd_peer_session_open (b, sealed->pdata[i], (const guint8 *) "Alice>Bob", 9, NULL, NULL);
          if (p == NULL)
            return 1;
          g_bytes_unref (p);
        }
      gint64 end = g_get_monotonic_time ();
      seal_us[run] = (mid - start) / (double) messages;
      open_us[run] = (end - mid) / (double) messages;
      both_us[run] = (end - start) / (double) messages;
      g_ptr_array_unref (sealed);
      chatd_peer_session_free (a);
      chatd_peer_session_free (b);
    }
  qsort (handshake_ms, RUNS, sizeof (double), compare_double);
  qsort (seal_us, RUNS, sizeof (double), compare_double);
  qsort (open_us, RUNS, sizeof (double), compare_double);
  qsort (both_us, RUNS, sizeof (double), compare_double);
  printf ("peer-bench: suite %s, %u messages of %zu bytes per run, medians of %d runs (one core), "
          "%u other live secrets\n", chatd_suite_25519.name, messages, sizeof text, RUNS, live);
  printf ("  handshake (3 messages, both sides)   %8.2f ms\n", handshake_ms[RUNS / 2]);
  printf ("  seal (ratchet step + AEAD + framing) %8.2f µs\n", seal_us[RUNS / 2]);
  printf ("  open (ratchet step + AEAD + parsing) %8.2f µs\n", open_us[RUNS / 2]);
  printf ("  seal + open                          %8.2f µs  = %.0f messages/s on one core\n",
          both_us[RUNS / 2], 1e6 / both_us[RUNS / 2]);
  /* receipts: made and checked, one per message or in batches */
  double single_us = receipt_cost (4000, 0), batch_us = receipt_cost (4000, 128);
  if (single_us < 0 || batch_us < 0)
    return 1;
  printf ("  receipt (make + check), one each     %8.2f µs; in batches of 128 %8.2f µs per message\n",
          single_us, batch_us);
  /* forged messages, before and after the receiver holds the most skipped
   * keys it keeps (planted by real messages that skip ahead) */
  ChatdPeerSession *a = NULL, *b = NULL;
  if (!handshake (&a, &b))
    return 1;
  double fresh = forged_cost (b, 0, 2000);
  guint planted = 0;
  guint64 next = 0;
  while (planted < CHATD_PEER_SKIPPED_MAX)
    {
      for (guint i = 0; i < CHATD_PEER_MAX_GAP; i++)
        g_bytes_unref (chatd_peer_session_seal (a, NULL, 0, text, sizeof text, NULL, NULL));
      GBytes *m = chatd_peer_session_seal (a, NULL, 0, text, sizeof text, NULL, NULL);
      GBytes *p = chatd_peer_session_open (b, m, NULL, 0, NULL, NULL);
      if (p == NULL)
        return 1;
      g_bytes_unref (p);
      g_bytes_unref (m);
      planted += CHATD_PEER_MAX_GAP;
      next += CHATD_PEER_MAX_GAP + 1;
    }
  double full = forged_cost (b, next, 2000);
  printf ("  forged message %u ahead (refused)     %8.2f µs; with %u skipped keys held %8.2f µs\n",
          CHATD_PEER_MAX_GAP, fresh, planted, full);
  chatd_peer_session_free (a);
  chatd_peer_session_free (b);
  chatd_key_free (alice);
  chatd_key_free (bob);
  chatd_key_free (alice_public);
  chatd_key_free (bob_public);
  return 0;
}
