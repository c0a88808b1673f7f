/* test-peer-channel.c: two user nodes' peer channels (daemon/messaging/
 * peer-channel.c) over real transports on 127.0.0.1, without the rest of
 * the node: a handshake, messages sealed in the session, and their
 * receipts, which leave in batches (PEER_RECEIPTS, one MAC per batch)
 * rather than one transport message each.  A recorded batch played again,
 * a receipt for a message in flight with a MAC that is not its own, one
 * that adds a message never sent, and a batch relabelled with an unknown
 * session id are refused and counted (sessions.refused), deliver nothing,
 * and the session goes on. */
#include "peer-channel.h"
#include "crypto-init.h"
#include "suite-check.h"
#include "peer-wire.h"
#include "suite-25519.h"

#include <string.h>

typedef struct {
  const char         *name;
  ChatdKey           *key;
  GBytes             *public_key;
  ChatdTransport     *transport;
  ChatdPeerChannels  *channels;
  guint               delivered, failed, received;
  GPtrArray          *batches;          /* PEER_RECEIPTS as they came (Alice) */
  guint               single_receipts;  /* PEER_RECEIPT as they came */
  ChatdConnection    *last_connection;
} Node;

static const ChatdKey *
own_key (gpointer data)
{
  return ((Node *) data)->key;
}

static void
on_delivered (gpointer tag, gpointer data)
{
  ((Node *) data)->delivered++;
}

static void
on_failed (gpointer tag, const GError *error, gpointer data)
{
  g_test_message ("failed: %s", error->message);
  ((Node *) data)->failed++;
}

static void
on_received (const char *peer, GBytes *plaintext, gpointer receipt_ref, gpointer data)
{
  Node *node = data;
  node->received++;
  /* as the messenger does after its group commit */
  chatd_peer_channels_send_receipt (node->channels, receipt_ref, TRUE);
}

static void
on_need_key (const char *peer, gpointer data)
{
  g_assert_not_reached ();   /* both keys are set up front */
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from, GBytes *message,
            gpointer user_data)
{
  Node *node = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (message, &error);
  g_assert_no_error (error);
  if (parsed->type == CHATD_MSG_PEER_RECEIPTS)
    g_ptr_array_add (node->batches, g_bytes_ref (message));
  if (parsed->type == CHATD_MSG_PEER_RECEIPT)
    node->single_receipts++;
  g_clear_pointer (&node->last_connection, chatd_connection_unref);
  node->last_connection = chatd_connection_ref (connection);
  chatd_peer_channels_handle (node->channels, connection, parsed, message);
}

static guint64 counter_value;
static const char *counter_name;

static void
visit_counter (const char *name, guint64 value, gpointer data)
{
  if (strcmp (name, counter_name) == 0)
    counter_value = value;
}

static guint64
counter (Node *node, const char *name)
{
  counter_name = name;
  counter_value = G_MAXUINT64;
  chatd_peer_channels_foreach_counter (node->channels, visit_counter, NULL);
  g_assert_cmpuint (counter_value, !=, G_MAXUINT64);
  return counter_value;
}

static void
node_init (Node *node, const char *name, ChatdRegistry *registry)
{
  g_autoptr(GError) error = NULL;
  node->name = name;
  node->key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  g_assert_no_error (error);
  node->public_key = chatd_suite_25519.export_public (node->key, &error);
  g_assert_no_error (error);
  node->transport = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  node->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  ChatdPeerChannelCallbacks callbacks = { own_key, on_delivered, on_failed, on_received, on_need_key };
  node->channels = chatd_peer_channels_new (node->transport, registry, &chatd_suite_25519, name, NULL, &callbacks,
                                            node);
  chatd_transport_set_message_callback (node->transport, on_message, node);
}

static void
node_clear (Node *node)
{
  g_clear_pointer (&node->channels, chatd_peer_channels_free);
  g_clear_pointer (&node->last_connection, chatd_connection_unref);
  g_clear_pointer (&node->transport, chatd_transport_free);
  g_clear_pointer (&node->batches, g_ptr_array_unref);
  g_clear_pointer (&node->public_key, g_bytes_unref);
  g_clear_pointer (&node->key, chatd_key_free);
}

/* runs the main loop until *value reaches want (or 30 s pass) */
static void
run_until (const guint *value, guint want)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (*value < want && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (*value, ==, want);
}

