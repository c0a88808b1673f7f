/* test-peer-handshake.c: the peer handshake succeeds between honest users
 * and is refused for a forged identity, a replayed message, a man in the
 * middle with another user's key, a transcript or identity mismatch, a
 * low-order share and garbage; dropped messages end in a clear "failed,
 * retry" (no fall-back). */
#include "peer-test-util.h"

static TestUser alice, bob, eve, carol_rsa;
static const gint64 T0 = 1000 * G_USEC_PER_SEC;

static ChatdPeerHandshake *
initiator (const TestUser *self, const TestUser *expected_peer, GBytes **ret_init)
{
  ChatdPeerIdentity s = self_of (self), p = peer_of (expected_peer);
  g_autoptr(GError) error = NULL;
  ChatdPeerHandshake *h = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &s, &p, NULL, T0, ret_init,
                                                              &error);
  g_assert_no_error (error);
  return h;
}

static ChatdPeerHandshake *
responder (const TestUser *self, const TestUser *expected_peer)
{
  ChatdPeerIdentity s = self_of (self), p = peer_of (expected_peer);
  g_autoptr(GError) error = NULL;
  ChatdPeerHandshake *h = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &s, &p, NULL, T0, &error);
  g_assert_no_error (error);
  return h;
}

/* a responder claiming a name with a key that is not that name's */
static ChatdPeerHandshake *
impostor (const char *claimed_name, const TestUser *real, const TestUser *expected_peer)
{
  ChatdPeerIdentity s = { claimed_name, real->key }, p = peer_of (expected_peer);
  g_autoptr(GError) error = NULL;
  ChatdPeerHandshake *h = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &s, &p, NULL, T0, &error);
  g_assert_no_error (error);
  return h;
}

/* the message is refused with code and dropped: the handshake is as it was */
static void
assert_dropped (ChatdPeerHandshake *h, GBytes *message, gint code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  ChatdPeerHandshakeState before = chatd_peer_handshake_get_state (h);
  guint dropped = chatd_peer_handshake_dropped_count (h);
  g_assert_false (chatd_peer_handshake_receive (h, message, T0, &reply, &error));
  g_assert_error (error, CHATD_ERROR, code);
  g_assert_null (reply);
  g_assert_cmpint (chatd_peer_handshake_get_state (h), ==, before);
  g_assert_cmpuint (chatd_peer_handshake_dropped_count (h), ==, dropped + 1);
  g_assert_null (chatd_peer_handshake_take_session (h));
  if (before == CHATD_PEER_HANDSHAKE_WAIT_INIT || before == CHATD_PEER_HANDSHAKE_WAIT_RESPONSE)
    g_assert_null (chatd_peer_handshake_transcript_hash (h, NULL));
  g_test_message ("dropped as expected: %s", error->message);
}

static GBytes *
answer (ChatdPeerHandshake *h, GBytes *message)
{
  g_autoptr(GError) error = NULL;
  GBytes *reply = NULL;
  g_assert_true (chatd_peer_handshake_receive (h, message, T0, &reply, &error));
  g_assert_no_error (error);
  return reply;
}

static void
test_success (void)
{
  TestHandshake t;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &t);
  /* the two sessions talk both ways */
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) m = chatd_peer_session_seal (t.initiator, NULL, 0, (const guint8 *) "hi", 2, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) p = chatd_peer_session_open (t.responder, m, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (p, NULL), g_bytes_get_size (p), "hi", 2);
  g_autoptr(GBytes) m2 = chatd_peer_session_seal (t.responder, NULL, 0, (const guint8 *) "yo", 2, NULL, &error);
  g_autoptr(GBytes) p2 = chatd_peer_session_open (t.initiator, m2, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  test_handshake_clear (&t);

  /* identities of another suite (RSA signatures) work the same way */
  test_run_handshake (&carol_rsa, &alice, NULL, T0, FALSE, &t);
  test_handshake_clear (&t);
  test_run_handshake (&alice, &carol_rsa, NULL, T0, FALSE, &t);
  test_handshake_clear (&t);
}

/* Eve answers as "Bob" but signs with her own key: Alice checks against
 * Bob's pinned key and refuses.  The other way round too. */
