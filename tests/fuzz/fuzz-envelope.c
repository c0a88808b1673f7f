/* fuzz-envelope.c: envelopes and receipts (daemon/messaging/envelope.c).
 *
 * Alice signs with suite-rsa's known-answer key, Bob (the recipient) holds
 * suite-25519's: fixed keys, so that the seed corpus (written by this file
 * built with -DFUZZ_ENVELOPE_GEN_CORPUS: gen-envelope-corpus DIR) stays
 * valid.  The first input byte picks the mode, the rest is M:
 *
 *   0  M as an envelope at Bob: parse, peek, open (with Alice's key, 10 min
 *      after the seeds were made).  Whatever opens was sent by Alice to Bob,
 *      with text in UTF-8 and its hash that of M.
 *   1  M as a receipt at Alice, checked against a message with a fixed id
 *      and hash: whatever verifies has exactly the fields of Bob's real
 *      receipt for it.
 *   2, 3  M as a list of (position u16, xor u8) changes to an envelope
 *      (2) or a receipt (3) that this harness made in its init (a fresh
 *      id, its own time): unchanged, it must open (verify); changed, it
 *      must not, unless the parsed fields are still exactly the original's.
 */
#include "chatd-crypto.h"
#include "envelope.h"
#include "suite-25519.h"
#include "suite-rsa.h"

#include <gcrypt.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define SEED_TIME_MS G_GINT64_CONSTANT (1800000000000)
#define OPEN_TIME_MS (SEED_TIME_MS + 10 * 60 * 1000)
#define TTL_MS G_GINT64_CONSTANT (7 * 24 * 3600 * 1000)

typedef struct {
  ChatdKey *alice;     /* private: signs */
  ChatdKey *alice_public;
  ChatdKey *bob;       /* private: opens, signs receipts */
  ChatdKey *bob_public;
  GBytes   *envelope;  /* made in init, for modes 2 and 3 */
  ChatdMessage *sent;
  GBytes   *receipt;
  ChatdMessage fixed;  /* a message with a fixed id and hash, for mode 1 */
  GBytes   *fixed_receipt;
} World;

static World world;

