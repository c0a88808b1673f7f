/* test-eve.c: Eve, a registered user who knows her own private key, against
 * Bob's real node.  She sends envelopes straight to Bob's transport address
 * (as any peer can): a forged sender, Alice's ciphertext re-signed as her own,
 * a replay, an envelope for Charlie re-addressed to Bob, a tampered
 * ciphertext.  Bob's node must store only Alice's real message, once, send
 * receipts only for it, and log and count every refusal.
 *
 * The keys come from the server's directory (the demo users' keys are wrapped
 * there with their names as passwords), so Eve signs with her real key and
 * the control message is a real one of Alice's.
 *
 * Also: a contact whose key really changes (Bob deleted and registered
 * again) is reported to Alice: a key-changed event, and verify shows the new
 * fingerprint with the old one in its history. */
#include "chat-net.h"
#include "envelope.h"
#include "password-wrap.h"
#include "chatd-transport.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <gcrypt.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

typedef struct {
  ChatdKey *key;          /* private */
  ChatdKey *public_key;
  guint8    fingerprint[32];
} User;

static void
user_clear (User *u)
{
  g_clear_pointer (&u->key, chatd_key_free);
  g_clear_pointer (&u->public_key, chatd_key_free);
}

static const ChatdSuite *
suite_named (const char *name)
{
  return g_str_equal (name, "rsa") ? &chatd_suite_rsa : &chatd_suite_25519;
}

/* a demo user's keys, from the server's directory: the password is the name */
static void
load_user (TestNode *server, const char *name, User *ret)
{
  g_autofree char *db_path = g_build_filename (server->state_dir, "directory.db", NULL);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT suite, public_key, wrapped_key FROM users WHERE name_key = ?",
                                       -1, &st, NULL), ==, SQLITE_OK);
  g_autofree char *folded = g_ascii_strdown (name, -1);
  sqlite3_bind_text (st, 1, folded, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  const ChatdSuite *suite = suite_named ((const char *) sqlite3_column_text (st, 0));
  g_autoptr(GError) error = NULL;
  ret->public_key = suite->import_public (suite, sqlite3_column_blob (st, 1), sqlite3_column_bytes (st, 1), &error);
  g_assert_no_error (error);
  g_assert_true (chatd_key_fingerprint (ret->public_key, ret->fingerprint, &error));
  g_assert_true (chatd_password_unwrap_key (folded, suite, (const guint8 *) name, strlen (name),
                                            sqlite3_column_blob (st, 2), sqlite3_column_bytes (st, 2),
                                            &ret->key, &error));
  g_assert_no_error (error);
  sqlite3_finalize (st);
  sqlite3_close (db);
}

/* --- rewriting an envelope field by field --- */

static ChatdAuthMessage *
parse (GBytes *bytes)
{
  ChatdAuthMessage *m = chatd_auth_message_parse (bytes, NULL);
  if (m == NULL)
    g_error ("an envelope built here does not parse");
  return m;
}

/* env with sender and sender fingerprint replaced, signed with key, as the
 * real code signs: the header fields and SHA-256 of the sealed text */
static GBytes *
resign (GBytes *env, const char *sender, const guint8 *sender_fp, const ChatdKey *key)
{
  g_autoptr(ChatdAuthMessage) m = parse (env);
  ChatdSlice f[EN_N_FIELDS];
  memcpy (f, m->fields, sizeof f);
  f[EN_SENDER] = CHATD_SLICE_STR (sender);
  f[EN_SENDER_FP] = CHATD_SLICE (sender_fp, 32);
  guint8 sealed_hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, sealed_hash, f[EN_SEALED].data, f[EN_SEALED].len);
  ChatdSlice signed_fields[EN_SEALED + 1];
  memcpy (signed_fields, f, sizeof (ChatdSlice) * EN_SEALED);
  signed_fields[EN_SEALED] = CHATD_SLICE (sealed_hash, 32);
  g_autoptr(GBytes) signature = NULL;
  g_assert_true (chatd_domain_sign (key, "envelope", signed_fields, EN_SEALED + 1, &signature, NULL));
  f[EN_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  return chatd_auth_message_build (CHATD_MSG_ENVELOPE, f, EN_N_FIELDS);
}

