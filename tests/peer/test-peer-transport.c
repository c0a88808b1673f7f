/* test-peer-transport.c: the peer handshake carried over the project's own
 * transport (the deterministic simulated network of tests/transport), the
 * session's packet protector installed on the connection, session messages
 * and MAC receipts through it, with loss and corruption.  A marker message
 * sent through the transport shows on the wire before the protector is in
 * place (the control) and never after.  Dropped handshake packets (a
 * blackhole) end in "failed, retry", and the retry succeeds. */
#include "peer-test-util.h"
#include "sim-harness.h"
#include "chatd-connection-private.h"

static TestUser alice, bob;

#define MARKER "MARKER-visible-if-unprotected"

typedef struct {
  SimNet             *net;
  SimNode            *a, *b;
  ChatdPeerHandshake *ha, *hb;
  ChatdPeerSession   *sa, *sb;
  guint               opened_at_b, receipts_at_a, markers_delivered, refused;
  gboolean            counting_markers_after;
  guint               markers_on_wire_before, markers_on_wire_after;
} Link;

static gint64
now (Link *l)
{
  return simnet_now (l->net);
}

static void
tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  Link *l = user_data;
  if (memmem (data, len, MARKER, strlen (MARKER)) != NULL)
    {
      if (l->counting_markers_after)
        l->markers_on_wire_after++;
      else
        l->markers_on_wire_before++;
    }
}

static void
install (ChatdConnection *conn, ChatdPeerSession *session)
{
  ChatdPacketProtector protector;
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_peer_session_take_protector (session, &protector, &error));
  g_assert_true (chatd_connection_install_protector (conn, &protector, &error));
  g_assert_no_error (error);
}

static void
send_on (Link *l, ChatdConnection *conn, GBytes *bytes)
{
  chatd_connection_send (conn, now (l), bytes, NULL, NULL);
}

