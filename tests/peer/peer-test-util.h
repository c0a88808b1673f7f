/* peer-test-util.h: users and a handshake driver shared by the peer tests. */
#pragma once
#include "auth-message.h"
#include "peer-handshake.h"
#include "peer-testing.h"
#include "peer-link.h"
#include "peer-ratchet.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <string.h>

typedef struct {
  const char *name;
  ChatdKey   *key;          /* private */
  ChatdKey   *public_key;
} TestUser;

G_GNUC_UNUSED static ChatdKey *
test_public_of (const ChatdKey *key)
{
  g_autoptr(GBytes) blob = key->suite->export_public (key, NULL);
  return key->suite->import_public (key->suite, g_bytes_get_data (blob, NULL),
                                    g_bytes_get_size (blob), NULL);
}

G_GNUC_UNUSED static void
test_user_init (TestUser *user, const char *name, const ChatdSuite *suite, guint bits)
{
  user->name = name;
  user->key = suite->generate (suite, bits, NULL);
  g_assert_nonnull (user->key);
  user->public_key = test_public_of (user->key);
  g_assert_nonnull (user->public_key);
}

G_GNUC_UNUSED static void
test_user_clear (TestUser *user)
{
  g_clear_pointer (&user->key, chatd_key_free);
  g_clear_pointer (&user->public_key, chatd_key_free);
}

G_GNUC_UNUSED static ChatdPeerIdentity
self_of (const TestUser *user)
{
  return (ChatdPeerIdentity) { user->name, user->key };
}

G_GNUC_UNUSED static ChatdPeerIdentity
peer_of (const TestUser *user)
{
  return (ChatdPeerIdentity) { user->name, user->public_key };
}

#define CHANNEL_SUITE (&chatd_suite_25519)

/* What a successful handshake recorded. */
typedef struct {
  GBytes           *init, *response, *finish;
  ChatdPeerSession *initiator, *responder;
  ChatdSecret      *initiator_ephemeral;   /* only if asked for */
} TestHandshake;

G_GNUC_UNUSED static void
test_handshake_clear (TestHandshake *t)
{
  g_clear_pointer (&t->init, g_bytes_unref);
  g_clear_pointer (&t->response, g_bytes_unref);
  g_clear_pointer (&t->finish, g_bytes_unref);
  g_clear_pointer (&t->initiator, chatd_peer_session_free);
  g_clear_pointer (&t->responder, chatd_peer_session_free);
  g_clear_pointer (&t->initiator_ephemeral, chatd_secret_free);
}

/* a whole handshake between two honest users; asserts that it succeeds */
G_GNUC_UNUSED static void
test_run_handshake (const TestUser *i, const TestUser *r, const ChatdPeerHandshakeConfig *config,
                    gint64 now_us, gboolean keep_ephemeral, TestHandshake *out)
{
  g_autoptr(GError) error = NULL;
  ChatdPeerIdentity i_self = self_of (i), i_peer = peer_of (r);
  ChatdPeerIdentity r_self = self_of (r), r_peer = peer_of (i);
  memset (out, 0, sizeof *out);
  g_autoptr(ChatdPeerHandshake) hi = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &i_self, &i_peer,
                                                                         config, now_us, &out->init, &error);
  g_assert_no_error (error);
  if (keep_ephemeral)
    out->initiator_ephemeral = chatd_peer_handshake_copy_ephemeral_for_testing (hi);
  g_autoptr(ChatdPeerHandshake) hr = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &r_self, &r_peer,
                                                                         config, now_us, &error);
  g_assert_no_error (error);
  g_assert_true (chatd_peer_handshake_receive (hr, out->init, now_us, &out->response, &error));
  g_assert_no_error (error);
  g_assert_true (chatd_peer_handshake_receive (hi, out->response, now_us, &out->finish, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) none = NULL;
  g_assert_true (chatd_peer_handshake_receive (hr, out->finish, now_us, &none, &error));
  g_assert_no_error (error);
  g_assert_null (none);
  g_assert_cmpint (chatd_peer_handshake_get_state (hi), ==, CHATD_PEER_HANDSHAKE_DONE);
  g_assert_cmpint (chatd_peer_handshake_get_state (hr), ==, CHATD_PEER_HANDSHAKE_DONE);
  gsize li = 0, lr = 0;
  const guint8 *thi = chatd_peer_handshake_transcript_hash (hi, &li);
  const guint8 *thr = chatd_peer_handshake_transcript_hash (hr, &lr);
  g_assert_cmpmem (thi, li, thr, lr);
  out->initiator = chatd_peer_handshake_take_session (hi);
  out->responder = chatd_peer_handshake_take_session (hr);
  g_assert_nonnull (out->initiator);
  g_assert_nonnull (out->responder);
  g_assert_cmpmem (chatd_peer_session_id (out->initiator), CHATD_PEER_SESSION_ID_LEN,
                   chatd_peer_session_id (out->responder), CHATD_PEER_SESSION_ID_LEN);
}