static GBytes *
tamper_sealed (GBytes *env)
{
  g_autoptr(ChatdAuthMessage) m = parse (env);
  ChatdSlice f[EN_N_FIELDS];
  memcpy (f, m->fields, sizeof f);
  g_autofree guint8 *sealed = g_memdup2 (f[EN_SEALED].data, f[EN_SEALED].len);
  sealed[f[EN_SEALED].len / 2] ^= 0x01;
  f[EN_SEALED] = CHATD_SLICE (sealed, f[EN_SEALED].len);
  return chatd_auth_message_build (CHATD_MSG_ENVELOPE, f, EN_N_FIELDS);
}

/* --- Eve's transport --- */

typedef struct {
  GMainLoop  *loop;
  guint       pending;          /* sends not yet acknowledged or failed */
  GHashTable *receipts;         /* message id (hex) -> count */
} Eve;

static void
on_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  Eve *eve = user_data;
  g_assert_no_error ((GError *) error);
  eve->pending--;
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from, GBytes *bytes,
            gpointer user_data)
{
  Eve *eve = user_data;
  g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (bytes, NULL);
  if (m == NULL || m->type != CHATD_MSG_RECEIPT || m->fields[RC_ID].len != CHATD_MESSAGE_ID_LEN)
    return;
  GString *id = g_string_new (NULL);
  for (gsize i = 0; i < CHATD_MESSAGE_ID_LEN; i++)
    g_string_append_printf (id, "%02x", ((const guint8 *) m->fields[RC_ID].data)[i]);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (eve->receipts, id->str));
  g_hash_table_insert (eve->receipts, g_string_free (id, FALSE), GUINT_TO_POINTER (n + 1));
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* runs the loop until every send is acknowledged, then a moment longer for receipts */
static void
eve_send_all (Eve *eve, ChatdTransport *t, const ChatdAddress *bob, GBytes *const *envelopes, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      eve->pending++;
      chatd_transport_send (t, bob, envelopes[i], on_sent, eve);
    }
  for (int i = 0; i < 200 && eve->pending > 0; i++)
    {
      g_timeout_add (50, quit_loop, eve->loop);
      g_main_loop_run (eve->loop);
    }
  g_assert_cmpuint (eve->pending, ==, 0);
  g_timeout_add (1500, quit_loop, eve->loop);
  g_main_loop_run (eve->loop);
}

/* the lines of Bob's log that say an envelope was dropped, and why */
static char *
dropped_lines (TestNode *node)
{
  g_autofree char *path = g_build_filename (node->state_dir, "chatd.log", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "envelope from") != NULL && strstr (lines[i], "dropped") != NULL)
      g_string_append_printf (out, "%s\n", lines[i]);
  return g_string_free (out, FALSE);
}