static void
on_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
            gpointer user_data)
{
  Link *l = user_data;
  gboolean at_b = ep == l->b->endpoint;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  if (len >= strlen (MARKER) && memcmp (data, MARKER, strlen (MARKER)) == 0)
    {
      l->markers_delivered++;
      return;
    }
  g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (message, &error);
  g_assert_no_error (error);
  switch (m->type)
    {
    case CHATD_MSG_PEER_INIT:
      {
        g_assert_true (at_b);
        g_autofree char *initiator = NULL, *responder = NULL;
        g_assert_true (chatd_peer_handshake_peek_init (message, &initiator, &responder, &error));
        g_assert_cmpstr (initiator, ==, "Alice");   /* the responder looks Alice up */
        ChatdPeerIdentity self = self_of (&bob), peer = peer_of (&alice);
        g_clear_pointer (&l->hb, chatd_peer_handshake_free);
        l->hb = chatd_peer_handshake_new_responder (CHANNEL_SUITE, &self, &peer, NULL, now (l), &error);
        g_assert_true (chatd_peer_handshake_receive (l->hb, message, now (l), &reply, &error));
        send_on (l, conn, reply);
        break;
      }
    case CHATD_MSG_PEER_RESPONSE:
      g_assert_false (at_b);
      g_assert_true (chatd_peer_handshake_receive (l->ha, message, now (l), &reply, &error));
      send_on (l, conn, reply);
      l->sa = chatd_peer_handshake_take_session (l->ha);
      install (conn, l->sa);
      break;
    case CHATD_MSG_PEER_FINISH:
      g_assert_true (at_b);
      g_assert_true (chatd_peer_handshake_receive (l->hb, message, now (l), &reply, &error));
      l->sb = chatd_peer_handshake_take_session (l->hb);
      install (conn, l->sb);
      break;
    case CHATD_MSG_PEER_MESSAGE:
      {
        g_assert_true (at_b);
        guint64 counter = 0;
        g_autoptr(GBytes) plain = chatd_peer_session_open (l->sb, message, (const guint8 *) "A>B", 3, &counter,
                                                           &error);
        if (plain == NULL)
          {
            l->refused++;
            return;
          }
        g_assert_cmpuint (g_bytes_get_size (plain), ==, 100);
        l->opened_at_b++;
        g_autoptr(GBytes) receipt = chatd_peer_session_receipt (l->sb, message, 0, &error);
        send_on (l, conn, receipt);
        break;
      }
    case CHATD_MSG_PEER_RECEIPT:
      g_assert_false (at_b);
      g_assert_true (chatd_peer_session_check_receipt (l->sa, message, NULL, NULL, &error));
      l->receipts_at_a++;
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_no_error (error);
}

static void
link_init (Link *l, guint32 seed)
{
  memset (l, 0, sizeof *l);
  l->net = simnet_new (seed);
  l->a = simnet_add_node (l->net, 1, 1000, NULL);
  l->b = simnet_add_node (l->net, 2, 2000, NULL);
  chatd_endpoint_set_message_callback (l->a->endpoint, on_message, l);
  chatd_endpoint_set_message_callback (l->b->endpoint, on_message, l);
  simnet_set_tap (l->net, tap, l);
}

static void
link_clear (Link *l)
{
  simnet_free (l->net);
  g_clear_pointer (&l->ha, chatd_peer_handshake_free);
  g_clear_pointer (&l->hb, chatd_peer_handshake_free);
  g_clear_pointer (&l->sa, chatd_peer_session_free);
  g_clear_pointer (&l->sb, chatd_peer_session_free);
}

static ChatdConnection *
connection (SimNode *from, SimNode *to)
{
  return chatd_endpoint_lookup (from->endpoint, &to->addr);
}

static gboolean
both_protected (gpointer user_data)
{
  Link *l = user_data;
  ChatdConnection *ca = connection (l->a, l->b), *cb = connection (l->b, l->a);
  return ca != NULL && cb != NULL && chatd_connection_is_protected (ca) && chatd_connection_is_protected (cb);
}

static void
send_marker (Link *l, SimNode *from, SimNode *to)
{
  g_autoptr(GBytes) marker = g_bytes_new_static (MARKER, strlen (MARKER));
  chatd_endpoint_send (from->endpoint, now (l), &to->addr, marker, NULL, NULL);
}

static void
start_handshake (Link *l)
{
  ChatdPeerIdentity self = self_of (&alice), peer = peer_of (&bob);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) init = NULL;
  g_clear_pointer (&l->ha, chatd_peer_handshake_free);
  l->ha = chatd_peer_handshake_new_initiator (CHANNEL_SUITE, &self, &peer, NULL, now (l), &init, &error);
  g_assert_no_error (error);
  chatd_endpoint_send (l->a->endpoint, now (l), &l->b->addr, init, NULL, NULL);
}

static guint want_messages;

static gboolean
all_through (gpointer user_data)
{
  Link *l = user_data;
  return l->opened_at_b == want_messages && l->receipts_at_a == want_messages && l->markers_delivered >= 3;
}

