/* envelope.h: one message for one recipient, end to end: sealed with the
 * recipient key's suite, signed with the sender key's suite, and the signed
 * receipt that comes back once the recipient has stored it (DESIGN section
 * 7; layout in doc/protocol.md, "Envelope").  No sockets, no storage. */
#pragma once
#include "auth-message.h"
#include "chatd-crypto.h"

#define CHATD_MESSAGE_ID_LEN        16
#define CHATD_MESSAGE_TEXT_MAX      (1024 * 1024)
#define CHATD_MESSAGE_FUTURE_MAX_MS (5 * 60 * 1000)

/* ENVELOPE fields */
enum { EN_ID, EN_TIME, EN_SENDER, EN_RECIPIENT, EN_SENDER_SUITE, EN_RECIPIENT_SUITE,
       EN_SENDER_FP, EN_RECIPIENT_FP, EN_SEALED, EN_SIGNATURE, EN_N_FIELDS };
/* RECEIPT fields */
enum { RC_ID, RC_SENDER, RC_RECIPIENT, RC_ENVELOPE_HASH, RC_STATUS, RC_SIGNATURE, RC_N_FIELDS };

typedef struct {
  guint8  id[CHATD_MESSAGE_ID_LEN];
  char   *id_text;          /* hex */
  gint64  time_ms;          /* unix milliseconds, by the sender's clock */
  char   *sender;
  char   *recipient;
  char   *text;             /* UTF-8 */
  guint8  hash[32];         /* SHA-256 of the whole envelope as sent */
} ChatdMessage;

void chatd_message_free (ChatdMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdMessage, chatd_message_free)

/* Seals and signs text for one recipient.  ret_message describes it (id,
 * time, hash) for the sender's outbox. */
GBytes  *chatd_envelope_seal (const ChatdKey *sender_key, const char *sender,
                              const ChatdKey *recipient_public, const char *recipient,
                              const char *text, gsize text_len, gint64 now_ms,
                              ChatdMessage **ret_message, GError **error);
/* The same with a given id (CHATD_MESSAGE_ID_LEN bytes; NULL: a new one):
 * a message first sent in a peer session that goes to the offline queue
 * keeps its id (the recipient stores it once, whichever way it came). */
GBytes  *chatd_envelope_seal_with_id (const ChatdKey *sender_key, const char *sender,
                                      const ChatdKey *recipient_public, const char *recipient,
                                      const char *text, gsize text_len, gint64 now_ms, const guint8 *id,
                                      ChatdMessage **ret_message, GError **error);
/* Opens an envelope addressed to us: checks the recipient (name and key
 * fingerprint), the signature with sender_public, the time window
 * (ttl_ms old at most, 5 min in the future at most), the text (UTF-8).
 * The caller has looked up sender_public by the envelope's sender name and
 * fingerprint (chatd_envelope_peek). */
ChatdMessage *chatd_envelope_open (const ChatdAuthMessage *envelope, const ChatdKey *own_key,
                                   const char *own_name, const ChatdKey *sender_public,
                                   gint64 now_ms, gint64 ttl_ms, GError **error);
/* The sender's name and key fingerprint, unverified, to find the key. */
gboolean chatd_envelope_peek (const ChatdAuthMessage *envelope, char **ret_sender,
                              guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN]);

/* The recipient's signed receipt for a stored message. */
GBytes  *chatd_receipt_build  (const ChatdKey *recipient_key, const ChatdMessage *message,
                               GError **error);
/* Checks a receipt against what we sent: same id, sender, recipient and
 * envelope hash, signed by the recipient's key. */
gboolean chatd_receipt_verify (const ChatdAuthMessage *receipt, const ChatdMessage *sent,
                               const ChatdKey *recipient_public, GError **error);