static ChatdKey *
public_of (const ChatdKey *key)
{
  g_autoptr(GBytes) blob = key->suite->export_public (key, NULL);
  g_assert_nonnull (blob);
  ChatdKey *pub = key->suite->import_public (key->suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
  g_assert_nonnull (pub);
  return pub;
}

static void
world_init (void)
{
  g_assert_true (chatd_crypto_init (NULL));
  world.alice = chatd_suite_rsa.import_private (&chatd_suite_rsa, chatd_suite_rsa_kat_private,
                                                chatd_suite_rsa_kat_private_len, NULL);
  world.bob = chatd_suite_25519.import_private (&chatd_suite_25519, chatd_suite_25519_kat_private,
                                                sizeof chatd_suite_25519_kat_private, NULL);
  g_assert_nonnull (world.alice);
  g_assert_nonnull (world.bob);
  world.alice_public = public_of (world.alice);
  world.bob_public = public_of (world.bob);
  static const char text[] = "hello Bob, this is Alice";
  world.envelope = chatd_envelope_seal (world.alice, "Alice", world.bob_public, "Bob", text, strlen (text),
                                        OPEN_TIME_MS - 1000, &world.sent, NULL);
  g_assert_nonnull (world.envelope);
  world.receipt = chatd_receipt_build (world.bob, world.sent, NULL);
  g_assert_nonnull (world.receipt);
  memset (world.fixed.id, 0x42, sizeof world.fixed.id);
  world.fixed.id_text = g_strdup ("42424242424242424242424242424242");
  world.fixed.time_ms = SEED_TIME_MS;
  world.fixed.sender = g_strdup ("Alice");
  world.fixed.recipient = g_strdup ("Bob");
  world.fixed.text = g_strdup ("fixed");
  memset (world.fixed.hash, 0x17, sizeof world.fixed.hash);
  /* Ed25519 signatures are deterministic: the same bytes in every run */
  world.fixed_receipt = chatd_receipt_build (world.bob, &world.fixed, NULL);
  g_assert_nonnull (world.fixed_receipt);
}

/* opens M at Bob; the message or NULL */
static ChatdMessage *
open_at_bob (GBytes *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) envelope = chatd_auth_message_parse (m, NULL);
  if (envelope == NULL)
    return NULL;
  g_autofree char *sender = NULL;
  guint8 fingerprint[CHATD_FINGERPRINT_LEN];
  gboolean peeked = chatd_envelope_peek (envelope, &sender, fingerprint);
  if (envelope->type != CHATD_MSG_ENVELOPE)
    {
      g_assert_false (peeked);
      return NULL;
    }
  ChatdMessage *message = chatd_envelope_open (envelope, world.bob, "bob", world.alice_public, OPEN_TIME_MS,
                                               TTL_MS, &error);
  if (message == NULL)
    {
      g_assert_nonnull (error);
      return NULL;
    }
  g_assert_no_error (error);
  /* what opens was peeked the same, and is Alice's to Bob */
  g_assert_true (peeked);
  g_assert_cmpstr (sender, ==, message->sender);
  g_assert_cmpint (g_ascii_strcasecmp (message->sender, "alice"), ==, 0);
  g_assert_cmpint (g_ascii_strcasecmp (message->recipient, "bob"), ==, 0);
  g_assert_true (g_utf8_validate (message->text, -1, NULL));
  guint8 hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, hash, g_bytes_get_data (m, NULL), g_bytes_get_size (m));
  g_assert_cmpmem (hash, 32, message->hash, 32);
  g_assert_cmpuint (strlen (message->id_text), ==, 2 * CHATD_MESSAGE_ID_LEN);
  return message;
}

static gboolean
verify_at_alice (GBytes *m, const ChatdMessage *sent)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) receipt = chatd_auth_message_parse (m, NULL);
  if (receipt == NULL || receipt->type != CHATD_MSG_RECEIPT)
    return FALSE;
  gboolean ok = chatd_receipt_verify (receipt, sent, world.bob_public, &error);
  g_assert_true (ok == (error == NULL));
  return ok;
}

static gboolean
same_fields (GBytes *a, GBytes *b)
{
  g_autoptr(ChatdAuthMessage) ma = chatd_auth_message_parse (a, NULL);
  g_autoptr(ChatdAuthMessage) mb = chatd_auth_message_parse (b, NULL);
  if (ma == NULL || mb == NULL || ma->type != mb->type || ma->n_fields != mb->n_fields)
    return FALSE;
  for (guint i = 0; i < ma->n_fields; i++)
    if (ma->fields[i].len != mb->fields[i].len ||
        memcmp (ma->fields[i].data, mb->fields[i].data, ma->fields[i].len) != 0)
      return FALSE;
  return TRUE;
}