static void
test_forged_identity (void)
{
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  g_autoptr(ChatdPeerHandshake) fake_bob = impostor ("Bob", &eve, &alice);
  g_autoptr(GBytes) response = answer (fake_bob, init);
  assert_dropped (a, response, CHATD_ERROR_REFUSED);

  /* Eve initiates as "Alice" with her key; Bob expects Alice's key */
  ChatdPeerIdentity fake_alice = { "Alice", eve.key }, expect_bob = peer_of (&bob);
  g_autoptr(GBytes) init2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdPeerHandshake) e = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &fake_alice, &expect_bob,
                                                                        NULL, T0, &init2, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  g_autoptr(GBytes) response2 = answer (b, init2);
  /* Bob signed a transcript with Alice's fingerprint: it does not even
   * verify for Eve's handshake, which has hers */
  assert_dropped (e, response2, CHATD_ERROR_REFUSED);
  /* Eve signs Bob's transcript (all public) with her key as the finish */
  gsize th_len = 0;
  const guint8 *th = chatd_peer_handshake_transcript_hash (b, &th_len);
  g_assert_nonnull (th);
  ChatdSlice th_field = CHATD_SLICE (th, th_len);
  g_autoptr(GBytes) eve_sig = NULL;
  g_assert_true (chatd_domain_sign (eve.key, CHATD_PURPOSE_PEER_INITIATOR, &th_field, 1, &eve_sig, NULL));
  /* Eve holds the initiator's ephemeral, so she can seal a proof: here
   * with the handshake key taken from Bob's side */
  g_autoptr(GBytes) mac = g_bytes_new_take (g_malloc0 (32), 32);
  g_autoptr(GBytes) proof = chatd_peer_handshake_seal_proof_for_testing (b, CHATD_PEER_ROLE_INITIATOR, eve_sig, mac);
  ChatdSlice fields[] = { CHATD_SLICE (g_bytes_get_data (proof, NULL), g_bytes_get_size (proof)) };
  g_autoptr(GBytes) finish2 = chatd_auth_message_build (CHATD_MSG_PEER_FINISH, fields, 1);
  assert_dropped (b, finish2, CHATD_ERROR_REFUSED);      /* Bob: not Alice's signature */
}

/* Replays: a recorded PEER_INIT gets a fresh response, but the recorded
 * PEER_FINISH does not complete it; a recorded PEER_RESPONSE does not
 * complete a new initiator; a finished handshake takes nothing more. */
