/* fuzz-peer.c: the peer session's inputs from the network.
 *
 * The same bytes go to a responder waiting for PEER_INIT, an initiator
 * waiting for PEER_RESPONSE, a responder waiting for PEER_FINISH, and a
 * session's open and receipt checks (one receipt, and a batch: PEER_RECEIPTS
 * also with its session id replaced by the session's own, so that the
 * entries, the lookup of the messages and the MAC are reached; the session
 * has sealed a few messages that wait for receipts).  Keys and sessions
 * are made once.
 * Nothing may crash; whatever is refused fails the handshake with an error,
 * and a session never opens what it did not seal.
 */
#include "peer-handshake.h"
#include "suite-25519.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static ChatdKey *alice, *alice_public, *bob, *bob_public;
static ChatdPeerSession *session;

static ChatdKey *
public_of (const ChatdKey *key)
{
  g_autoptr(GBytes) blob = key->suite->export_public (key, NULL);
  return key->suite->import_public (key->suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
}

static void
setup (void)
{
  if (alice != NULL)
    return;
  g_assert_true (chatd_crypto_init (NULL));
  alice = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  bob = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  alice_public = public_of (alice);
  bob_public = public_of (bob);
  ChatdPeerIdentity a = { "Alice", alice }, a_peer = { "Bob", bob_public };
  ChatdPeerIdentity b = { "Bob", bob }, b_peer = { "Alice", alice_public };
  g_autoptr(GBytes) init = NULL, response = NULL, finish = NULL, none = NULL;
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (&chatd_suite_25519, &a, &a_peer, NULL, 0,
                                                                         &init, NULL);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (&chatd_suite_25519, &b, &b_peer, NULL, 0,
                                                                         NULL);
  g_assert_true (chatd_peer_handshake_receive (hr, init, 0, &response, NULL));
  g_assert_true (chatd_peer_handshake_receive (hi, response, 0, &finish, NULL));
  g_assert_true (chatd_peer_handshake_receive (hr, finish, 0, &none, NULL));
  session = chatd_peer_handshake_take_session (hr);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) sealed = chatd_peer_session_seal (session, NULL, 0, (const guint8 *) "m", 1, NULL, NULL);
      g_assert_nonnull (sealed);
    }
}

/* a batch of receipts is never accepted (nobody but the peer has the key),
 * and a refused one leaves the messages waiting */
static void
check_batch (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (bytes, &error);
  if (parsed == NULL || parsed->type != CHATD_MSG_PEER_RECEIPTS)
    return;
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  guint n = 0;
  g_assert_false (chatd_peer_session_check_receipts (session, parsed, counters, statuses, &n, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (chatd_peer_session_unacked_count (session), ==, 4);
  /* the same with this session's id */
  ChatdSlice fields[] = {
    [PB_SESSION] = CHATD_SLICE (chatd_peer_session_id (session), CHATD_PEER_SESSION_ID_LEN),
    [PB_ENTRIES] = parsed->fields[PB_ENTRIES],
    [PB_MAC] = parsed->fields[PB_MAC],
  };
  g_autoptr(GBytes) ours = chatd_auth_message_build (CHATD_MSG_PEER_RECEIPTS, fields, G_N_ELEMENTS (fields));
  g_autoptr(ChatdAuthMessage) ours_parsed = chatd_auth_message_parse (ours, NULL);
  g_assert_nonnull (ours_parsed);
  g_clear_error (&error);
  g_assert_false (chatd_peer_session_check_receipts (session, ours_parsed, counters, statuses, &n, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (chatd_peer_session_unacked_count (session), ==, 4);
}

static void
feed (ChatdPeerHandshake *h, GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  ChatdPeerHandshakeState before = chatd_peer_handshake_get_state (h);
  if (!chatd_peer_handshake_receive (h, bytes, 0, &reply, &error))
    {
      /* dropped: the handshake is as it was */
      g_assert_nonnull (error);
      g_assert_null (reply);
      g_assert_cmpint (chatd_peer_handshake_get_state (h), ==, before);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  setup ();
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  ChatdPeerIdentity a = { "Alice", alice }, a_peer = { "Bob", bob_public };
  ChatdPeerIdentity b = { "Bob", bob }, b_peer = { "Alice", alice_public };

  g_autoptr(ChatdPeerHandshake) responder = chatd_peer_handshake_new_responder (&chatd_suite_25519, &b, &b_peer,
                                                                                NULL, 0, NULL);
  feed (responder, bytes);

  g_autoptr(GBytes) init = NULL;
  g_autoptr(ChatdPeerHandshake) initiator = chatd_peer_handshake_new_initiator (&chatd_suite_25519, &a, &a_peer,
                                                                                NULL, 0, &init, NULL);
  feed (initiator, bytes);   /* a forged response never verifies */
  g_assert_cmpint (chatd_peer_handshake_get_state (initiator), ==, CHATD_PEER_HANDSHAKE_WAIT_RESPONSE);

  g_autoptr(ChatdPeerHandshake) waiting = chatd_peer_handshake_new_responder (&chatd_suite_25519, &b, &b_peer,
                                                                              NULL, 0, NULL);
  g_autoptr(GBytes) response = NULL;
  g_assert_true (chatd_peer_handshake_receive (waiting, init, 0, &response, NULL));
  feed (waiting, bytes);
  g_assert_cmpint (chatd_peer_handshake_get_state (waiting), ==, CHATD_PEER_HANDSHAKE_WAIT_FINISH);

  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) plain = chatd_peer_session_open (session, bytes, NULL, 0, NULL, &error);
  g_assert_null (plain);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (chatd_peer_session_check_receipt (session, bytes, NULL, NULL, &error));
  g_assert_nonnull (error);
  check_batch (bytes);
  return 0;
}