static void
test_eve_cannot_send_as_alice (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *bob = login (&net, "Bob");
  User alice = { 0 }, eve_user = { 0 }, bob_user = { 0 }, charlie = { 0 };
  load_user (net.server, "Alice", &alice);
  load_user (net.server, "Eve", &eve_user);
  load_user (net.server, "Bob", &bob_user);
  load_user (net.server, "Charlie", &charlie);

  g_autofree char *listen = status_field (bob, "listen");
  ChatdAddress bob_address;
  g_assert_true (chatd_address_parse_string (listen, &bob_address, NULL));

  gint64 now = g_get_real_time () / 1000;
  g_autoptr(ChatdMessage) m_real = NULL, m_second = NULL, m_forged = NULL, m_charlie = NULL;
  /* the control: Alice's real message, which Bob must store */
  g_autoptr(GBytes) real = chatd_envelope_seal (alice.key, "Alice", bob_user.public_key, "Bob",
                                                "the real one", 12, now, &m_real, NULL);
  g_autoptr(GBytes) second = chatd_envelope_seal (alice.key, "Alice", bob_user.public_key, "Bob",
                                                  "meet at noon", 12, now, &m_second, NULL);
  /* 1. forged sender: Eve seals and signs with her key but says she is Alice */
  g_autoptr(GBytes) forged = chatd_envelope_seal (eve_user.key, "Alice", bob_user.public_key, "Bob",
                                                  "send me money", 13, now, &m_forged, NULL);
  /* 2. the same, also claiming Alice's key fingerprint */
  g_autoptr(GBytes) forged_fp = resign (forged, "Alice", alice.fingerprint, eve_user.key);
  /* 3. Alice's ciphertext re-signed by Eve as her own (a valid signature of Eve's) */
  g_autoptr(GBytes) stolen = resign (second, "Eve", eve_user.fingerprint, eve_user.key);
  /* 4. Alice's message for Charlie re-addressed to Bob by the network */
  g_autoptr(GBytes) for_charlie = chatd_envelope_seal (alice.key, "Alice", charlie.public_key, "Charlie",
                                                       "only for Charlie", 16, now, &m_charlie, NULL);
  /* 5. Alice's second message with one bit of its ciphertext flipped */
  g_autoptr(GBytes) tampered = tamper_sealed (second);
  g_assert_nonnull (real);
  g_assert_nonnull (forged);

  Eve eve = { .loop = g_main_loop_new (NULL, FALSE),
              .receipts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) t = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  chatd_transport_set_message_callback (t, on_message, &eve);

  /* the real one first (so Bob pins Alice's key), then the attacks, then the real one again (a replay) */
  GBytes *round1[] = { real };
  eve_send_all (&eve, t, &bob_address, round1, 1);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (eve.receipts, m_real->id_text)), ==, 1);
  GBytes *round2[] = { forged, forged_fp, stolen, for_charlie, tampered, real };
  eve_send_all (&eve, t, &bob_address, round2, G_N_ELEMENTS (round2));

  /* Bob holds exactly Alice's real message, once */
  JsonNode *root = json_of (bob, CHATD_ARGS ("recv"));
  JsonArray *inbox = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (inbox), ==, 1);
  JsonObject *m = json_array_get_object_element (inbox, 0);
  g_assert_cmpstr (json_object_get_string_member (m, "from"), ==, "Alice");
  g_assert_cmpstr (json_object_get_string_member (m, "text"), ==, "the real one");
  g_assert_cmpstr (json_object_get_string_member (m, "id"), ==, m_real->id_text);
  json_node_unref (root);
  /* receipts: the real one twice (the replay gets its receipt again, as a
   * resend after a crash would), nothing for any attack */
  g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (eve.receipts, m_real->id_text)), ==, 2);
  g_assert_cmpuint (g_hash_table_size (eve.receipts), ==, 1);
  /* each attack counted and logged */
  g_assert_cmpint (stats_counter (bob, "messages.refused"), ==, 5);
  g_assert_cmpint (stats_counter (bob, "messages.received"), ==, 1);
  g_assert_cmpint (stats_counter (bob, "messages.duplicates"), ==, 1);
  g_autofree char *dropped = dropped_lines (bob);
  g_test_message ("Bob's log:\n%s", dropped);
  g_auto(GStrv) reasons = g_strsplit (dropped, "\n", -1);
  g_assert_cmpuint (g_strv_length (reasons), ==, 5 + 1);
  static const struct { const char *reason; guint count; } expected[] = {
    { "signed by a key the server does not know for its sender", 1 },   /* 1: Eve's key, Alice's name */
    { "signature of Alice does not verify", 2 },                         /* 2: Alice's fingerprint; 5: tampered */
    { "envelope from Eve does not open", 1 },                            /* 3: re-signed by Eve */
    { "addressed to Charlie", 1 },                                       /* 4: re-addressed */
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      guint n = 0;
      for (guint j = 0; reasons[j] != NULL; j++)
        n += strstr (reasons[j], expected[i].reason) != NULL;
      g_assert_cmpuint (n, ==, expected[i].count);
    }

  /* and Alice herself is still trusted: her key was never replaced by Eve's */
  g_autofree char *verify = NULL;
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("verify", "Alice"), &verify, NULL), ==, 0);
  g_autofree char *alice_fp = chatd_fingerprint_to_string (alice.fingerprint);
  g_assert_nonnull (strstr (verify, alice_fp));

  g_clear_pointer (&t, chatd_transport_free);
  g_hash_table_unref (eve.receipts);
  g_main_loop_unref (eve.loop);
  user_clear (&alice);
  user_clear (&eve_user);
  user_clear (&bob_user);
  user_clear (&charlie);
  net_stop (&net);
}