static void
test_replayed (void)
{
  TestHandshake old;
  test_run_handshake (&alice, &bob, NULL, T0, FALSE, &old);

  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  g_autoptr(GBytes) fresh_response = answer (b, old.init);
  g_assert_false (g_bytes_equal (fresh_response, old.response));   /* fresh nonce and share */
  assert_dropped (b, old.finish, CHATD_ERROR_REFUSED);

  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  assert_dropped (a, old.response, CHATD_ERROR_REFUSED);

  /* a finished handshake refuses a second copy of any message and stays done */
  g_autoptr(GBytes) init3 = NULL;
  g_autoptr(ChatdPeerHandshake) a3 = initiator (&alice, &bob, &init3);
  g_autoptr(ChatdPeerHandshake) b3 = responder (&bob, &alice);
  g_autoptr(GBytes) r3 = answer (b3, init3);
  g_autoptr(GBytes) f3 = answer (a3, r3);
  g_autoptr(GBytes) none = answer (b3, f3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_assert_false (chatd_peer_handshake_receive (b3, f3, T0, &reply, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_peer_handshake_receive (a3, r3, T0, &reply, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_cmpint (chatd_peer_handshake_get_state (b3), ==, CHATD_PEER_HANDSHAKE_DONE);
  g_assert_cmpint (chatd_peer_handshake_get_state (a3), ==, CHATD_PEER_HANDSHAKE_DONE);

  /* a responder waiting for PEER_FINISH refuses a second PEER_INIT */
  g_autoptr(ChatdPeerHandshake) b4 = responder (&bob, &alice);
  g_autoptr(GBytes) r4 = answer (b4, init3);
  assert_dropped (b4, init3, CHATD_ERROR_REFUSED);
  test_handshake_clear (&old);
}

/* replaces field `index` of a handshake message */
static GBytes *
with_field (GBytes *message, guint index, const void *data, gsize len)
{
  g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (message, NULL);
  g_assert_nonnull (m);
  ChatdSlice fields[CHATD_AUTH_FIELDS_MAX];
  memcpy (fields, m->fields, sizeof fields);
  fields[index] = CHATD_SLICE (data, len);
  return chatd_auth_message_build (m->type, fields, m->n_fields);
}

/* Eve, a registered user with her own valid key, in the middle. */
static void
test_mitm (void)
{
  /* 1. she answers Alice's handshake for Bob with her own key and shares */
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  g_autoptr(ChatdPeerHandshake) eve_as_bob = impostor ("Bob", &eve, &alice);
  g_autoptr(GBytes) r = answer (eve_as_bob, init);
  assert_dropped (a, r, CHATD_ERROR_REFUSED);

  /* 2. she swaps Alice's share for her own on the way to Bob, and Bob's
   * for her own on the way back: the signatures cover the shares */
  g_autoptr(GBytes) init2 = NULL, eve_init = NULL;
  g_autoptr(ChatdPeerHandshake) a2 = initiator (&alice, &bob, &init2);
  g_autoptr(ChatdPeerHandshake) eve_side = initiator (&eve, &bob, &eve_init);
  g_autoptr(ChatdAuthMessage) em = chatd_auth_message_parse (eve_init, NULL);
  g_autoptr(GBytes) swapped = with_field (init2, PI_SHARE, em->fields[PI_SHARE].data, em->fields[PI_SHARE].len);
  g_autoptr(ChatdPeerHandshake) b2 = responder (&bob, &alice);
  g_autoptr(GBytes) r2 = answer (b2, swapped);
  assert_dropped (a2, r2, CHATD_ERROR_REFUSED);   /* Alice's transcript has her share */

  /* 3. misbinding: Alice talks to Eve (legitimately); Eve re-labels
   * Alice's first message as her own and sends it to Bob, then hands
   * Bob's response to Alice: Alice expects Eve's signature, gets Bob's
   * over a transcript naming Eve and Bob, and refuses */
  g_autoptr(GBytes) init3 = NULL;
  g_autoptr(ChatdPeerHandshake) a3 = initiator (&alice, &eve, &init3);
  g_autoptr(GBytes) relabel1 = with_field (init3, PI_INITIATOR, "Eve", 3);
  g_autoptr(GBytes) relabel = with_field (relabel1, PI_RESPONDER, "Bob", 3);
  g_autoptr(ChatdPeerHandshake) b3 = responder (&bob, &eve);
  g_autoptr(GBytes) r3 = answer (b3, relabel);
  assert_dropped (a3, r3, CHATD_ERROR_REFUSED);
}

/* What the first message says must match what each side expects, and the
 * transcript both sign must be the same. */
static void
test_mismatch (void)
{
  /* addressed to Carol, delivered to Bob */
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &carol_rsa, &init);
  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  assert_dropped (b, init, CHATD_ERROR_REFUSED);

  /* from Eve, while Bob expects Alice */
  g_autoptr(GBytes) init2 = NULL;
  g_autoptr(ChatdPeerHandshake) e = initiator (&eve, &bob, &init2);
  g_autoptr(ChatdPeerHandshake) b2 = responder (&bob, &alice);
  assert_dropped (b2, init2, CHATD_ERROR_REFUSED);

  /* a response whose nonce was changed in transit: the transcripts differ */
  g_autoptr(GBytes) init3 = NULL;
  g_autoptr(ChatdPeerHandshake) a3 = initiator (&alice, &bob, &init3);
  g_autoptr(ChatdPeerHandshake) b3 = responder (&bob, &alice);
  g_autoptr(GBytes) r3 = answer (b3, init3);
  guint8 other_nonce[CHATD_PEER_NONCE_LEN] = { 7 };
  g_autoptr(GBytes) bad_r3 = with_field (r3, PR_NONCE, other_nonce, sizeof other_nonce);
  assert_dropped (a3, bad_r3, CHATD_ERROR_REFUSED);

  /* a good signature with a wrong key confirmation */
  g_autoptr(GBytes) init4 = NULL;
  g_autoptr(ChatdPeerHandshake) a4 = initiator (&alice, &bob, &init4);
  g_autoptr(ChatdPeerHandshake) b4 = responder (&bob, &alice);
  g_autoptr(GBytes) r4 = answer (b4, init4);
  /* (re-sealed with the handshake key, as someone holding it could) */
  g_autoptr(GBytes) sig4 = NULL, mac4 = NULL;
  g_assert_true (chatd_peer_handshake_open_proof_for_testing (b4, CHATD_PEER_ROLE_RESPONDER, r4, &sig4, &mac4));
  g_autoptr(GBytes) zero_mac = g_bytes_new_take (g_malloc0 (32), 32);
  g_autoptr(GBytes) proof4 = chatd_peer_handshake_seal_proof_for_testing (b4, CHATD_PEER_ROLE_RESPONDER, sig4,
                                                                          zero_mac);
  g_autoptr(GBytes) bad_r4 = with_field (r4, PR_PROOF, g_bytes_get_data (proof4, NULL), g_bytes_get_size (proof4));
  assert_dropped (a4, bad_r4, CHATD_ERROR_REFUSED);
  /* the genuine proof re-sealed the same way is accepted: the hook is faithful */
  g_autoptr(GBytes) same4 = chatd_peer_handshake_seal_proof_for_testing (b4, CHATD_PEER_ROLE_RESPONDER, sig4, mac4);
  g_autoptr(GBytes) good_r4 = with_field (r4, PR_PROOF, g_bytes_get_data (same4, NULL), g_bytes_get_size (same4));
  g_autoptr(GBytes) f4 = answer (a4, good_r4);
  g_assert_nonnull (f4);

  /* the responder's signature moved into a finish message: the purposes
   * differ per role, so it does not verify as the initiator's */
  g_autoptr(GBytes) init5 = NULL;
  g_autoptr(ChatdPeerHandshake) a5 = initiator (&alice, &bob, &init5);
  g_autoptr(ChatdPeerHandshake) b5 = responder (&bob, &alice);
  g_autoptr(GBytes) r5 = answer (b5, init5);
  g_autoptr(GBytes) sig5 = NULL, mac5 = NULL;
  g_assert_true (chatd_peer_handshake_open_proof_for_testing (b5, CHATD_PEER_ROLE_RESPONDER, r5, &sig5, &mac5));
  g_autoptr(GBytes) proof5 = chatd_peer_handshake_seal_proof_for_testing (b5, CHATD_PEER_ROLE_INITIATOR, sig5, mac5);
  ChatdSlice reflected[] = { CHATD_SLICE (g_bytes_get_data (proof5, NULL), g_bytes_get_size (proof5)) };
  g_autoptr(GBytes) fake_finish = chatd_auth_message_build (CHATD_MSG_PEER_FINISH, reflected, 1);
  assert_dropped (b5, fake_finish, CHATD_ERROR_REFUSED);
  /* and the response's proof as it is (sealed for the other direction) */
  g_autoptr(ChatdAuthMessage) rm = chatd_auth_message_parse (r5, NULL);
  ChatdSlice moved[] = { rm->fields[PR_PROOF] };
  g_autoptr(GBytes) moved_finish = chatd_auth_message_build (CHATD_MSG_PEER_FINISH, moved, 1);
  assert_dropped (b5, moved_finish, CHATD_ERROR_REFUSED);
}

static void
test_bad_input (void)
{
  /* an all-zero (low-order) share */
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  guint8 zero[32] = { 0 };
  g_autoptr(GBytes) bad = with_field (init, PI_SHARE, zero, sizeof zero);
  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  assert_dropped (b, bad, CHATD_ERROR_REFUSED);

  /* garbage, a truncated message, a message of the wrong kind */
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\x01\x28\x06garbage", 10);
  g_autoptr(ChatdPeerHandshake) b2 = responder (&bob, &alice);
  assert_dropped (b2, garbage, CHATD_ERROR_INVALID_ARGUMENT);
  g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (init, 0, g_bytes_get_size (init) - 1);
  g_autoptr(ChatdPeerHandshake) b3 = responder (&bob, &alice);
  assert_dropped (b3, truncated, CHATD_ERROR_INVALID_ARGUMENT);
  g_autoptr(ChatdPeerHandshake) a4 = initiator (&alice, &bob, &(GBytes *) { NULL });
  assert_dropped (a4, init, CHATD_ERROR_REFUSED);   /* a PEER_INIT where a response is due */

  /* peek tells the responder whom to look up */
  g_autofree char *from = NULL, *to = NULL;
  g_assert_true (chatd_peer_handshake_peek_init (init, &from, &to, NULL));
  g_assert_cmpstr (from, ==, "Alice");
  g_assert_cmpstr (to, ==, "Bob");
  g_assert_false (chatd_peer_handshake_peek_init (garbage, &from, &to, NULL));
}

/* The names are in the transcript, not only the keys: the same keys under
 * another name (relabelled in transit, the responder knows the initiator's
 * key under that name, or knows itself by another name) do not make a
 * session. */
static void
test_names_in_transcript (void)
{
  g_autoptr(GError) error = NULL;
  /* the initiator's name changed: Bob has Alice's very key pinned as "Alicia" */
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  g_autoptr(GBytes) relabelled = with_field (init, PI_INITIATOR, "Alicia", 6);
  ChatdPeerIdentity b_self = self_of (&bob), alicia = { "Alicia", alice.public_key };
  g_autoptr(ChatdPeerHandshake) b = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &b_self, &alicia, NULL, T0,
                                                                        &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) response = answer (b, relabelled);
  assert_dropped (a, response, CHATD_ERROR_REFUSED);

  /* the responder's name changed: Bob's key, known to itself as "Robert" */
  g_autoptr(GBytes) init2 = NULL;
  g_autoptr(ChatdPeerHandshake) a2 = initiator (&alice, &bob, &init2);
  g_autoptr(GBytes) relabelled2 = with_field (init2, PI_RESPONDER, "Robert", 6);
  ChatdPeerIdentity robert = { "Robert", bob.key }, b_peer = peer_of (&alice);
  g_autoptr(ChatdPeerHandshake) b2 = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &robert, &b_peer, NULL, T0,
                                                                         &error);
  g_autoptr(GBytes) response2 = answer (b2, relabelled2);
  assert_dropped (a2, response2, CHATD_ERROR_REFUSED);
}

/* The signatures travel sealed under the handshake keys: neither
 * PEER_RESPONSE nor PEER_FINISH carries a signature an observer could read
 * and check against the published keys; opened with the handshake keys,
 * each is the signer's valid signature over the transcript. */
static void
test_proofs_sealed (void)
{
  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  g_autoptr(GBytes) response = answer (b, init);
  g_autoptr(GBytes) finish = answer (a, response);
  gsize th_len = 0;
  const guint8 *th = chatd_peer_handshake_transcript_hash (b, &th_len);
  ChatdSlice th_field = CHATD_SLICE (th, th_len);
  struct { GBytes *message; ChatdPeerRole of; const TestUser *signer; const char *purpose; } cases[] = {
    { response, CHATD_PEER_ROLE_RESPONDER, &bob, CHATD_PURPOSE_PEER_RESPONDER },
    { finish, CHATD_PEER_ROLE_INITIATOR, &alice, CHATD_PURPOSE_PEER_INITIATOR },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) sig = NULL, mac = NULL;
      g_assert_true (chatd_peer_handshake_open_proof_for_testing (b, cases[i].of, cases[i].message, &sig, &mac));
      g_assert_true (chatd_domain_verify (cases[i].signer->public_key, cases[i].purpose, &th_field, 1,
                                          g_bytes_get_data (sig, NULL), g_bytes_get_size (sig), NULL));
      gsize len = 0;
      const guint8 *wire = g_bytes_get_data (cases[i].message, &len);
      g_assert_null (memmem (wire, len, g_bytes_get_data (sig, NULL), g_bytes_get_size (sig)));
      g_assert_null (memmem (wire, len, g_bytes_get_data (mac, NULL), g_bytes_get_size (mac)));
    }
  g_autoptr(GBytes) none = answer (b, finish);
  g_assert_null (none);
  g_assert_cmpint (chatd_peer_handshake_get_state (b), ==, CHATD_PEER_HANDSHAKE_DONE);
  /* CHATD_PEER_WRITE_CORPUS=tests/fuzz/corpus/peer refreshes the fuzz seeds */
  const char *corpus = g_getenv ("CHATD_PEER_WRITE_CORPUS");
  if (corpus != NULL)
    {
      GBytes *seeds[] = { init, response, finish };
      const char *names[] = { "peer-init", "peer-response", "peer-finish" };
      for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
        {
          g_autofree char *path = g_build_filename (corpus, names[i], NULL);
          g_assert_true (g_file_set_contents (path, g_bytes_get_data (seeds[i], NULL),
                                              g_bytes_get_size (seeds[i]), NULL));
        }
    }
}

