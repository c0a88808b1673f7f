/* test-envelope.c: what Eve cannot do with envelopes: forge the sender,
 * re-sign Alice's ciphertext, re-address it, tamper with it, replay it with
 * other content; and the time window, size and UTF-8 checks. */
#include "envelope.h"
#include "mailbox.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <glib/gstdio.h>
#include <string.h>

static ChatdKey *alice, *bob, *eve, *carol_rsa;

static ChatdKey *
public_of (const ChatdKey *key)
{
  g_autoptr(GBytes) blob = key->suite->export_public (key, NULL);
  return key->suite->import_public (key->suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
}

static ChatdAuthMessage *
parse (GBytes *bytes)
{
  return chatd_auth_message_parse (bytes, NULL);
}

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

static ChatdMessage *
open_as (GBytes *envelope, const ChatdKey *own, const char *own_name, const ChatdKey *sender_public, GError **error)
{
  g_autoptr(ChatdAuthMessage) m = parse (envelope);
  if (m == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "does not parse");
      return NULL;
    }
  return chatd_envelope_open (m, own, own_name, sender_public, now_ms (), 7 * 24 * 3600 * 1000LL, error);
}

static void
test_round_trip_and_receipt (void)
{
  g_autoptr(ChatdKey) bob_pub = public_of (bob), alice_pub = public_of (alice);
  g_autoptr(ChatdMessage) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) env = chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", "hi Bob", 6, now_ms (), &sent, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdMessage) got = open_as (env, bob, "bob", alice_pub, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->text, ==, "hi Bob");
  g_assert_cmpstr (got->sender, ==, "Alice");
  g_assert_cmpstr (got->id_text, ==, sent->id_text);
  g_assert_cmpmem (got->hash, 32, sent->hash, 32);
  g_autoptr(GBytes) receipt = chatd_receipt_build (bob, got, &error);
  g_autoptr(ChatdAuthMessage) r = parse (receipt);
  g_assert_true (chatd_receipt_verify (r, sent, bob_pub, &error));
  /* a receipt signed by Eve is not Bob's */
  g_autoptr(GBytes) fake = chatd_receipt_build (eve, got, NULL);
  g_autoptr(ChatdAuthMessage) fr = parse (fake);
  g_assert_false (chatd_receipt_verify (fr, sent, bob_pub, &error));
}

static void
test_mixed_suites (void)
{
  /* sealed with the recipient's suite (RSA), signed with the sender's (25519) */
  g_autoptr(ChatdKey) carol_pub = public_of (carol_rsa), alice_pub = public_of (alice);
  g_autoptr(ChatdMessage) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) env = chatd_envelope_seal (alice, "Alice", carol_pub, "Carol", "to rsa", 6, now_ms (), &sent, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdMessage) got = open_as (env, carol_rsa, "Carol", alice_pub, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->text, ==, "to rsa");
}