static JsonObject *
verify_of (TestNode *node, const char *name, JsonNode **ret_root)
{
  *ret_root = json_of (node, CHATD_ARGS ("verify", name));
  return json_node_get_object (*ret_root);
}

static void
test_changed_key_reported (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "before"), NULL, NULL), ==, 0);
  JsonNode *root = NULL;
  JsonObject *v = verify_of (alice, "Bob", &root);
  g_autofree char *old_fp = g_strdup (json_object_get_string_member (v, "fingerprint"));
  g_assert_false (json_object_get_boolean_member (v, "changed"));
  json_node_unref (root);

  /* Bob is deleted and registered again: the server makes him a new key */
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("userdel", "Bob"), NULL, NULL), ==, 0);
  g_assert_true (wait_until (bob, login_state_is, "ended", 10));
  g_assert_cmpint (test_run_chatctl_input (net.server, CHATD_ARGS ("useradd", "Bob", "--password-stdin"),
                                           "Bob2\n", NULL, NULL), ==, 0);
  TestNode *bob2 = test_node_new ();
  g_ptr_array_add (net.users, bob2);
  g_assert_cmpint (start_user (&net, bob2, "Bob", "Bob2", NULL, NULL), ==, 0);
  /* listed once his node told the server its address (before that a send is
   * queued at the server, not delivered directly) */
  g_assert_true (wait_until (alice, list_has, "Bob", 10));

  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "after"), &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  /* the sender is warned on this send, once */
  g_assert_nonnull (strstr (out, "\nwarning: the key of Bob changed: now "));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "again"), &out, NULL), ==, 0);
  g_assert_null (strstr (out, "warning"));
  v = verify_of (alice, "Bob", &root);
  const char *new_fp = json_object_get_string_member (v, "fingerprint");
  g_assert_cmpstr (new_fp, !=, old_fp);
  g_assert_true (json_object_get_boolean_member (v, "changed"));
  JsonArray *history = json_object_get_array_member (v, "history");
  gboolean old_in_history = FALSE;
  for (guint i = 0; i < json_array_get_length (history); i++)
    old_in_history |= strstr (json_array_get_string_element (history, i), old_fp) != NULL;
  g_assert_true (old_in_history);

  /* the event, replayed from the node's held events */
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) stream = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"),
                                                               "--socket", alice->socket_path, "--json",
                                                               "events", "--since", "0", NULL);
  g_assert_no_error (error);
  g_usleep (G_USEC_PER_SEC / 2);
  g_subprocess_send_signal (stream, SIGINT);
  g_autofree char *events = NULL;
  g_subprocess_communicate_utf8 (stream, NULL, NULL, &events, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_regex_match_simple ("\"kind\" *: *\"key-changed\"", events, 0, 0));
  g_assert_nonnull (strstr (events, new_fp));
  json_node_unref (root);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  if (!chatd_crypto_init (&error))
    g_error ("%s", error->message);
  g_test_add_func ("/integration/eve/cannot-send-as-alice", test_eve_cannot_send_as_alice);
  g_test_add_func ("/integration/contacts/changed-key-reported", test_changed_key_reported);
  return g_test_run ();
}