/* Junk, duplicates and forgeries on the wire do not kill a genuine
 * handshake: each is dropped and the genuine messages still complete it. */
static void
test_junk_then_genuine (void)
{
  g_autoptr(GBytes) init = NULL, other_init = NULL;
  g_autoptr(ChatdPeerHandshake) a = initiator (&alice, &bob, &init);
  g_autoptr(ChatdPeerHandshake) unrelated = initiator (&alice, &carol_rsa, &other_init);
  g_autoptr(ChatdPeerHandshake) b = responder (&bob, &alice);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\x01\x28\x06garbage", 10);
  guint8 zero[32] = { 0 };
  g_autoptr(GBytes) low_order = with_field (init, PI_SHARE, zero, sizeof zero);
  /* responder, before PEER_INIT: garbage, a message for Carol, a low-order
   * share, then the genuine PEER_INIT */
  assert_dropped (b, garbage, CHATD_ERROR_INVALID_ARGUMENT);
  assert_dropped (b, other_init, CHATD_ERROR_REFUSED);
  assert_dropped (b, low_order, CHATD_ERROR_REFUSED);
  g_autoptr(GBytes) response = answer (b, init);
  /* a duplicate PEER_INIT while waiting for PEER_FINISH */
  assert_dropped (b, init, CHATD_ERROR_REFUSED);
  /* initiator: Eve's response as "Bob", a response with a changed nonce,
   * then the genuine one */
  g_autoptr(ChatdPeerHandshake) eve_as_bob = impostor ("Bob", &eve, &alice);
  g_autoptr(GBytes) eve_response = answer (eve_as_bob, init);
  assert_dropped (a, eve_response, CHATD_ERROR_REFUSED);
  guint8 other_nonce[CHATD_PEER_NONCE_LEN] = { 7 };
  g_autoptr(GBytes) bad_response = with_field (response, PR_NONCE, other_nonce, sizeof other_nonce);
  assert_dropped (a, bad_response, CHATD_ERROR_REFUSED);
  g_autoptr(GBytes) finish = answer (a, response);
  g_assert_cmpint (chatd_peer_handshake_get_state (a), ==, CHATD_PEER_HANDSHAKE_DONE);
  /* responder: a finish with a damaged proof, then the genuine one */
  gsize finish_len = 0;
  guint8 *flipped = g_memdup2 (g_bytes_get_data (finish, &finish_len), g_bytes_get_size (finish));
  flipped[finish_len - 3] ^= 1;   /* inside the sealed proof */
  g_autoptr(GBytes) bad_finish = g_bytes_new_take (flipped, finish_len);
  assert_dropped (b, bad_finish, CHATD_ERROR_REFUSED);
  g_autoptr(GBytes) none = answer (b, finish);
  g_assert_null (none);
  g_assert_cmpint (chatd_peer_handshake_get_state (b), ==, CHATD_PEER_HANDSHAKE_DONE);
  g_assert_cmpuint (chatd_peer_handshake_dropped_count (b), ==, 5);
  g_assert_cmpuint (chatd_peer_handshake_dropped_count (a), ==, 2);
  /* and the sessions work */
  g_autoptr(ChatdPeerSession) sa = chatd_peer_handshake_take_session (a);
  g_autoptr(ChatdPeerSession) sb = chatd_peer_handshake_take_session (b);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) m = chatd_peer_session_seal (sa, NULL, 0, (const guint8 *) "hi", 2, NULL, &error);
  g_autoptr(GBytes) p = chatd_peer_session_open (sb, m, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (p, NULL), g_bytes_get_size (p), "hi", 2);
}

