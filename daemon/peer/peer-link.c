/* peer-link.c: the current and the retired sessions with one peer. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-link.h"

#include <string.h>

typedef struct {
  ChatdPeerSession *session;
  gint64            retired_us;
} Retired;

struct _ChatdPeerLink {
  ChatdPeerSession *current;
  GQueue            retired;   /* Retired *, oldest first */
  ChatdPeerSkipBudget *budget;
};

static void
retired_free (gpointer data)
{
  Retired *r = data;
  chatd_peer_session_free (r->session);
  g_free (r);
}

ChatdPeerLink *
chatd_peer_link_new (ChatdPeerSkipBudget *budget)
{
  ChatdPeerLink *link = g_new0 (ChatdPeerLink, 1);
  if (budget != NULL)
    link->budget = chatd_peer_skip_budget_ref (budget);
  g_queue_init (&link->retired);
  return link;
}

void
chatd_peer_link_free (ChatdPeerLink *link)
{
  if (link == NULL)
    return;
  chatd_peer_session_free (link->current);
  g_queue_clear_full (&link->retired, retired_free);
  chatd_peer_skip_budget_unref (link->budget);
  g_free (link);
}

static gint64
retired_deadline (const Retired *r)
{
  gint64 grace_end = r->retired_us > G_MAXINT64 - CHATD_PEER_RETIRED_GRACE_US
                       ? G_MAXINT64 : r->retired_us + CHATD_PEER_RETIRED_GRACE_US;
  return MIN (grace_end, chatd_peer_session_end_of_life (r->session));
}

void
chatd_peer_link_expire (ChatdPeerLink *link, gint64 now_us)
{
  while (link->retired.length > CHATD_PEER_RETIRED_MAX)
    retired_free (g_queue_pop_head (&link->retired));
  for (GList *l = link->retired.head, *next; l != NULL; l = next)
    {
      next = l->next;
      if (now_us >= retired_deadline (l->data))
        {
          retired_free (l->data);
          g_queue_delete_link (&link->retired, l);
        }
    }
  /* a session that was never replaced: gone at its end of life too (the
   * messenger re-keys long before; this bounds how long keys live when the
   * handshakes keep failing) */
  if (link->current != NULL && now_us >= chatd_peer_session_end_of_life (link->current))
    g_clear_pointer (&link->current, chatd_peer_session_free);
}

gint64
chatd_peer_link_deadline (ChatdPeerLink *link)
{
  gint64 deadline = G_MAXINT64;
  for (GList *l = link->retired.head; l != NULL; l = l->next)
    deadline = MIN (deadline, retired_deadline (l->data));
  if (link->current != NULL)
    deadline = MIN (deadline, chatd_peer_session_end_of_life (link->current));
  return deadline;
}

void
chatd_peer_link_install (ChatdPeerLink *link, ChatdPeerSession *session, gint64 now_us)
{
  if (link->current != NULL)
    {
      Retired *r = g_new0 (Retired, 1);
      r->session = link->current;
      chatd_peer_session_retire (r->session);   /* no sealing: its send keys go now */
      r->retired_us = now_us;
      g_queue_push_tail (&link->retired, r);
    }
  link->current = session;
  chatd_peer_session_set_skip_budget (session, link->budget);
  chatd_peer_link_expire (link, now_us);
}

ChatdPeerSession *
chatd_peer_link_current (ChatdPeerLink *link)
{
  return link->current;
}

guint
chatd_peer_link_retired_count (ChatdPeerLink *link, gint64 now_us)
{
  chatd_peer_link_expire (link, now_us);
  return link->retired.length;
}

GBytes *
chatd_peer_link_seal (ChatdPeerLink *link, const guint8 *aad, gsize aad_len,
                      const guint8 *plaintext, gsize plaintext_len, guint64 *ret_counter,
                      GError **error)
{
  if (link->current == NULL)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no peer session yet");
      return NULL;
    }
  return chatd_peer_session_seal (link->current, aad, aad_len, plaintext, plaintext_len,
                                  ret_counter, error);
}

/* the current or a retired session with this id, or NULL */
static ChatdPeerSession *
find_session (ChatdPeerLink *link, const guint8 *id)
{
  if (link->current != NULL && memcmp (chatd_peer_session_id (link->current), id,
                                       CHATD_PEER_SESSION_ID_LEN) == 0)
    return link->current;
  for (GList *l = link->retired.head; l != NULL; l = l->next)
    {
      Retired *r = l->data;
      if (memcmp (chatd_peer_session_id (r->session), id, CHATD_PEER_SESSION_ID_LEN) == 0)
        return r->session;
    }
  return NULL;
}

/* the live session with this id (after expiring old ones), or NULL with
 * an error: `what` says what named it */
