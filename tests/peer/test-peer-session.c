/* test-peer-session.c: messages inside peer sessions: 10,000 messages with
 * re-keys in between and out-of-order delivery all open once; replays and
 * forgeries are refused; receipts are MACs; forward secrecy, with its
 * positive control, against the real handshake's ephemeral (wiped at the
 * end, fresh each time, from the random generator only) and against a dump
 * of the receive state (opens what is in flight, nothing received). */
#include "peer-test-util.h"
#include "channel.h"

static TestUser alice, bob;
static const gint64 T0 = 1000 * G_USEC_PER_SEC;

static GBytes *
seal_text (ChatdPeerSession *s, const char *text, guint64 *ret_counter)
{
  g_autoptr(GError) error = NULL;
  GBytes *m = chatd_peer_session_seal (s, (const guint8 *) "aad", 3, (const guint8 *) text, strlen (text),
                                       ret_counter, &error);
  g_assert_no_error (error);
  return m;
}

static void
assert_opens (ChatdPeerSession *s, GBytes *m, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) p = chatd_peer_session_open (s, m, (const guint8 *) "aad", 3, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (p, NULL), g_bytes_get_size (p), text, strlen (text));
}

static void
assert_refused (ChatdPeerSession *s, GBytes *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) p = chatd_peer_session_open (s, m, (const guint8 *) "aad", 3, NULL, &error);
  g_assert_null (p);
  g_assert_nonnull (error);
}

/* a copy of m with one byte of the sealed part flipped */
static GBytes *
tampered (GBytes *m)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (m, &len);
  guint8 *copy = g_memdup2 (data, len);
  copy[len - 5] ^= 0x40;
  return g_bytes_new_take (copy, len);
}

/* a PEER_MESSAGE of session id with this counter and garbage: what anyone
 * who saw one message of the session can send */
static GBytes *
forged_message (const guint8 *session_id, guint64 counter)
{
  guint8 counter_be[8], garbage[76];
  chatd_u64_to_be (counter, counter_be);
  memset (garbage, 0x5a, sizeof garbage);
  ChatdSlice fields[] = {
    [PM_SESSION] = CHATD_SLICE (session_id, CHATD_PEER_SESSION_ID_LEN),
    [PM_COUNTER] = CHATD_SLICE (counter_be, 8),
    [PM_SEALED] = CHATD_SLICE (garbage, sizeof garbage),
  };
  return chatd_auth_message_build (CHATD_MSG_PEER_MESSAGE, fields, G_N_ELEMENTS (fields));
}

static void
test_round_trip (void)
{
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  g_autoptr(GBytes) m = seal_text (t.initiator, "hello Bob", NULL);
  /* wrong associated data, a flipped bit, the wrong direction: refused and
   * nothing consumed */
  g_autoptr(GError) error = NULL;
  g_assert_null (chatd_peer_session_open (t.responder, m, (const guint8 *) "AAD", 3, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_autoptr(GBytes) bad = tampered (m);
  assert_refused (t.responder, bad);
  assert_refused (t.initiator, m);   /* its own message does not open in its own receive chain */
  assert_opens (t.responder, m, "hello Bob");
  assert_refused (t.responder, m);   /* replay */
  g_assert_cmpuint (chatd_peer_session_opened_count (t.responder), ==, 1);
  /* a message of another session */
  TestHandshake other;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &other);
  g_autoptr(GBytes) m2 = seal_text (other.initiator, "other", NULL);
  assert_refused (t.responder, m2);
  test_handshake_clear (&other);
  test_handshake_clear (&t);
}

/* Out of order within the bound, each key once, the skipped keys bounded,
 * a counter too far ahead refused without changing anything. */
static void
test_out_of_order (void)
{
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  enum { N = CHATD_PEER_MAX_GAP };   /* even; the last one first: a gap of N - 1 */
  GBytes *m[N];
  char text[32];
  for (guint i = 0; i < N; i++)
    {
      g_snprintf (text, sizeof text, "message %u", i);
      guint64 counter = 0;
      m[i] = seal_text (t.initiator, text, &counter);
      g_assert_cmpuint (counter, ==, i);
    }
  /* deliver: the last first, then odd ones, then even ones backwards */
  g_snprintf (text, sizeof text, "message %u", N - 1);
  assert_opens (t.responder, m[N - 1], text);
  for (guint i = 1; i < N - 1; i += 2)
    {
      g_snprintf (text, sizeof text, "message %u", i);
      assert_opens (t.responder, m[i], text);
    }
  for (gint i = N - 2; i >= 0; i -= 2)
    {
      g_snprintf (text, sizeof text, "message %d", i);
      assert_opens (t.responder, m[i], text);
    }
  for (guint i = 0; i < N; i++)
    assert_refused (t.responder, m[i]);   /* every one a replay now */
  for (guint i = 0; i < N; i++)
    g_bytes_unref (m[i]);
  test_handshake_clear (&t);

  /* the ratchet itself: the gap bounded, skipped keys bounded and given
   * out once */
  guint8 chain[32] = { 1, 2, 3 };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdPeerRatchet) r = chatd_peer_ratchet_new (CHANNEL_SUITE, chain, &error);
  g_assert_no_error (error);
  const guint8 *key = NULL;
  g_assert_false (chatd_peer_ratchet_peek (r, CHATD_PEER_MAX_GAP + 1, &key, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_cmpuint (chatd_peer_ratchet_next_counter (r), ==, 0);
  guint64 c = CHATD_PEER_MAX_GAP;
  g_assert_true (chatd_peer_ratchet_peek (r, c, &key, &error));
  chatd_peer_ratchet_commit (r);
  g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r), ==, CHATD_PEER_MAX_GAP);
  /* skip more than the ratchet keeps */
  while ((c + 1) < 2 * CHATD_PEER_SKIPPED_MAX)
    {
      c += CHATD_PEER_MAX_GAP + 1;
      g_assert_true (chatd_peer_ratchet_peek (r, c, &key, &error));
      chatd_peer_ratchet_commit (r);
      g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r), <=, CHATD_PEER_SKIPPED_MAX);
    }
  /* still bounded: the oldest skipped keys were dropped (wiped) */
  g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r), ==, CHATD_PEER_SKIPPED_MAX);
  g_assert_false (chatd_peer_ratchet_peek (r, 0, &key, &error));   /* dropped: too old */
  g_clear_error (&error);
  guint8 first[32];
  g_assert_true (chatd_peer_ratchet_peek (r, c - 1, &key, &error));
  memcpy (first, key, sizeof first);
  /* peeked, not used: still there, the same key */
  g_assert_true (chatd_peer_ratchet_peek (r, c - 1, &key, &error));
  g_assert_cmpmem (first, sizeof first, key, sizeof first);
  chatd_peer_ratchet_commit (r);   /* used: gone */
  g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r), ==, CHATD_PEER_SKIPPED_MAX - 1);
  g_assert_false (chatd_peer_ratchet_peek (r, c - 1, &key, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  /* the next counter was not disturbed by the refusals */
  g_assert_cmpuint (chatd_peer_ratchet_next_counter (r), ==, c + 1);
}

/* The process-wide cap: two receive ratchets share a budget of 300 keys;
 * the second gets what is left and keeps its newest keys; a ratchet short
 * of budget gives up its own oldest keys for newer ones; freeing gives the
 * keys back. */
static void
test_skip_budget (void)
{
  g_autoptr(ChatdPeerSkipBudget) budget = chatd_peer_skip_budget_new (300);
  guint8 chain[32] = { 7 };
  g_autoptr(GError) error = NULL;
  ChatdPeerRatchet *r1 = chatd_peer_ratchet_new (CHANNEL_SUITE, chain, &error);
  ChatdPeerRatchet *r2 = chatd_peer_ratchet_new (CHANNEL_SUITE, chain, &error);
  g_autoptr(ChatdPeerRatchet) sender = chatd_peer_ratchet_new (CHANNEL_SUITE, chain, &error);
  chatd_peer_ratchet_set_budget (r1, budget);
  chatd_peer_ratchet_set_budget (r2, budget);
  guint8 keys[2 * CHATD_PEER_MAX_GAP + 2][32];
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      guint64 counter;
      g_assert_true (chatd_peer_ratchet_next (sender, &counter, keys[i], &error));
    }
  const guint8 *key = NULL;
  const guint64 c = CHATD_PEER_MAX_GAP;
  g_assert_true (chatd_peer_ratchet_peek (r1, c, &key, &error));
  g_assert_cmpmem (key, 32, keys[c], 32);
  chatd_peer_ratchet_commit (r1);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, c);
  g_assert_true (chatd_peer_ratchet_peek (r2, c, &key, &error));
  chatd_peer_ratchet_commit (r2);
  g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r2), ==, 300 - c);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, 300);
  /* r2 kept the newest: the oldest is refused, the newest opens */
  g_assert_false (chatd_peer_ratchet_peek (r2, c - (300 - c) - 1, &key, &error));
  g_clear_error (&error);
  g_assert_true (chatd_peer_ratchet_peek (r2, c - (300 - c), &key, &error));
  g_assert_cmpmem (key, 32, keys[c - (300 - c)], 32);
  g_assert_true (chatd_peer_ratchet_peek (r2, c - 1, &key, &error));
  g_assert_cmpmem (key, 32, keys[c - 1], 32);
  chatd_peer_ratchet_commit (r2);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, 299);
  /* r1 skips again with one key of budget left: it gives up its older keys */
  g_assert_true (chatd_peer_ratchet_peek (r1, 2 * c + 1, &key, &error));
  chatd_peer_ratchet_commit (r1);
  /* its newest c keys, and one old one that fitted */
  g_assert_cmpuint (chatd_peer_ratchet_skipped_count (r1), ==, c + 1);
  g_assert_true (chatd_peer_ratchet_peek (r1, 2 * c, &key, &error));
  g_assert_cmpmem (key, 32, keys[2 * c], 32);
  g_assert_false (chatd_peer_ratchet_peek (r1, 0, &key, &error));
  g_clear_error (&error);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, 300);
  chatd_peer_ratchet_free (r1);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, chatd_peer_ratchet_skipped_count (r2));
  chatd_peer_ratchet_free (r2);
  g_assert_cmpuint (chatd_peer_skip_budget_in_use (budget), ==, 0);
}