/* Dropped handshake messages: the handshake fails with TIMED_OUT at its
 * deadline, not before; when both users advertise sessions the policy is
 * "session required", so the caller retries instead of falling back, and a
 * retry succeeds. */
static void
test_dropped_times_out (void)
{
  g_assert_cmpint (chatd_peer_policy (TRUE, TRUE), ==, CHATD_PEER_POLICY_SESSION_REQUIRED);
  g_assert_cmpint (chatd_peer_policy (TRUE, FALSE), ==, CHATD_PEER_POLICY_ENVELOPES_ONLY);
  g_assert_cmpint (chatd_peer_policy (FALSE, TRUE), ==, CHATD_PEER_POLICY_ENVELOPES_ONLY);

  ChatdPeerHandshakeConfig config = { .timeout_us = 3 * G_USEC_PER_SEC };
  ChatdPeerIdentity s = self_of (&alice), p = peer_of (&bob);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL;
  /* PEER_INIT dropped */
  g_autoptr(ChatdPeerHandshake) a = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &s, &p, &config, T0, &init,
                                                                        &error);
  g_assert_cmpint (chatd_peer_handshake_deadline (a), ==, T0 + config.timeout_us);
  g_assert_true (chatd_peer_handshake_check_timeout (a, T0 + config.timeout_us - 1, &error));
  g_assert_no_error (error);
  g_assert_false (chatd_peer_handshake_check_timeout (a, T0 + config.timeout_us, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "retry"));
  g_assert_cmpint (chatd_peer_handshake_get_state (a), ==, CHATD_PEER_HANDSHAKE_FAILED);
  g_assert_null (chatd_peer_handshake_take_session (a));
  g_clear_error (&error);

  /* PEER_FINISH dropped: the responder times out; a late response to a
   * timed-out initiator is refused */
  ChatdPeerIdentity rs = self_of (&bob), rp = peer_of (&alice);
  g_autoptr(GBytes) init2 = NULL, r2 = NULL;
  g_autoptr(ChatdPeerHandshake) a2 = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &s, &p, &config, T0, &init2,
                                                                         &error);
  g_autoptr(ChatdPeerHandshake) b2 = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &rs, &rp, &config, T0, &error);
  g_assert_true (chatd_peer_handshake_receive (b2, init2, T0 + 1, &r2, &error));
  g_assert_false (chatd_peer_handshake_check_timeout (b2, T0 + 4 * G_USEC_PER_SEC, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_autoptr(GBytes) f2 = NULL;
  g_assert_false (chatd_peer_handshake_receive (a2, r2, T0 + 5 * G_USEC_PER_SEC, &f2, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_TIMED_OUT);
  g_assert_null (f2);

  /* the retry */
  TestHandshake t;
  test_run_handshake (&alice, &bob, &config, T0 + 6 * G_USEC_PER_SEC, FALSE, &t);
  test_handshake_clear (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  test_user_init (&alice, "Alice", &chatd_suite_25519, 0);
  test_user_init (&bob, "Bob", &chatd_suite_25519, 0);
  test_user_init (&eve, "Eve", &chatd_suite_25519, 0);
  test_user_init (&carol_rsa, "Carol", &chatd_suite_rsa, 2048);
  g_test_add_func ("/peer/handshake/success", test_success);
  g_test_add_func ("/peer/handshake/forged-identity", test_forged_identity);
  g_test_add_func ("/peer/handshake/replayed", test_replayed);
  g_test_add_func ("/peer/handshake/mitm", test_mitm);
  g_test_add_func ("/peer/handshake/mismatch", test_mismatch);
  g_test_add_func ("/peer/handshake/bad-input", test_bad_input);
  g_test_add_func ("/peer/handshake/names-in-transcript", test_names_in_transcript);
  g_test_add_func ("/peer/handshake/proofs-sealed", test_proofs_sealed);
  g_test_add_func ("/peer/handshake/junk-then-genuine", test_junk_then_genuine);
  g_test_add_func ("/peer/handshake/dropped-times-out", test_dropped_times_out);
  int status = g_test_run ();
  test_user_clear (&alice);
  test_user_clear (&bob);
  test_user_clear (&eve);
  test_user_clear (&carol_rsa);
  return status;
}