static void
test_eve (void)
{
  g_autoptr(ChatdKey) bob_pub = public_of (bob), alice_pub = public_of (alice), eve_pub = public_of (eve);
  g_autoptr(GError) error = NULL;
  /* 1. Eve signs as "Alice": the fingerprint is Eve's, Bob checks Alice's key */
  g_autoptr(ChatdMessage) m1 = NULL;
  g_autoptr(GBytes) forged = chatd_envelope_seal (eve, "Alice", bob_pub, "Bob", "I am Alice", 10, now_ms (), &m1, NULL);
  g_assert_null (open_as (forged, bob, "Bob", alice_pub, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);

  /* 2. Alice's real envelope, re-signed by Eve under Eve's name */
  g_autoptr(ChatdMessage) m2 = NULL;
  g_autoptr(GBytes) real = chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", "secret", 6, now_ms (), &m2, NULL);
  g_autoptr(ChatdAuthMessage) parsed = parse (real);
  ChatdSlice f[EN_N_FIELDS];
  memcpy (f, parsed->fields, sizeof f);
  guint8 eve_fp[32];
  chatd_key_fingerprint (eve, eve_fp, NULL);
  f[EN_SENDER] = CHATD_SLICE_STR ("Eve");
  f[EN_SENDER_FP] = CHATD_SLICE (eve_fp, 32);
  g_autoptr(GBytes) eve_sig = eve->suite->sign (eve, (const guint8 *) "whatever", 8, NULL);
  f[EN_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (eve_sig, NULL), g_bytes_get_size (eve_sig));
  g_autoptr(GBytes) resigned = chatd_auth_message_build (CHATD_MSG_ENVELOPE, f, EN_N_FIELDS);
  g_assert_null (open_as (resigned, bob, "Bob", eve_pub, &error));
  g_clear_error (&error);

  /* 3. re-addressed to Eve: she cannot open it, nor make Bob's node think it is for someone else */
  g_assert_null (open_as (real, eve, "Eve", alice_pub, &error));
  g_assert_nonnull (strstr (error->message, "addressed to Bob"));
  g_clear_error (&error);

  /* 4. every single-byte change of the envelope is refused (or does not parse) */
  gsize len;
  const guint8 *data = g_bytes_get_data (real, &len);
  for (gsize i = 3; i < len; i += 7)
    {
      guint8 *copy = g_memdup2 (data, len);
      copy[i] ^= 0x20;
      g_autoptr(GBytes) tampered = g_bytes_new_take (copy, len);
      g_autoptr(ChatdMessage) m = open_as (tampered, bob, "Bob", alice_pub, NULL);
      g_assert_null (m);
    }
}

static void
test_time_window_size_utf8 (void)
{
  g_autoptr(ChatdKey) bob_pub = public_of (bob), alice_pub = public_of (alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMessage) m = NULL, m2 = NULL, m3 = NULL;
  g_autoptr(GBytes) future = chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", "x", 1, now_ms () + 6 * 60 * 1000, &m, NULL);
  g_assert_null (open_as (future, bob, "Bob", alice_pub, &error));
  g_assert_nonnull (strstr (error->message, "future"));
  g_clear_error (&error);
  g_autoptr(GBytes) old = chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", "x", 1, now_ms () - 8 * 24 * 3600 * 1000LL, &m2, NULL);
  g_assert_null (open_as (old, bob, "Bob", alice_pub, &error));
  g_assert_nonnull (strstr (error->message, "time to live"));
  g_clear_error (&error);
  g_assert_null (chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", "caf\xe9", 4, now_ms (), &m3, &error));
  g_assert_nonnull (strstr (error->message, "UTF-8"));
  g_clear_error (&error);
  gsize big = CHATD_MESSAGE_TEXT_MAX + 1;
  g_autofree char *text = g_malloc (big);
  memset (text, 'a', big);
  g_assert_null (chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", text, big, now_ms (), &m3, &error));
  g_assert_nonnull (strstr (error->message, "too large"));
  g_clear_error (&error);
  /* exactly 1 MiB goes */
  g_autoptr(GBytes) max = chatd_envelope_seal (alice, "Alice", bob_pub, "Bob", text, big - 1, now_ms (), &m3, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdMessage) got = open_as (max, bob, "Bob", alice_pub, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (got->text), ==, big - 1);
}

static void
test_mailbox_duplicates (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  ChatdMessage m = { .id_text = (char *) "00112233445566778899aabbccddeeff", .time_ms = 1, .sender = (char *) "Alice",
                     .recipient = (char *) "Bob", .text = (char *) "one" };
  memset (m.hash, 1, 32);
  gboolean dup = TRUE;
  g_assert_true (chatd_mailbox_store (mailbox, &m, &dup, &error));
  g_assert_false (dup);
  g_assert_true (chatd_mailbox_store (mailbox, &m, &dup, &error));   /* resend after a crash */
  g_assert_true (dup);
  m.text = (char *) "other";
  m.hash[0] = 2;
  g_assert_false (chatd_mailbox_store (mailbox, &m, &dup, &error));  /* same id, other content */
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_autoptr(GVariant) all = g_variant_ref_sink (chatd_mailbox_list (mailbox, NULL, NULL, &error));
  g_assert_cmpuint (g_variant_n_children (all), ==, 1);
  g_autoptr(GVariant) none = chatd_mailbox_list (mailbox, "nope", NULL, &error);
  g_assert_null (none);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  alice = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  bob = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  eve = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  carol_rsa = chatd_suite_rsa.generate (&chatd_suite_rsa, 2048, NULL);
  g_test_add_func ("/messaging/envelope/round-trip-and-receipt", test_round_trip_and_receipt);
  g_test_add_func ("/messaging/envelope/mixed-suites", test_mixed_suites);
  g_test_add_func ("/messaging/envelope/eve", test_eve);
  g_test_add_func ("/messaging/envelope/time-window-size-utf8", test_time_window_size_utf8);
  g_test_add_func ("/messaging/mailbox/duplicates", test_mailbox_duplicates);
  return g_test_run ();
}