/* a few iterations without waiting: the idles (callbacks, batches) run */
static void
settle (void)
{
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
send_text (Node *from, Node *to, guint i)
{
  g_autofree char *text = g_strdup_printf ("message %u", i);
  g_autoptr(GBytes) plaintext = g_bytes_new (text, strlen (text));
  chatd_peer_channels_send (from->channels, to->name, chatd_transport_get_local_address (to->transport), plaintext,
                            GUINT_TO_POINTER (i + 1));
}

/* a copy of batch with its fields replaced where given */
static GBytes *
rebuilt (GBytes *batch, const guint8 *session_id, const guint8 *entries, gsize entries_len, gboolean flip_mac)
{
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (batch, NULL);
  g_assert_nonnull (parsed);
  guint8 mac[64];
  gsize mac_len = parsed->fields[PB_MAC].len;
  memcpy (mac, parsed->fields[PB_MAC].data, mac_len);
  if (flip_mac)
    mac[0] ^= 1;
  ChatdSlice fields[] = {
    [PB_SESSION] = session_id ? CHATD_SLICE (session_id, CHATD_PEER_SESSION_ID_LEN) : parsed->fields[PB_SESSION],
    [PB_ENTRIES] = entries ? CHATD_SLICE (entries, entries_len) : parsed->fields[PB_ENTRIES],
    [PB_MAC] = CHATD_SLICE (mac, mac_len),
  };
  return chatd_auth_message_build (CHATD_MSG_PEER_RECEIPTS, fields, G_N_ELEMENTS (fields));
}

static void
inject (Node *node, GBytes *bytes)
{
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (bytes, NULL);
  g_assert_nonnull (parsed);
  chatd_peer_channels_handle (node->channels, node->last_connection, parsed, bytes);
}

static void
test_receipt_batches (void)
{
  g_autoptr(ChatdRegistry) registry = chatd_registry_new (chatd_suite_check);
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_registry_add_suite (registry, &chatd_suite_25519, "suite-25519", &error));
  Node alice = { 0 }, bob = { 0 };
  node_init (&alice, "Alice", registry);
  node_init (&bob, "Bob", registry);
  g_assert_true (chatd_peer_channels_set_peer_key (alice.channels, "Bob", "25519", bob.public_key, &error));
  g_assert_true (chatd_peer_channels_set_peer_key (bob.channels, "Alice", "25519", alice.public_key, &error));
  g_assert_no_error (error);

  enum { N = 120 };
  for (guint i = 0; i < N; i++)
    send_text (&alice, &bob, i);
  run_until (&alice.delivered, N);
  g_assert_cmpuint (bob.received, ==, N);
  g_assert_cmpuint (alice.failed, ==, 0);
  g_assert_cmpuint (counter (&alice, "receipts"), ==, N);
  g_assert_cmpuint (counter (&alice, "refused"), ==, 0);
  g_assert_cmpuint (counter (&bob, "refused"), ==, 0);
  /* the receipts came in batches, not one transport message each */
  g_test_message ("%u receipts in %u batches", N, alice.batches->len);
  g_assert_cmpuint (alice.single_receipts, ==, 0);
  g_assert_cmpuint (alice.batches->len, >=, 1);
  g_assert_cmpuint (alice.batches->len, <, N / 2);
  g_assert_nonnull (alice.last_connection);

  /* a recorded batch again: refused, counted, nothing delivered twice */
  GBytes *recorded = g_ptr_array_index (alice.batches, 0);
  inject (&alice, recorded);
  settle ();
  g_assert_cmpuint (counter (&alice, "refused"), ==, 1);
  g_assert_cmpuint (alice.delivered, ==, N);

  /* the next messages wait for receipts; forged batches for them are
   * refused before the real one arrives */
  guint before = alice.batches->len;
  for (guint i = N; i < N + 3; i++)
    send_text (&alice, &bob, i);
  run_until (&alice.delivered, N + 3);
  g_assert_cmpuint (alice.batches->len, >, before);
  GBytes *latest = g_ptr_array_index (alice.batches, alice.batches->len - 1);
  g_autoptr(ChatdAuthMessage) lp = chatd_auth_message_parse (latest, NULL);
  const guint8 *last_entry = (const guint8 *) lp->fields[PB_ENTRIES].data + lp->fields[PB_ENTRIES].len
                             - CHATD_PEER_RECEIPT_ENTRY_LEN;
  guint64 last_counter = 0;
  for (guint i = 0; i < 8; i++)
    last_counter = last_counter << 8 | last_entry[i];
  /* one more message, sealed and sent; Bob has not seen it yet */
  send_text (&alice, &bob, N + 3);
  g_main_context_iteration (NULL, FALSE);
  guint8 entries[2 * CHATD_PEER_RECEIPT_ENTRY_LEN] = { 0 };
  chatd_u64_to_be (last_counter + 1, entries);
  chatd_u64_to_be (last_counter + 1000, entries + CHATD_PEER_RECEIPT_ENTRY_LEN);
  /* a receipt for it with a MAC that is not its own */
  g_autoptr(GBytes) wrong_mac = rebuilt (latest, NULL, entries, CHATD_PEER_RECEIPT_ENTRY_LEN, TRUE);
  inject (&alice, wrong_mac);
  /* it with a message never sent */
  g_autoptr(GBytes) mixed = rebuilt (latest, NULL, entries, sizeof entries, FALSE);
  inject (&alice, mixed);
  /* a good batch relabelled with a session id nobody has */
  guint8 unknown[CHATD_PEER_SESSION_ID_LEN];
  memset (unknown, 0x42, sizeof unknown);
  g_autoptr(GBytes) relabelled = rebuilt (latest, unknown, NULL, 0, FALSE);
  inject (&alice, relabelled);
  /* the latest batch again */
  inject (&alice, latest);
  /* (checked at once: the real receipt may come in the next iteration) */
  g_assert_cmpuint (counter (&alice, "refused"), ==, 5);
  g_assert_cmpuint (counter (&alice, "receipts"), ==, N + 3);
  /* the session goes on: the message in flight is delivered by the real receipt */
  run_until (&alice.delivered, N + 4);
  g_assert_cmpuint (counter (&alice, "refused"), ==, 5);
  g_assert_cmpuint (alice.failed, ==, 0);
  g_assert_cmpuint (bob.received, ==, N + 4);
  node_clear (&alice);
  node_clear (&bob);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/messaging/peer-channel/receipt-batches", test_receipt_batches);
  return g_test_run ();
}