static ChatdPeerSession *
session_with_id (ChatdPeerLink *link, const guint8 *id, const char *what, gint64 now_us, GError **error)
{
  chatd_peer_link_expire (link, now_us);
  ChatdPeerSession *session = find_session (link, id);
  if (session == NULL)
    g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "%s of an unknown or expired peer session", what);
  return session;
}

/* the live session a message or receipt names, or NULL with an error */
static ChatdPeerSession *
session_of (ChatdPeerLink *link, GBytes *bytes, const char *what, gint64 now_us, GError **error)
{
  guint8 id[CHATD_PEER_SESSION_ID_LEN];
  if (!chatd_peer_message_session_id (bytes, id, error))
    return NULL;
  return session_with_id (link, id, what, now_us, error);
}

/* the same for a parsed peer session message (the session id is field 0
 * of every kind, checked by the schema) */
static ChatdPeerSession *
session_of_parsed (ChatdPeerLink *link, const ChatdAuthMessage *message, const char *what, gint64 now_us,
                   GError **error)
{
  if ((message->type != CHATD_MSG_PEER_MESSAGE && message->type != CHATD_MSG_PEER_RECEIPT &&
       message->type != CHATD_MSG_PEER_RECEIPTS) || message->fields[0].len != CHATD_PEER_SESSION_ID_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "%s is not a peer session message",
                   chatd_auth_message_type_name (message->type));
      return NULL;
    }
  return session_with_id (link, message->fields[0].data, what, now_us, error);
}

ChatdPeerSession *
chatd_peer_link_find (ChatdPeerLink *link, const guint8 *session_id, gint64 now_us)
{
  return session_with_id (link, session_id, "lookup", now_us, NULL);
}

GBytes *
chatd_peer_link_open_parsed (ChatdPeerLink *link, const ChatdAuthMessage *message, const guint8 *aad,
                             gsize aad_len, gint64 now_us, guint64 *ret_counter, guint8 *ret_digest,
                             GError **error)
{
  ChatdPeerSession *session = session_of_parsed (link, message, "message", now_us, error);
  if (session == NULL)
    return NULL;
  return chatd_peer_session_open_parsed (session, message, aad, aad_len, ret_counter, ret_digest, error);
}

gboolean
chatd_peer_link_check_receipts (ChatdPeerLink *link, const ChatdAuthMessage *message, gint64 now_us,
                                guint64 ret_counters[CHATD_PEER_RECEIPTS_MAX],
                                guint8 ret_statuses[CHATD_PEER_RECEIPTS_MAX], guint *ret_n, GError **error)
{
  ChatdPeerSession *session = session_of_parsed (link, message, "receipt batch", now_us, error);
  if (session == NULL)
    return FALSE;
  return chatd_peer_session_check_receipts (session, message, ret_counters, ret_statuses, ret_n, error);
}

GBytes *
chatd_peer_link_receipts (ChatdPeerLink *link, const guint8 *session_id, ChatdPeerReceiptEntry *entries,
                          guint n_entries, gint64 now_us, GError **error)
{
  ChatdPeerSession *session = session_with_id (link, session_id, "receipts", now_us, error);
  if (session == NULL)
    return NULL;
  return chatd_peer_session_receipts (session, entries, n_entries, error);
}

gboolean
chatd_peer_link_check_receipt (ChatdPeerLink *link, GBytes *receipt, gint64 now_us,
                               guint64 *ret_counter, guint8 *ret_status, GError **error)
{
  ChatdPeerSession *session = session_of (link, receipt, "receipt", now_us, error);
  if (session == NULL)
    return FALSE;
  return chatd_peer_session_check_receipt (session, receipt, ret_counter, ret_status, error);
}

GBytes *
chatd_peer_link_receipt (ChatdPeerLink *link, GBytes *message, guint8 status, gint64 now_us,
                         GError **error)
{
  ChatdPeerSession *session = session_of (link, message, "message", now_us, error);
  if (session == NULL)
    return NULL;
  return chatd_peer_session_receipt (session, message, status, error);
}

GBytes *
chatd_peer_link_open (ChatdPeerLink *link, GBytes *message, const guint8 *aad, gsize aad_len,
                      gint64 now_us, guint64 *ret_counter, GError **error)
{
  ChatdPeerSession *session = session_of (link, message, "message", now_us, error);
  if (session == NULL)
    return NULL;
  return chatd_peer_session_open (session, message, aad, aad_len, ret_counter, error);
}

gboolean
chatd_peer_link_needs_rekey (ChatdPeerLink *link, gint64 now_us)
{
  return link->current == NULL || chatd_peer_session_needs_rekey (link->current, now_us);
}