/* 10,000 messages from Alice to Bob with a re-key every 1,000: when the
 * session is due, a new handshake runs and both sides install it while up
 * to 200 messages of the old session are still on their way (delivered in
 * a shuffled order); every message opens exactly once, nothing is lost. */
static void
test_rekey_10000 (void)
{
  enum { TOTAL = 10000, IN_FLIGHT = 200 };
  ChatdPeerHandshakeConfig config = { .limits.rekey_messages = 1000 };
  g_autoptr(ChatdPeerLink) a_link = chatd_peer_link_new (NULL);
  g_autoptr(ChatdPeerLink) b_link = chatd_peer_link_new (NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  gint64 now = T0;
  g_autoptr(GPtrArray) flight = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint8 *seen = g_new0 (guint8, TOTAL);
  guint rekeys = 0, delivered = 0, late = 0;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < TOTAL || flight->len > 0; now += 1000)
    {
      if (i < TOTAL && chatd_peer_link_needs_rekey (a_link, now))
        {
          TestHandshake t;
          test_run_handshake (&alice, &bob, &config, now, FALSE, &t);
          chatd_peer_link_install (a_link, g_steal_pointer (&t.initiator), now);
          chatd_peer_link_install (b_link, g_steal_pointer (&t.responder), now);
          test_handshake_clear (&t);
          rekeys++;
        }
      if (i < TOTAL)
        {
          guint8 text[100];
          memset (text, 'x', sizeof text);
          memcpy (text, &i, sizeof i);
          GBytes *m = chatd_peer_link_seal (a_link, (const guint8 *) "Alice>Bob", 9, text, sizeof text, NULL,
                                            &error);
          g_assert_no_error (error);
          g_ptr_array_add (flight, m);
          g_ptr_array_add (all, g_bytes_ref (m));
          i++;
        }
      /* deliver one at random once the window is full (or at the end) */
      if (flight->len >= IN_FLIGHT || (i == TOTAL && flight->len > 0))
        {
          guint pick = g_rand_int_range (rand, 0, flight->len);
          GBytes *m = g_ptr_array_steal_index_fast (flight, pick);
          guint8 id[CHATD_PEER_SESSION_ID_LEN];
          g_assert_true (chatd_peer_message_session_id (m, id, NULL));
          if (memcmp (id, chatd_peer_session_id (chatd_peer_link_current (b_link)), sizeof id) != 0)
            late++;   /* sealed before the last re-key: opened by a retired session */
          g_autoptr(GBytes) p = chatd_peer_link_open (b_link, m, (const guint8 *) "Alice>Bob", 9, now, NULL,
                                                      &error);
          g_assert_no_error (error);
          g_assert_cmpuint (g_bytes_get_size (p), ==, 100);
          guint index;
          memcpy (&index, g_bytes_get_data (p, NULL), sizeof index);
          g_assert_cmpuint (index, <, TOTAL);
          g_assert_cmpuint (seen[index], ==, 0);
          seen[index] = 1;
          delivered++;
          g_bytes_unref (m);
        }
    }
  g_assert_cmpuint (delivered, ==, TOTAL);
  for (guint i = 0; i < TOTAL; i++)
    g_assert_cmpuint (seen[i], ==, 1);
  g_assert_cmpuint (rekeys, ==, TOTAL / 1000);
  g_assert_cmpuint (late, >, 100);
  g_test_message ("%u messages, %u handshakes, all opened once (%u after their session was replaced)",
                  TOTAL, rekeys, late);
  /* replays of any of them are refused (a sample across all sessions) */
  for (guint i = 0; i < TOTAL; i += 97)
    {
      g_autoptr(GBytes) p = chatd_peer_link_open (b_link, all->pdata[i], (const guint8 *) "Alice>Bob", 9, now, NULL,
                                                  &error);
      g_assert_null (p);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  /* long after the re-key, the retired sessions are gone */
  g_assert_cmpuint (chatd_peer_link_retired_count (b_link, now + CHATD_PEER_RETIRED_GRACE_US), ==, 0);
  g_free (seen);
}

static void
test_rekey_rule (void)
{
  ChatdPeerHandshakeConfig config = { .limits = { .rekey_messages = 10, .rekey_after_us = 60 * G_USEC_PER_SEC } };
  TestHandshake t;
  test_run_handshake (&alice, &bob, &config, T0, FALSE, &t);
  g_assert_false (chatd_peer_session_needs_rekey (t.initiator, T0));
  g_assert_true (chatd_peer_session_needs_rekey (t.initiator, T0 + 60 * G_USEC_PER_SEC));
  for (guint i = 0; i < 10; i++)
    g_bytes_unref (seal_text (t.initiator, "m", NULL));
  g_assert_true (chatd_peer_session_needs_rekey (t.initiator, T0));
  for (guint i = 0; i < 10; i++)
    g_bytes_unref (seal_text (t.initiator, "m", NULL));
  /* at twice the count it refuses to seal */
  g_autoptr(GError) error = NULL;
  g_assert_null (chatd_peer_session_seal (t.initiator, NULL, 0, (const guint8 *) "m", 1, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  test_handshake_clear (&t);

  /* the defaults are the documented ones */
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  g_assert_false (chatd_peer_session_needs_rekey (t.initiator, T0 + CHATD_PEER_REKEY_AFTER_US - 1));
  g_assert_true (chatd_peer_session_needs_rekey (t.initiator, T0 + CHATD_PEER_REKEY_AFTER_US));
  test_handshake_clear (&t);
}

/* Receipts are MACs under the session over the message's sealed bytes:
 * they check for the sender once, and not when tampered with, reflected,
 * for a message never sent, for other bytes under the same counter, twice,
 * or in another session; a retired session still checks them through the
 * link; the sender remembers a bounded number of unacknowledged messages. */
static void
test_receipts (void)
{
  TestHandshake t, other;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &other);
  guint64 counter = 0;
  g_autoptr(GBytes) m = seal_text (t.initiator, "receipt me", &counter);
  g_autoptr(GBytes) m2 = seal_text (t.initiator, "and me", NULL);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, 2);
  assert_opens (t.responder, m, "receipt me");
  g_autoptr(GError) error = NULL;
  /* a receipt over other bytes with the same counter (what a receiver
   * would make for a substituted message) */
  g_autoptr(GBytes) substituted = tampered (m);
  g_autoptr(GBytes) wrong_bytes = chatd_peer_session_receipt (t.responder, substituted, 1, &error);
  g_assert_no_error (error);
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, wrong_bytes, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);

  g_autoptr(GBytes) receipt = chatd_peer_session_receipt (t.responder, m, 1, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) bad = tampered (receipt);
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, bad, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* Alice's own receipt for a message Bob "sent" is not a receipt from Bob */
  g_autoptr(GBytes) reflected = chatd_peer_session_receipt (t.initiator, m, 1, &error);
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, reflected, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_peer_session_check_receipt (other.initiator, receipt, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  guint64 got_counter = 99;
  guint8 status = 0;
  g_assert_true (chatd_peer_session_check_receipt (t.initiator, receipt, &got_counter, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got_counter, ==, counter);
  g_assert_cmpuint (status, ==, 1);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, 1);
  /* the same receipt again: refused */
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, receipt, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* a message never sent (counter 5, made from a forged PEER_MESSAGE) */
  g_autoptr(GBytes) forged = forged_message (chatd_peer_session_id (t.responder), 5);
  g_autoptr(GBytes) future = chatd_peer_session_receipt (t.responder, forged, 1, &error);
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, future, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);

  /* through the link, after the session retired */
  g_autoptr(ChatdPeerLink) link = chatd_peer_link_new (NULL);
  chatd_peer_link_install (link, g_steal_pointer (&t.initiator), T0);
  chatd_peer_link_install (link, g_steal_pointer (&other.initiator), T0 + 1);
  assert_opens (t.responder, m2, "and me");
  g_autoptr(GBytes) receipt2 = chatd_peer_session_receipt (t.responder, m2, 0, &error);
  g_assert_true (chatd_peer_link_check_receipt (link, receipt2, T0 + 2, &got_counter, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got_counter, ==, counter + 1);
  g_assert_false (chatd_peer_link_check_receipt (link, receipt2, T0 + 2, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  test_handshake_clear (&t);
  test_handshake_clear (&other);

  /* bounded memory of unacknowledged messages: the oldest are forgotten */
  ChatdPeerHandshakeConfig config = { .limits.rekey_messages = CHATD_PEER_UNACKED_MAX };
  test_run_handshake (&alice, &bob, &config, T0, FALSE, &t);
  g_autoptr(GBytes) first = seal_text (t.initiator, "first", NULL);
  for (guint i = 0; i < CHATD_PEER_UNACKED_MAX; i++)
    g_bytes_unref (seal_text (t.initiator, "m", NULL));
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, CHATD_PEER_UNACKED_MAX);
  g_autoptr(GBytes) too_old = chatd_peer_session_receipt (t.responder, first, 0, &error);
  g_assert_false (chatd_peer_session_check_receipt (t.initiator, too_old, NULL, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  test_handshake_clear (&t);
}

/* opens m in s and gives the entry of its receipt */
static ChatdPeerReceiptEntry
opened_entry (ChatdPeerSession *s, GBytes *m, guint8 status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (m, &error);
  g_assert_no_error (error);
  ChatdPeerReceiptEntry entry = { .status = status };
  g_autoptr(GBytes) p = chatd_peer_session_open_parsed (s, parsed, (const guint8 *) "aad", 3, &entry.counter,
                                                        entry.digest, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return entry;
}

/* PEER_RECEIPTS with these fields as they are (a forger's batch) */
static GBytes *
raw_batch (const guint8 *session_id, const guint8 *entries, gsize entries_len, const guint8 *mac, gsize mac_len)
{
  ChatdSlice fields[] = {
    [PB_SESSION] = CHATD_SLICE (session_id, CHATD_PEER_SESSION_ID_LEN),
    [PB_ENTRIES] = CHATD_SLICE (entries, entries_len),
    [PB_MAC] = CHATD_SLICE (mac, mac_len),
  };
  return chatd_auth_message_build (CHATD_MSG_PEER_RECEIPTS, fields, G_N_ELEMENTS (fields));
}

/* PEER_RECEIPTS bytes with n all-zero entries, written by hand (the
 * builder would refuse more than the schema allows) */
static GBytes *
entries_of_count (const guint8 *session_id, guint n)
{
  gsize len = (gsize) n * CHATD_PEER_RECEIPT_ENTRY_LEN;
  g_assert_cmpuint (len, <, 1 << 14);   /* a 2-byte varint */
  const guint8 header[] = { CHATD_AUTH_VERSION, CHATD_MSG_PEER_RECEIPTS, 3, CHATD_PEER_SESSION_ID_LEN };
  const guint8 entries_len[] = { 0x40 | (guint8) (len >> 8), (guint8) len }, mac_len[] = { 32 };
  guint8 zeros[64] = { 0 };
  g_autofree guint8 *entries = g_malloc0 (len);
  GByteArray *out = g_byte_array_new ();
  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, session_id, CHATD_PEER_SESSION_ID_LEN);
  g_byte_array_append (out, entries_len, sizeof entries_len);
  g_byte_array_append (out, entries, len);
  g_byte_array_append (out, mac_len, sizeof mac_len);
  g_byte_array_append (out, zeros, 32);
  return g_byte_array_free_to_bytes (out);
}

/* checks batch at s: TRUE when accepted; the error's code in *ret_code */
static gboolean
check_batch (ChatdPeerSession *s, GBytes *batch, guint *ret_n, gint *ret_code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (batch, &error);
  *ret_code = -1;
  if (parsed == NULL)
    {
      *ret_code = error->code;
      return FALSE;
    }
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  guint n = 0;
  gboolean ok = chatd_peer_session_check_receipts (s, parsed, counters, statuses, &n, &error);
  if (!ok)
    {
      g_assert_nonnull (error);
      *ret_code = error->code;
      return FALSE;
    }
  for (guint i = 1; i < n; i++)
    g_assert_cmpuint (counters[i - 1], <, counters[i]);
  *ret_n = n;
  return TRUE;
}

/* A batch of receipts (PEER_RECEIPTS, one MAC over many messages) checks
 * once; refused as a whole, changing nothing: replayed, with a MAC for
 * another message, made in another session or relabelled with another
 * session's id, reflected, naming a message never sent or twice, entries
 * truncated or out of order, a MAC of the wrong length, too many entries
 * (the parser refuses), or empty. */
static void
test_receipt_batch (void)
{
  TestHandshake t, other;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &other);
  enum { N = 6 };
  GBytes *m[N];
  ChatdPeerReceiptEntry e[N];
  for (guint i = 0; i < N; i++)
    {
      m[i] = seal_text (t.initiator, "batched", NULL);
      e[i] = opened_entry (t.responder, m[i], i == 2 ? 1 : 0);
    }
  g_autoptr(GBytes) om = seal_text (other.initiator, "other", NULL);
  ChatdPeerReceiptEntry oe = opened_entry (other.responder, om, 0);
  g_autoptr(GError) error = NULL;
  guint n = 0;
  gint code = 0;

  /* building: 0, too many, or twice the same counter is refused */
  g_assert_null (chatd_peer_session_receipts (t.responder, e, 0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  ChatdPeerReceiptEntry many[CHATD_PEER_RECEIPTS_MAX + 1];
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    many[i] = (ChatdPeerReceiptEntry) { .counter = i };
  g_assert_null (chatd_peer_session_receipts (t.responder, many, G_N_ELEMENTS (many), &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  ChatdPeerReceiptEntry twice[2] = { e[0], e[0] };
  g_assert_null (chatd_peer_session_receipts (t.responder, twice, 2, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a MAC for the wrong message: entry 1 carries message 0's hash */
  ChatdPeerReceiptEntry swapped[2] = { e[0], e[1] };
  memcpy (swapped[1].digest, e[0].digest, sizeof swapped[1].digest);
  g_autoptr(GBytes) wrong = chatd_peer_session_receipts (t.responder, swapped, 2, &error);
  g_assert_no_error (error);
  g_assert_false (check_batch (t.initiator, wrong, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  /* reflected: Alice's key for receipts she sends */
  ChatdPeerReceiptEntry mine[1] = { e[0] };
  g_autoptr(GBytes) reflected = chatd_peer_session_receipts (t.initiator, mine, 1, &error);
  g_assert_no_error (error);
  g_assert_false (check_batch (t.initiator, reflected, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  /* a message never sent (counter 50) in an otherwise good batch */
  ChatdPeerReceiptEntry unsent[2] = { e[0], e[1] };
  unsent[1].counter = 50;
  g_autoptr(GBytes) future = chatd_peer_session_receipts (t.responder, unsent, 2, &error);
  g_assert_false (check_batch (t.initiator, future, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  /* a batch of the other session: refused here; relabelled with this
   * session's id its MAC does not match; mixing entries of both sessions
   * under one id does not check either */
  ChatdPeerReceiptEntry theirs[1] = { oe };
  g_autoptr(GBytes) other_batch = chatd_peer_session_receipts (other.responder, theirs, 1, &error);
  g_assert_no_error (error);
  g_assert_false (check_batch (t.initiator, other_batch, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  g_autoptr(ChatdAuthMessage) op = chatd_auth_message_parse (other_batch, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) relabelled = raw_batch (chatd_peer_session_id (t.initiator), op->fields[PB_ENTRIES].data,
                                            op->fields[PB_ENTRIES].len, op->fields[PB_MAC].data,
                                            op->fields[PB_MAC].len);
  g_assert_false (check_batch (t.initiator, relabelled, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  ChatdPeerReceiptEntry mixed[2] = { e[0], oe };
  mixed[1].counter = e[1].counter;   /* the other session's hash under this session's counter */
  g_autoptr(GBytes) mixed_batch = chatd_peer_session_receipts (t.responder, mixed, 2, &error);
  g_assert_false (check_batch (t.initiator, mixed_batch, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, N);

  /* malformed: entries cut mid-entry, out of order, a short MAC, too many
   * entries, none */
  ChatdPeerReceiptEntry good[3] = { e[3], e[0], e[2] };   /* unsorted: the builder sorts */
  g_autoptr(GBytes) batch = chatd_peer_session_receipts (t.responder, good, 3, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdAuthMessage) bp = chatd_auth_message_parse (batch, &error);
  g_assert_no_error (error);
  const ChatdSlice *entries = &bp->fields[PB_ENTRIES], *mac = &bp->fields[PB_MAC];
  g_assert_cmpuint (entries->len, ==, 3 * CHATD_PEER_RECEIPT_ENTRY_LEN);
  g_autoptr(GBytes) cut = raw_batch (chatd_peer_session_id (t.initiator), entries->data, entries->len - 1,
                                     mac->data, mac->len);
  g_assert_false (check_batch (t.initiator, cut, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_INVALID_ARGUMENT);
  guint8 reordered[3 * CHATD_PEER_RECEIPT_ENTRY_LEN];
  memcpy (reordered, (const guint8 *) entries->data + CHATD_PEER_RECEIPT_ENTRY_LEN, CHATD_PEER_RECEIPT_ENTRY_LEN);
  memcpy (reordered + CHATD_PEER_RECEIPT_ENTRY_LEN, entries->data, CHATD_PEER_RECEIPT_ENTRY_LEN);
  memcpy (reordered + 2 * CHATD_PEER_RECEIPT_ENTRY_LEN, (const guint8 *) entries->data + 2 * CHATD_PEER_RECEIPT_ENTRY_LEN,
          CHATD_PEER_RECEIPT_ENTRY_LEN);
  g_autoptr(GBytes) unordered = raw_batch (chatd_peer_session_id (t.initiator), reordered, sizeof reordered,
                                           mac->data, mac->len);
  g_assert_false (check_batch (t.initiator, unordered, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_INVALID_ARGUMENT);
  g_autoptr(GBytes) short_mac = raw_batch (chatd_peer_session_id (t.initiator), entries->data, entries->len,
                                           mac->data, 16);
  g_assert_false (check_batch (t.initiator, short_mac, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_INVALID_ARGUMENT);
  /* the parser takes CHATD_PEER_RECEIPTS_MAX entries (this batch is then
   * refused for its unknown counters) and not one more */
  g_autoptr(GBytes) full = entries_of_count (chatd_peer_session_id (t.initiator), CHATD_PEER_RECEIPTS_MAX);
  g_autoptr(ChatdAuthMessage) full_parsed = chatd_auth_message_parse (full, &error);
  g_assert_no_error (error);
  g_assert_false (check_batch (t.initiator, full, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_INVALID_ARGUMENT);   /* all zero: counters not increasing */
  g_autoptr(GBytes) too_many = entries_of_count (chatd_peer_session_id (t.initiator), CHATD_PEER_RECEIPTS_MAX + 1);
  g_autoptr(ChatdAuthMessage) too_many_parsed = chatd_auth_message_parse (too_many, &error);
  g_assert_null (too_many_parsed);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (check_batch (t.initiator, too_many, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, N);

  /* the good batch checks once, with its statuses; its replay is refused */
  g_assert_true (check_batch (t.initiator, batch, &n, &code));
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, N - 3);
  g_assert_false (check_batch (t.initiator, batch, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  /* one message of a batch acknowledged already refuses the batch */
  ChatdPeerReceiptEntry overlap[2] = { e[0], e[1] };
  g_autoptr(GBytes) overlapping = chatd_peer_session_receipts (t.responder, overlap, 2, &error);
  g_assert_false (check_batch (t.initiator, overlapping, &n, &code));
  g_assert_cmpint (code, ==, CHATD_ERROR_REFUSED);
  g_assert_cmpuint (chatd_peer_session_unacked_count (t.initiator), ==, N - 3);

  /* through the link, after the session retired */
  g_autoptr(ChatdPeerLink) link = chatd_peer_link_new (NULL);
  chatd_peer_link_install (link, g_steal_pointer (&t.initiator), T0);
  chatd_peer_link_install (link, g_steal_pointer (&other.initiator), T0 + 1);
  ChatdPeerReceiptEntry rest[3] = { e[1], e[4], e[5] };
  g_autoptr(GBytes) last = chatd_peer_session_receipts (t.responder, rest, 3, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdAuthMessage) lp = chatd_auth_message_parse (last, &error);
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  g_assert_true (chatd_peer_link_check_receipts (link, lp, T0 + 2, counters, statuses, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (counters[0], ==, e[1].counter);
  g_assert_cmpuint (counters[2], ==, e[5].counter);
  g_assert_false (chatd_peer_link_check_receipts (link, lp, T0 + 2, counters, statuses, &n, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* the link builds batches only for a live session */
  ChatdPeerReceiptEntry none[1] = { e[0] };
  guint8 unknown[CHATD_PEER_SESSION_ID_LEN] = { 1 };
  g_assert_null (chatd_peer_link_receipts (link, unknown, none, 1, T0 + 2, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  for (guint i = 0; i < N; i++)
    g_bytes_unref (m[i]);
  test_handshake_clear (&t);
  test_handshake_clear (&other);
}

/* The session's packet protector: what one side seals the other opens,
 * packet number as nonce and header as associated data. */
static void
test_protector (void)
{
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  ChatdPacketProtector pa, pb;
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_peer_session_take_protector (t.initiator, &pa, &error));
  g_assert_true (chatd_peer_session_take_protector (t.responder, &pb, &error));
  g_assert_no_error (error);
  g_assert_false (chatd_peer_session_take_protector (t.initiator, &pa, &error));   /* once */
  g_clear_error (&error);
  const guint8 header[18] = { 0x83, 1, 2, 3 };
  guint8 payload[64], tag[32];
  memset (payload, 'p', sizeof payload);
  g_assert_true (pa.seal (pa.user_data, 42, header, sizeof header, payload, sizeof payload, tag));
  g_assert_cmpint (payload[0], !=, 'p');
  guint8 copy[64];
  memcpy (copy, payload, sizeof copy);
  g_assert_false (pb.open (pb.user_data, 43, header, sizeof header, copy, sizeof copy, tag));   /* wrong pn */
  memcpy (copy, payload, sizeof copy);
  g_assert_false (pa.open (pa.user_data, 42, header, sizeof header, copy, sizeof copy, tag));   /* own key */
  g_assert_true (pb.open (pb.user_data, 42, header, sizeof header, payload, sizeof payload, tag));
  g_assert_cmpint (payload[0], ==, 'p');
  /* the other way, and many packets through the same keyed contexts */
  for (guint64 pn = 0; pn < 100; pn++)
    {
      memset (payload, (int) pn, sizeof payload);
      g_assert_true (pb.seal (pb.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_true (pa.open (pa.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_cmpint (payload[10], ==, (int) pn);
    }
  pa.free_func (pa.user_data);
  pb.free_func (pb.user_data);
  test_handshake_clear (&t);
}

/* A suite without the AEAD context (the one-shot path in the session and
 * in the packet protector) talks to one with it: same bytes on the wire. */
static void
test_without_aead_context (void)
{
  static ChatdSuite no_context;
  no_context = chatd_suite_25519;
  no_context.caps &= ~CHATD_SUITE_CAN_AEAD_CONTEXT;
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  ChatdPeerIdentity b = self_of (&bob), b_peer = peer_of (&alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (&no_context, &a, &a_peer, NULL, T0, &init,
                                                                         &error);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &b, &b_peer, NULL, T0, &error);
  g_assert_true (chatd_peer_handshake_receive (hr, init, T0, &response, &error));
  g_assert_true (chatd_peer_handshake_receive (hi, response, T0, &finish, &error));
  g_assert_true (chatd_peer_handshake_receive (hr, finish, T0, &none, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdPeerSession) si = chatd_peer_handshake_take_session (hi);
  g_autoptr(ChatdPeerSession) sr = chatd_peer_handshake_take_session (hr);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GBytes) m1 = seal_text (si, "one-shot", NULL);
      assert_opens (sr, m1, "one-shot");
      g_autoptr(GBytes) m2 = seal_text (sr, "context", NULL);
      assert_opens (si, m2, "context");
    }
  ChatdPacketProtector pi, pr;
  g_assert_true (chatd_peer_session_take_protector (si, &pi, &error));
  g_assert_true (chatd_peer_session_take_protector (sr, &pr, &error));
  const guint8 header[18] = { 0x83 };
  for (guint64 pn = 0; pn < 20; pn++)
    {
      guint8 payload[40], tag[32];
      memset (payload, (int) pn, sizeof payload);
      g_assert_true (pi.seal (pi.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_true (pr.open (pr.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_true (pr.seal (pr.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_true (pi.open (pi.user_data, pn, header, sizeof header, payload, sizeof payload, tag));
      g_assert_cmpint (payload[39], ==, (int) pn);
    }
  pi.free_func (pi.user_data);
  pr.free_func (pr.user_data);
}

/* does any of the recorded messages open in this session view? */
static guint
count_opening (ChatdPeerSession *s, GPtrArray *recorded)
{
  guint n = 0;
  for (guint i = 0; i < recorded->len; i++)
    {
      g_autoptr(GBytes) p = chatd_peer_session_open (s, recorded->pdata[i], (const guint8 *) "aad", 3, NULL, NULL);
      if (p != NULL)
        n++;
    }
  return n;
}

/* Forward secrecy.  Record a session: its handshake and 20 messages each
 * way.  Control: a decryptor given the session's ephemeral secret runs the
 * handshake's own derivation on the record and opens all of them.  Attack:
 * the same decryptor given both users' long-term private keys tries every
 * secret-sized window of both private key blobs as the key exchange secret,
 * for either side and either direction; nothing opens. */
static void
test_forward_secrecy (void)
{
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, TRUE, &t);
  g_assert_nonnull (t.initiator_ephemeral);
  g_autoptr(GPtrArray) to_bob = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) to_alice = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  char text[32];
  for (guint i = 0; i < 20; i++)
    {
      g_snprintf (text, sizeof text, "secret %u", i);
      g_ptr_array_add (to_bob, seal_text (t.initiator, text, NULL));
      g_ptr_array_add (to_alice, seal_text (t.responder, text, NULL));
    }
  const ChatdSuite *suite = CHANNEL_SUITE;
  g_autoptr(GError) error = NULL;

  /* control: the ephemeral secret opens the whole record, both ways */
  g_autoptr(ChatdPeerSession) as_bob = chatd_peer_handshake_replay (
    suite, t.init, t.response, alice.public_key, bob.public_key, CHATD_PEER_ROLE_INITIATOR,
    t.initiator_ephemeral->data, t.initiator_ephemeral->len, CHATD_PEER_ROLE_RESPONDER, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdPeerSession) as_alice = chatd_peer_handshake_replay (
    suite, t.init, t.response, alice.public_key, bob.public_key, CHATD_PEER_ROLE_INITIATOR,
    t.initiator_ephemeral->data, t.initiator_ephemeral->len, CHATD_PEER_ROLE_INITIATOR, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_opening (as_bob, to_bob), ==, 20);
  g_assert_cmpuint (count_opening (as_alice, to_alice), ==, 20);
  /* the replay is a receive-only view */
  g_assert_null (chatd_peer_session_seal (as_bob, NULL, 0, (const guint8 *) "x", 1, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  /* attack: only the long-term keys.  Candidates for the ephemeral: every
   * secret-sized window of both private key blobs, and deterministic
   * functions of the long-term keys a broken implementation might use (the
   * hash of each private and each public blob) */
  const TestUser *users[] = { &alice, &bob };
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_secret_free);
  for (guint u = 0; u < G_N_ELEMENTS (users); u++)
    {
      const ChatdKey *key = users[u]->key;
      g_autoptr(ChatdSecret) blob = chatd_secret_new (key->suite->private_blob_max);
      gsize blob_len = 0;
      g_assert_true (key->suite->export_private (key, blob->data, blob->len, &blob_len, &error));
      for (gsize off = 0; off + suite->kx_secret_len <= blob_len; off++)
        g_ptr_array_add (candidates, chatd_secret_new_from (blob->data + off, suite->kx_secret_len));
      ChatdSecret *digest = chatd_secret_new (MAX (suite->kdf_len, suite->kx_secret_len));
      g_assert_true (suite->hash (blob->data, blob_len, digest->data, &error));
      g_ptr_array_add (candidates, digest);
      g_autoptr(GBytes) public_blob = key->suite->export_public (key, &error);
      digest = chatd_secret_new (MAX (suite->kdf_len, suite->kx_secret_len));
      g_assert_true (suite->hash (g_bytes_get_data (public_blob, NULL), g_bytes_get_size (public_blob),
                                  digest->data, &error));
      g_ptr_array_add (candidates, digest);
    }
  guint attempts = 0, opened = 0;
  for (guint c = 0; c < candidates->len; c++)
    for (guint secret_of = 0; secret_of < 2; secret_of++)
      for (guint as_role = 0; as_role < 2; as_role++)
        {
          const ChatdSecret *candidate = candidates->pdata[c];
          g_autoptr(GError) attempt_error = NULL;
          g_autoptr(ChatdPeerSession) s = chatd_peer_handshake_replay (
            suite, t.init, t.response, alice.public_key, bob.public_key, secret_of,
            candidate->data, suite->kx_secret_len, as_role, &attempt_error);
          if (s == NULL)
            continue;   /* e.g. a low-order result */
          attempts++;
          opened += count_opening (s, as_role == CHATD_PEER_ROLE_RESPONDER ? to_bob : to_alice);
        }
  g_test_message ("forward secrecy: %u key schedules from the long-term keys, %u messages opened",
                  attempts, opened);
  g_assert_cmpuint (attempts, >, 100);
  g_assert_cmpuint (opened, ==, 0);

  /* and once the handshake is over the sessions hold no ephemeral secret:
   * the handshake wiped it (the copy above came from before the end) */
  test_handshake_clear (&t);
}

/* A thief who dumps Bob's memory in the middle of a session (the receive
 * ratchet: chain key and skipped keys) opens the messages still on their
 * way (the positive control: the dump is the real state) and none that
 * Bob already received, in order or out of order. */
static void
test_stolen_receive_state (void)
{
  enum { N = 30 };
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  GBytes *m[N];
  char text[32];
  for (guint i = 0; i < N; i++)
    {
      g_snprintf (text, sizeof text, "message %u", i);
      m[i] = seal_text (t.initiator, text, NULL);
    }
  /* Bob receives 0..9, then 15 and 20 (skipping 10..14 and 16..19), then 12 */
  gboolean received[N] = { FALSE };
  guint order[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 20, 12 };
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_snprintf (text, sizeof text, "message %u", order[i]);
      assert_opens (t.responder, m[order[i]], text);
      received[order[i]] = TRUE;
    }
  g_autoptr(ChatdPeerSession) thief = chatd_peer_session_copy_receive_state_for_testing (t.responder);
  guint opened_received = 0, opened_in_flight = 0, in_flight = 0;
  for (guint i = 0; i < N; i++)
    {
      g_autoptr(GBytes) p = chatd_peer_session_open (thief, m[i], (const guint8 *) "aad", 3, NULL, NULL);
      if (received[i])
        opened_received += p != NULL;
      else
        {
          in_flight++;
          opened_in_flight += p != NULL;
        }
    }
  g_test_message ("a dump of the receive state opened %u of %u messages in flight, %u of %u received",
                  opened_in_flight, in_flight, opened_received, N - in_flight);
  g_assert_cmpuint (opened_in_flight, ==, in_flight);
  g_assert_cmpuint (opened_received, ==, 0);
  /* the view cannot send, and Bob is not disturbed by the thief */
  g_autoptr(GError) error = NULL;
  g_assert_null (chatd_peer_session_seal (thief, NULL, 0, (const guint8 *) "x", 1, NULL, &error));
  g_assert_nonnull (error);
  for (guint i = 0; i < N; i++)
    if (!received[i])
      {
        g_snprintf (text, sizeof text, "message %u", i);
        assert_opens (t.responder, m[i], text);
      }
  for (guint i = 0; i < N; i++)
    g_bytes_unref (m[i]);
  test_handshake_clear (&t);
}

/* The handshake holds its ephemeral and key block only while it runs: both
 * are gone once it is DONE, and once it FAILED (here: timed out). */
static void
test_ephemeral_wiped (void)
{
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  ChatdPeerIdentity b = self_of (&bob), b_peer = peer_of (&alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &a, &a_peer, NULL, T0,
                                                                         &init, &error);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &b, &b_peer, NULL, T0,
                                                                         &error);
  g_autoptr(ChatdSecret) before = chatd_peer_handshake_copy_ephemeral_for_testing (hi);
  g_assert_nonnull (before);
  g_assert_null (chatd_peer_handshake_copy_ephemeral_for_testing (hr));   /* not made yet */
  g_assert_true (chatd_peer_handshake_receive (hr, init, T0, &response, &error));
  g_autoptr(ChatdSecret) responder_before = chatd_peer_handshake_copy_ephemeral_for_testing (hr);
  g_assert_nonnull (responder_before);
  g_assert_true (chatd_peer_handshake_holds_secrets_for_testing (hr));
  g_assert_true (chatd_peer_handshake_receive (hi, response, T0, &finish, &error));
  g_assert_true (chatd_peer_handshake_receive (hr, finish, T0, &none, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chatd_peer_handshake_get_state (hi), ==, CHATD_PEER_HANDSHAKE_DONE);
  g_assert_cmpint (chatd_peer_handshake_get_state (hr), ==, CHATD_PEER_HANDSHAKE_DONE);
  g_assert_null (chatd_peer_handshake_copy_ephemeral_for_testing (hi));
  g_assert_null (chatd_peer_handshake_copy_ephemeral_for_testing (hr));
  g_assert_false (chatd_peer_handshake_holds_secrets_for_testing (hi));
  g_assert_false (chatd_peer_handshake_holds_secrets_for_testing (hr));

  /* timed out: an initiator that never got a response, a responder that
   * never got the finish */
  g_autoptr(GBytes) init2 = NULL, response2 = NULL;
  g_autoptr(ChatdPeerHandshake) hi2 = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &a, &a_peer, NULL, T0,
                                                                          &init2, &error);
  g_autoptr(ChatdPeerHandshake) hr2 = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &b, &b_peer, NULL, T0,
                                                                          &error);
  g_assert_true (chatd_peer_handshake_receive (hr2, init2, T0, &response2, &error));
  g_assert_true (chatd_peer_handshake_holds_secrets_for_testing (hi2));
  g_assert_true (chatd_peer_handshake_holds_secrets_for_testing (hr2));
  gint64 late = chatd_peer_handshake_deadline (hi2);
  g_assert_false (chatd_peer_handshake_check_timeout (hi2, late, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_false (chatd_peer_handshake_check_timeout (hr2, late, &error));
  g_clear_error (&error);
  g_assert_cmpint (chatd_peer_handshake_get_state (hi2), ==, CHATD_PEER_HANDSHAKE_FAILED);
  g_assert_cmpint (chatd_peer_handshake_get_state (hr2), ==, CHATD_PEER_HANDSHAKE_FAILED);
  g_assert_null (chatd_peer_handshake_copy_ephemeral_for_testing (hi2));
  g_assert_null (chatd_peer_handshake_copy_ephemeral_for_testing (hr2));
  g_assert_false (chatd_peer_handshake_holds_secrets_for_testing (hi2));
  g_assert_false (chatd_peer_handshake_holds_secrets_for_testing (hr2));
}

/* Two handshakes between the same two users: new ephemerals, shares and
 * nonces each time (nothing derived from the long-term keys). */
static void
test_ephemeral_fresh (void)
{
  TestHandshake t1, t2;
  test_run_handshake (&alice, &bob, NULL, T0, TRUE, &t1);
  test_run_handshake (&alice, &bob, NULL, T0, TRUE, &t2);
  g_assert_false (memcmp (t1.initiator_ephemeral->data, t2.initiator_ephemeral->data,
                          t1.initiator_ephemeral->len) == 0);
  g_autoptr(ChatdAuthMessage) i1 = chatd_auth_message_parse (t1.init, NULL);
  g_autoptr(ChatdAuthMessage) i2 = chatd_auth_message_parse (t2.init, NULL);
  g_autoptr(ChatdAuthMessage) r1 = chatd_auth_message_parse (t1.response, NULL);
  g_autoptr(ChatdAuthMessage) r2 = chatd_auth_message_parse (t2.response, NULL);
  g_assert_false (memcmp (i1->fields[PI_SHARE].data, i2->fields[PI_SHARE].data, i1->fields[PI_SHARE].len) == 0);
  g_assert_false (memcmp (i1->fields[PI_NONCE].data, i2->fields[PI_NONCE].data, CHATD_PEER_NONCE_LEN) == 0);
  g_assert_false (memcmp (r1->fields[PR_SHARE].data, r2->fields[PR_SHARE].data, r1->fields[PR_SHARE].len) == 0);
  g_assert_false (memcmp (r1->fields[PR_NONCE].data, r2->fields[PR_NONCE].data, CHATD_PEER_NONCE_LEN) == 0);
  g_assert_false (memcmp (chatd_peer_session_id (t1.initiator), chatd_peer_session_id (t2.initiator),
                          CHATD_PEER_SESSION_ID_LEN) == 0);
  test_handshake_clear (&t1);
  test_handshake_clear (&t2);
}

/* The ephemeral comes from the random generator and nothing else: with the
 * generator injected through the config, each side's share is exactly the
 * public value of the bytes the generator gave it. */
typedef struct {
  GRand      *rand;
  GPtrArray  *given;   /* ChatdSecret * */
} RecordingRng;

static void
recording_random (guint8 *out, gsize len, gpointer user_data)
{
  RecordingRng *rng = user_data;
  for (gsize i = 0; i < len; i++)
    out[i] = g_rand_int (rng->rand) & 0xff;
  g_ptr_array_add (rng->given, chatd_secret_new_from (out, len));
}

static void
test_ephemeral_from_rng (void)
{
  RecordingRng rng = { g_rand_new_with_seed (42),
                       g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_secret_free) };
  ChatdPeerHandshakeConfig config = { .random_secret = recording_random, .random_data = &rng };
  TestHandshake t;
  test_run_handshake (&alice, &bob, &config, T0, FALSE, &t);
  g_assert_cmpuint (rng.given->len, ==, 2);   /* one ephemeral per side */
  const ChatdSuite *suite = CHANNEL_SUITE;
  g_autoptr(ChatdAuthMessage) init = chatd_auth_message_parse (t.init, NULL);
  g_autoptr(ChatdAuthMessage) response = chatd_auth_message_parse (t.response, NULL);
  guint8 share[CHATD_SUITE_SHARE_MAX];
  const ChatdSecret *first = rng.given->pdata[0], *second = rng.given->pdata[1];
  g_assert_true (suite->kx_public (first->data, share, NULL));
  g_assert_cmpmem (share, suite->kx_public_len, init->fields[PI_SHARE].data, init->fields[PI_SHARE].len);
  g_assert_true (suite->kx_public (second->data, share, NULL));
  g_assert_cmpmem (share, suite->kx_public_len, response->fields[PR_SHARE].data,
                   response->fields[PR_SHARE].len);
  test_handshake_clear (&t);
  g_ptr_array_unref (rng.given);
  g_rand_free (rng.rand);
}

/* ---- H1: a forged message costs bounded work ---- */

/* the channel suite with its hash counted (the ratchet's only work) */
static ChatdSuite counting_suite;
static guint hash_calls;

static gboolean
counting_hash (const guint8 *data, gsize len, guint8 *ret_digest, GError **error)
{
  hash_calls++;
  return chatd_suite_25519.hash (data, len, ret_digest, error);
}

/* Forged messages far ahead (the old window, 2,000, and the edge of the
 * accepted gap) each cost at most a few hundred hash calls, change nothing,
 * and a flood of them leaves the session working. */
static void
test_forged_far_ahead (void)
{
  counting_suite = chatd_suite_25519;
  counting_suite.hash = counting_hash;
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  ChatdPeerIdentity b = self_of (&bob), b_peer = peer_of (&alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (&counting_suite, &a, &a_peer, NULL, T0,
                                                                         &init, &error);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (&counting_suite, &b, &b_peer, NULL, T0,
                                                                         &error);
  g_assert_true (chatd_peer_handshake_receive (hr, init, T0, &response, &error));
  g_assert_true (chatd_peer_handshake_receive (hi, response, T0, &finish, &error));
  g_assert_true (chatd_peer_handshake_receive (hr, finish, T0, &none, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdPeerSession) si = chatd_peer_handshake_take_session (hi);
  g_autoptr(ChatdPeerSession) sr = chatd_peer_handshake_take_session (hr);
  const guint8 *id = chatd_peer_session_id (sr);
  /* a bound that does not depend on the code's constants: 600 hash calls
   * (about 0.5 ms) per forged message */
  const guint bound = 600;
  guint64 far[] = { 2000, 1000, 300, 256, 255, 100, 1 };
  for (guint round = 0; round < 20; round++)
    for (guint i = 0; i < G_N_ELEMENTS (far); i++)
      {
        g_autoptr(GBytes) forged = forged_message (id, far[i]);
        hash_calls = 0;
        assert_refused (sr, forged);
        g_assert_cmpuint (hash_calls, <=, bound);
      }
  /* nothing was consumed or planted: the first real messages open */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GBytes) m = seal_text (si, "still here", NULL);
      hash_calls = 0;
      assert_opens (sr, m, "still here");
      g_assert_cmpuint (hash_calls, <=, 4);
    }
  g_assert_cmpuint (chatd_peer_session_opened_count (sr), ==, 5);
}

/* Expiry on the caller's timer (virtual time): a retired session can no
 * longer seal nor give its protector (its send keys went at retirement),
 * opens late messages until the deadline the link reports, and is gone at
 * it; a session never replaced is gone at its end of life. */
static void
test_link_expiry (void)
{
  const gint64 life = 60 * G_USEC_PER_SEC;
  ChatdPeerHandshakeConfig config = { .limits.rekey_after_us = life };
  g_autoptr(ChatdPeerLink) link = chatd_peer_link_new (NULL);
  g_assert_cmpint (chatd_peer_link_deadline (link), ==, G_MAXINT64);
  TestHandshake t1, t2;
  test_run_handshake (&alice, &bob, &config, T0, FALSE, &t1);
  test_run_handshake (&alice, &bob, &config, T0 + 10 * G_USEC_PER_SEC, FALSE, &t2);
  g_autoptr(GBytes) late = seal_text (t1.initiator, "late", NULL);
  g_autoptr(GBytes) later = seal_text (t1.initiator, "later", NULL);
  ChatdPeerSession *old = g_steal_pointer (&t1.responder);
  chatd_peer_link_install (link, old, T0);
  g_assert_cmpint (chatd_peer_link_deadline (link), ==, T0 + life + CHATD_PEER_RETIRED_GRACE_US);
  const gint64 t_install = T0 + 10 * G_USEC_PER_SEC;
  chatd_peer_link_install (link, g_steal_pointer (&t2.responder), t_install);
  /* retired: no sealing, no protector */
  g_autoptr(GError) error = NULL;
  g_assert_null (chatd_peer_session_seal (old, NULL, 0, (const guint8 *) "x", 1, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  ChatdPacketProtector protector;
  g_assert_false (chatd_peer_session_take_protector (old, &protector, &error));
  g_clear_error (&error);
  gint64 deadline = chatd_peer_link_deadline (link);
  g_assert_cmpint (deadline, ==, t_install + CHATD_PEER_RETIRED_GRACE_US);
  chatd_peer_link_expire (link, deadline - 1);
  g_autoptr(GBytes) p = chatd_peer_link_open (link, late, (const guint8 *) "aad", 3, deadline - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  chatd_peer_link_expire (link, deadline);   /* the timer fires */
  g_assert_cmpuint (chatd_peer_link_retired_count (link, deadline), ==, 0);
  g_assert_null (chatd_peer_link_open (link, later, (const guint8 *) "aad", 3, deadline, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* the current one was never replaced: gone at its end of life */
  deadline = chatd_peer_link_deadline (link);
  g_assert_cmpint (deadline, ==, t_install + life + CHATD_PEER_RETIRED_GRACE_US);
  chatd_peer_link_expire (link, deadline - 1);
  g_assert_nonnull (chatd_peer_link_current (link));
  chatd_peer_link_expire (link, deadline);
  g_assert_null (chatd_peer_link_current (link));
  g_assert_true (chatd_peer_link_needs_rekey (link, deadline));
  g_assert_cmpint (chatd_peer_link_deadline (link), ==, G_MAXINT64);
  test_handshake_clear (&t1);
  test_handshake_clear (&t2);
}

/* ---- L4: secret hygiene after failures ---- */

/* the channel suite with failures on demand and the last key given to an
 * AEAD context recorded */
static ChatdSuite faulty_suite;
static gboolean fail_context_seal;
static guint fail_hash_in;   /* 0: never; n: the n-th hash call from now fails */
static guint8 last_context_key[64];

static gboolean
faulty_hash (const guint8 *data, gsize len, guint8 *ret_digest, GError **error)
{
  if (fail_hash_in > 0 && --fail_hash_in == 0)
    {
      memset (ret_digest, 0xee, chatd_suite_25519.kdf_len);   /* a half-written digest */
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED, "injected hash failure");
      return FALSE;
    }
  return chatd_suite_25519.hash (data, len, ret_digest, error);
}

static gboolean
recording_set_key (ChatdAeadContext *context, const guint8 *key, GError **error)
{
  memcpy (last_context_key, key, chatd_suite_25519.aead_key_len);
  return chatd_suite_25519.aead_context_set_key (context, key, error);
}

static gboolean
faulty_context_seal (ChatdAeadContext *context, const guint8 *nonce, const guint8 *aad, gsize aad_len,
                     const guint8 *plaintext, gsize plaintext_len, guint8 *ret_ciphertext, GError **error)
{
  if (fail_context_seal)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED, "injected seal failure");
      return FALSE;
    }
  return chatd_suite_25519.aead_context_seal (context, nonce, aad, aad_len, plaintext, plaintext_len,
                                              ret_ciphertext, error);
}

static gboolean
all_zero (const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

/* A failed open leaves no peeked key or chain key behind; a failed seal
 * leaves no message key in the seal context; a failing hash leaves no
 * digest in the ratchet. */
static void
test_failure_hygiene (void)
{
  faulty_suite = chatd_suite_25519;
  faulty_suite.hash = faulty_hash;
  faulty_suite.aead_context_set_key = recording_set_key;
  faulty_suite.aead_context_seal = faulty_context_seal;
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  ChatdPeerIdentity b = self_of (&bob), b_peer = peer_of (&alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (&faulty_suite, &a, &a_peer, NULL, T0,
                                                                         &init, &error);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (&faulty_suite, &b, &b_peer, NULL, T0,
                                                                         &error);
  g_assert_true (chatd_peer_handshake_receive (hr, init, T0, &response, &error));
  g_assert_true (chatd_peer_handshake_receive (hi, response, T0, &finish, &error));
  g_assert_true (chatd_peer_handshake_receive (hr, finish, T0, &none, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdPeerSession) si = chatd_peer_handshake_take_session (hi);
  g_autoptr(ChatdPeerSession) sr = chatd_peer_handshake_take_session (hr);

  /* a forged message 10 ahead: the key was derived, the AEAD refused it */
  g_autoptr(GBytes) forged = forged_message (chatd_peer_session_id (sr), 10);
  assert_refused (sr, forged);
  g_assert_false (chatd_peer_session_holds_pending_for_testing (sr));
  /* a real message with the wrong associated data: the same */
  g_autoptr(GBytes) m = seal_text (si, "real", NULL);
  g_assert_null (chatd_peer_session_open (sr, m, (const guint8 *) "AAD", 3, NULL, &error));
  g_clear_error (&error);
  g_assert_false (chatd_peer_session_holds_pending_for_testing (sr));
  assert_opens (sr, m, "real");
  g_assert_false (chatd_peer_session_holds_pending_for_testing (sr));

  /* a seal that fails in the cipher: the context holds no message key */
  fail_context_seal = TRUE;
  g_assert_null (chatd_peer_session_seal (si, NULL, 0, (const guint8 *) "x", 1, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_FAILED);
  g_clear_error (&error);
  fail_context_seal = FALSE;
  g_assert_true (all_zero (last_context_key, chatd_suite_25519.aead_key_len));

  /* the chain-key hash of a seal fails (the second hash of the step): no
   * digest left in the ratchet */
  fail_hash_in = 2;
  g_assert_null (chatd_peer_session_seal (si, NULL, 0, (const guint8 *) "x", 1, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  fail_hash_in = 0;
  g_assert_false (chatd_peer_session_send_scratch_dirty_for_testing (si));
}

/* ---- L6: limits and suites ---- */

/* Extreme limits do not wrap around: a huge re-key count still seals, a
 * huge handshake timeout does not time out at once. */
static void
test_limits_overflow (void)
{
  ChatdPeerHandshakeConfig config = { .timeout_us = G_MAXINT64,
                                      .limits.rekey_messages = G_MAXUINT64 / 2 + 1,
                                      .limits.rekey_after_us = G_MAXINT64 };
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) h = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &a, &a_peer, &config, T0,
                                                                        &init, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chatd_peer_handshake_deadline (h), ==, G_MAXINT64);
  g_assert_true (chatd_peer_handshake_check_timeout (h, T0 + (gint64) 3600 * G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
  TestHandshake t;
  test_run_handshake (&alice, &bob, &config, T0, FALSE, &t);
  g_autoptr(GBytes) m = seal_text (t.initiator, "still seals", NULL);
  assert_opens (t.responder, m, "still seals");
  g_assert_false (chatd_peer_session_needs_rekey (t.initiator, T0 + (gint64) 3600 * G_USEC_PER_SEC));
  g_assert_cmpint (chatd_peer_session_end_of_life (t.initiator), ==, G_MAXINT64);
  test_handshake_clear (&t);
}

/* A suite with short AEAD keys or tags cannot carry a peer session; a
 * channel made from a session's keys has no (all-zero) confirm key. */
static void
test_weak_suites (void)
{
  static ChatdSuite short_tag, short_key;
  short_tag = chatd_suite_25519;
  short_tag.aead_tag_len = 8;
  short_key = chatd_suite_25519;
  short_key.aead_key_len = 8;
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_peer_suite_is_usable (CHANNEL_SUITE, &error));
  g_assert_false (chatd_peer_suite_is_usable (&short_tag, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_false (chatd_peer_suite_is_usable (&short_key, &error));
  g_clear_error (&error);
  ChatdPeerIdentity a = self_of (&alice), a_peer = peer_of (&bob);
  g_autoptr(GBytes) init = NULL;
  g_assert_null (chatd_peer_handshake_new_initiator (&short_tag, &a, &a_peer, NULL, T0, &init, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  guint8 k1[32] = { 1 }, k2[32] = { 2 };
  g_autoptr(ChatdChannel) channel = chatd_channel_new_with_keys (CHANNEL_SUITE, k1, k2, &error);
  g_assert_no_error (error);
  g_assert_null (chatd_channel_confirm_key (channel));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  test_user_init (&alice, "Alice", &chatd_suite_25519, 0);
  test_user_init (&bob, "Bob", &chatd_suite_25519, 0);
  g_test_add_func ("/peer/session/round-trip", test_round_trip);
  g_test_add_func ("/peer/session/out-of-order", test_out_of_order);
  g_test_add_func ("/peer/session/skip-budget", test_skip_budget);
  g_test_add_func ("/peer/session/rekey-10000", test_rekey_10000);
  g_test_add_func ("/peer/session/rekey-rule", test_rekey_rule);
  g_test_add_func ("/peer/session/link-expiry", test_link_expiry);
  g_test_add_func ("/peer/session/receipts", test_receipts);
  g_test_add_func ("/peer/session/receipt-batch", test_receipt_batch);
  g_test_add_func ("/peer/session/protector", test_protector);
  g_test_add_func ("/peer/session/without-aead-context", test_without_aead_context);
  g_test_add_func ("/peer/session/forward-secrecy", test_forward_secrecy);
  g_test_add_func ("/peer/session/stolen-receive-state", test_stolen_receive_state);
  g_test_add_func ("/peer/session/ephemeral-wiped", test_ephemeral_wiped);
  g_test_add_func ("/peer/session/ephemeral-fresh", test_ephemeral_fresh);
  g_test_add_func ("/peer/session/ephemeral-from-rng", test_ephemeral_from_rng);
  g_test_add_func ("/peer/session/forged-far-ahead", test_forged_far_ahead);
  g_test_add_func ("/peer/session/failure-hygiene", test_failure_hygiene);
  g_test_add_func ("/peer/session/limits-overflow", test_limits_overflow);
  g_test_add_func ("/peer/session/weak-suites", test_weak_suites);
  int status = g_test_run ();
  test_user_clear (&alice);
  test_user_clear (&bob);
  return status;
}