static void
test_over_transport (void)
{
  for (guint32 seed = 0; seed < 4; seed++)
    {
      Link l;
      link_init (&l, 800 + seed);
      l.a->uplink.loss = 0.2;
      l.b->uplink.loss = 0.2;
      /* the control: a marker through the unprotected connection is on the wire */
      send_marker (&l, l.a, l.b);
      start_handshake (&l);
      g_assert_true (simnet_run (l.net, now (&l) + 30 * G_USEC_PER_SEC, both_protected, &l));
      g_assert_cmpint (chatd_peer_handshake_get_state (l.ha), ==, CHATD_PEER_HANDSHAKE_DONE);
      g_assert_cmpint (chatd_peer_handshake_get_state (l.hb), ==, CHATD_PEER_HANDSHAKE_DONE);
      g_assert_cmpuint (l.markers_on_wire_before, >, 0);

      /* from now on every packet is sealed with the session's transport keys */
      l.counting_markers_after = TRUE;
      send_marker (&l, l.a, l.b);
      send_marker (&l, l.b, l.a);
      l.a->uplink.corrupt = 0.05;
      l.b->uplink.corrupt = 0.05;
      want_messages = 60;
      for (guint i = 0; i < want_messages; i++)
        {
          guint8 text[100];
          memset (text, 'a' + i % 26, sizeof text);
          g_autoptr(GError) error = NULL;
          g_autoptr(GBytes) m = chatd_peer_session_seal (l.sa, (const guint8 *) "A>B", 3, text, sizeof text, NULL,
                                                         &error);
          g_assert_no_error (error);
          send_on (&l, connection (l.a, l.b), m);
        }
      g_assert_true (simnet_run (l.net, now (&l) + 60 * G_USEC_PER_SEC, all_through, &l));
      g_assert_cmpuint (l.refused, ==, 0);
      g_assert_cmpuint (l.markers_on_wire_after, ==, 0);
      ChatdConnection *cb = connection (l.b, l.a), *ca = connection (l.a, l.b);
      g_test_message ("seed %u: %u messages and receipts through the protected connection; "
                      "%" G_GUINT64_FORMAT " corrupt packets dropped", seed, want_messages,
                      chatd_connection_get_counter (ca, "dropped_auth_failed") +
                      chatd_connection_get_counter (cb, "dropped_auth_failed"));
      link_clear (&l);
    }
}

/* An attacker drops every packet for 20 s right after the initiator sends
 * PEER_INIT: the handshake fails at its deadline with TIMED_OUT ("retry"),
 * not before, and no session exists; once packets flow again a new
 * handshake succeeds. */
static void
test_dropped_handshake (void)
{
  Link l;
  link_init (&l, 900);
  send_marker (&l, l.a, l.b);   /* the connection exists */
  simnet_run (l.net, now (&l) + 5 * G_USEC_PER_SEC, NULL, NULL);
  g_assert_cmpuint (l.markers_delivered, ==, 1);
  gint64 t = now (&l);
  l.a->uplink.blackhole_from_us = t;
  l.a->uplink.blackhole_until_us = t + 20 * G_USEC_PER_SEC;
  l.b->uplink.blackhole_from_us = t;
  l.b->uplink.blackhole_until_us = t + 20 * G_USEC_PER_SEC;
  start_handshake (&l);
  gint64 deadline = chatd_peer_handshake_deadline (l.ha);
  simnet_run (l.net, deadline - 1, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_peer_handshake_check_timeout (l.ha, now (&l), &error));
  simnet_run (l.net, deadline, NULL, NULL);
  g_assert_false (chatd_peer_handshake_check_timeout (l.ha, now (&l), &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_TIMED_OUT);
  g_assert_null (l.sa);
  g_assert_cmpint (chatd_peer_policy (TRUE, TRUE), ==, CHATD_PEER_POLICY_SESSION_REQUIRED);
  g_test_message ("%s", error->message);

  /* after the blackhole: the retry (the transport may have given up on the
   * old connection and opens a new one) */
  simnet_run (l.net, t + 21 * G_USEC_PER_SEC, NULL, NULL);
  start_handshake (&l);
  g_assert_true (simnet_run (l.net, now (&l) + 30 * G_USEC_PER_SEC, both_protected, &l));
  g_assert_nonnull (l.sa);
  g_assert_nonnull (l.sb);
  link_clear (&l);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  test_user_init (&alice, "Alice", &chatd_suite_25519, 0);
  test_user_init (&bob, "Bob", &chatd_suite_25519, 0);
  g_test_add_func ("/peer/transport/handshake-protector-messages", test_over_transport);
  g_test_add_func ("/peer/transport/dropped-handshake", test_dropped_handshake);
  int status = g_test_run ();
  test_user_clear (&alice);
  test_user_clear (&bob);
  return status;
}
