/* peer-link.h: the sessions with one peer over time.  New messages go out
 * in the current session; after a re-key (a new handshake, installed here)
 * the previous sessions still open the messages that were on their way, for
 * CHATD_PEER_RETIRED_GRACE_US and at most CHATD_PEER_RETIRED_MAX of them,
 * then they are wiped.  A retired session never seals: its send ratchet and
 * transport keys are wiped when it retires.  A session that is never
 * replaced is wiped at its end of life (created + rekey_after_us + grace).
 *
 * Expiry runs in chatd_peer_link_expire: the caller keeps a timer at
 * chatd_peer_link_deadline (re-armed after install, open and expire), so
 * that old keys go on time even when no message comes. */
#pragma once
#include "peer-session.h"

typedef struct _ChatdPeerLink ChatdPeerLink;

/* budget: the process-wide cap on skipped message keys that the messenger
 * owns and gives to every link (a reference is kept; NULL: each receive
 * ratchet only has its own cap). */
ChatdPeerLink    *chatd_peer_link_new     (ChatdPeerSkipBudget *budget);
void              chatd_peer_link_free    (ChatdPeerLink *link);
/* Takes session; it becomes the current one, the old current one retires. */
void              chatd_peer_link_install (ChatdPeerLink *link, ChatdPeerSession *session,
                                           gint64 now_us);
/* The current session (borrowed until the next install, expire, open or
 * check_receipt, which may wipe it at its end of life), or NULL before the
 * first handshake and after the current one expired. */
ChatdPeerSession *chatd_peer_link_current (ChatdPeerLink *link);
guint             chatd_peer_link_retired_count (ChatdPeerLink *link, gint64 now_us);
/* Wipes the retired sessions past their grace (or beyond
 * CHATD_PEER_RETIRED_MAX) and the sessions past their end of life. */
void              chatd_peer_link_expire   (ChatdPeerLink *link, gint64 now_us);
/* When chatd_peer_link_expire has something to do next (G_MAXINT64:
 * never, the link holds no session). */
gint64            chatd_peer_link_deadline (ChatdPeerLink *link);

/* Seals in the current session (CHATD_ERROR_NOT_FOUND without one). */
GBytes  *chatd_peer_link_seal (ChatdPeerLink *link, const guint8 *aad, gsize aad_len,
                               const guint8 *plaintext, gsize plaintext_len,
                               guint64 *ret_counter, GError **error);
/* Opens a PEER_MESSAGE of the current or a retired session. */
GBytes  *chatd_peer_link_open (ChatdPeerLink *link, GBytes *message, const guint8 *aad,
                               gsize aad_len, gint64 now_us, guint64 *ret_counter, GError **error);
/* Checks a PEER_RECEIPT for a message sealed in the current or a retired
 * session (peer-session.h, chatd_peer_session_check_receipt). */
gboolean chatd_peer_link_check_receipt (ChatdPeerLink *link, GBytes *receipt, gint64 now_us,
                                        guint64 *ret_counter, guint8 *ret_status, GError **error);
/* The receipt for a PEER_MESSAGE that the current or a retired session
 * opened (peer-session.h, chatd_peer_session_receipt). */
GBytes  *chatd_peer_link_receipt (ChatdPeerLink *link, GBytes *message, guint8 status,
                                  gint64 now_us, GError **error);
/* The same, message already parsed; ret_digest as in
 * chatd_peer_session_open_parsed (for its receipt). */
GBytes  *chatd_peer_link_open_parsed (ChatdPeerLink *link, const ChatdAuthMessage *message,
                                      const guint8 *aad, gsize aad_len, gint64 now_us,
                                      guint64 *ret_counter, guint8 *ret_digest, GError **error);
/* A batch of receipts (PEER_RECEIPTS) for messages of the current or a
 * retired session (chatd_peer_session_check_receipts). */
gboolean chatd_peer_link_check_receipts (ChatdPeerLink *link, const ChatdAuthMessage *message,
                                         gint64 now_us, guint64 ret_counters[CHATD_PEER_RECEIPTS_MAX],
                                         guint8 ret_statuses[CHATD_PEER_RECEIPTS_MAX], guint *ret_n,
                                         GError **error);
/* The batch of receipts for messages that the live session session_id
 * opened (chatd_peer_session_receipts); CHATD_ERROR_REFUSED when that
 * session is gone. */
GBytes  *chatd_peer_link_receipts (ChatdPeerLink *link, const guint8 *session_id,
                                   ChatdPeerReceiptEntry *entries, guint n_entries, gint64 now_us,
                                   GError **error);
/* The live (current or retired) session with this id, or NULL. */
ChatdPeerSession *chatd_peer_link_find (ChatdPeerLink *link, const guint8 *session_id, gint64 now_us);
/* TRUE without a session or when the current one is due for a re-key. */
gboolean chatd_peer_link_needs_rekey (ChatdPeerLink *link, gint64 now_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerLink, chatd_peer_link_free)