/* the original with M's (position, xor) changes applied */
static GBytes *
mutated (GBytes *original, const guint8 *changes, gsize len)
{
  gsize n;
  const guint8 *d = g_bytes_get_data (original, &n);
  guint8 *copy = g_memdup2 (d, n);
  for (gsize i = 0; i + 3 <= len; i += 3)
    copy[(((gsize) changes[i] << 8) | changes[i + 1]) % n] ^= changes[i + 2];
  return g_bytes_new_take (copy, n);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialised;
  if (!initialised)
    {
      world_init ();
      initialised = TRUE;
    }
  if (size < 1)
    return 0;
  g_autoptr(GBytes) m = g_bytes_new (data + 1, size - 1);
  switch (data[0] & 3)
    {
    case 0:
      {
        g_autoptr(ChatdMessage) message = open_at_bob (m);
        if (message != NULL)
          {
            /* Bob's receipt for it verifies at Alice */
            g_autoptr(GBytes) receipt = chatd_receipt_build (world.bob, message, NULL);
            g_assert_nonnull (receipt);
            g_assert_true (verify_at_alice (receipt, message));
          }
      }
      break;
    case 1:
      if (verify_at_alice (m, &world.fixed))
        g_assert_true (same_fields (m, world.fixed_receipt));
      break;
    case 2:
      {
        g_autoptr(GBytes) changed = mutated (world.envelope, data + 1, size - 1);
        g_autoptr(ChatdMessage) message = open_at_bob (changed);
        if (g_bytes_equal (changed, world.envelope))
          {
            g_assert_nonnull (message);
            g_assert_cmpmem (message->hash, 32, world.sent->hash, 32);
            g_assert_cmpstr (message->text, ==, world.sent->text);
          }
        else if (message != NULL)
          g_assert_true (same_fields (changed, world.envelope));
      }
      break;
    default:
      {
        g_autoptr(GBytes) changed = mutated (world.receipt, data + 1, size - 1);
        gboolean ok = verify_at_alice (changed, world.sent);
        if (g_bytes_equal (changed, world.receipt))
          g_assert_true (ok);
        else if (ok)
          g_assert_true (same_fields (changed, world.receipt));
      }
      break;
    }
  return 0;
}

#ifdef FUZZ_ENVELOPE_GEN_CORPUS
static void
write_seed (const char *dir, const char *name, guint8 mode, const void *bytes, gsize len)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, &mode, 1);
  g_byte_array_append (out, bytes, len);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

static void
write_bytes_seed (const char *dir, const char *name, guint8 mode, GBytes *bytes)
{
  write_seed (dir, name, mode, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  world_init ();
  const struct { const char *file, *text; gint64 time_ms; } seeds[] = {
    { "0-envelope", "hello Bob, this is Alice", SEED_TIME_MS },
    { "0-envelope-empty", "", SEED_TIME_MS },
    { "0-envelope-unicode", "gr\xc3\xbc\xc3\x9f dich, \xe2\x98\x83", SEED_TIME_MS - 3600 * 1000 },
    { "0-envelope-future", "from the future", OPEN_TIME_MS + 4 * 60 * 1000 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    {
      g_autoptr(ChatdMessage) sent = NULL;
      g_autoptr(GBytes) envelope = chatd_envelope_seal (world.alice, "Alice", world.bob_public, "Bob",
                                                        seeds[i].text, strlen (seeds[i].text),
                                                        seeds[i].time_ms, &sent, NULL);
      g_assert_nonnull (envelope);
      write_bytes_seed (argv[1], seeds[i].file, 0, envelope);
    }
  /* to Carol, sealed to Bob's key: opens nowhere */
  g_autoptr(ChatdMessage) other = NULL;
  g_autoptr(GBytes) to_carol = chatd_envelope_seal (world.alice, "Alice", world.bob_public, "Carol", "hi", 2,
                                                    SEED_TIME_MS, &other, NULL);
  write_bytes_seed (argv[1], "0-envelope-to-carol", 0, to_carol);
  /* receipts: the real one, and one for another message */
  g_autoptr(GBytes) receipt = chatd_receipt_build (world.bob, other, NULL);
  write_bytes_seed (argv[1], "1-receipt-other", 1, receipt);
  write_bytes_seed (argv[1], "1-receipt", 1, world.fixed_receipt);
  write_seed (argv[1], "2-unchanged", 2, "", 0);
  write_seed (argv[1], "2-flip", 2, "\x00\x10\x01", 3);
  write_seed (argv[1], "2-flip-back", 2, "\x00\x10\x01\x00\x10\x01", 6);
  write_seed (argv[1], "3-unchanged", 3, "", 0);
  write_seed (argv[1], "3-flip", 3, "\x00\x05\x80", 3);
  return 0;
}
#endif
