/* peer-skip-budget.h: a cap on the skipped message keys that all receive
 * ratchets of a process hold together.  Each ratchet keeps at most
 * CHATD_PEER_SKIPPED_MAX keys of messages that have not arrived yet; without
 * a shared cap, many sessions (or many peers, each planting keys with real
 * messages that skip counters) could still hold a lot of secure memory.  The
 * messenger makes one budget, passes it to every link (peer-link.h), and the
 * links give it to their sessions' receive ratchets.  When the budget is
 * used up, a ratchet that needs room gives up its own oldest skipped keys
 * first, then keeps only the newest of the keys it skipped (the older
 * messages, if they still come, are refused as too old).
 *
 * Not thread-safe (one main loop), reference-counted so that a ratchet can
 * outlive the link that gave it the budget. */
#pragma once
#include <glib.h>

typedef struct _ChatdPeerSkipBudget ChatdPeerSkipBudget;

/* A suggested size for the whole process: 65,536 keys, 2 MiB of secure
 * memory with 32-byte message keys. */
#define CHATD_PEER_SKIPPED_BUDGET_DEFAULT 65536

ChatdPeerSkipBudget *chatd_peer_skip_budget_new   (guint max_keys);
ChatdPeerSkipBudget *chatd_peer_skip_budget_ref   (ChatdPeerSkipBudget *budget);
void                 chatd_peer_skip_budget_unref (ChatdPeerSkipBudget *budget);

/* Takes up to want keys from the budget; returns how many it granted. */
guint chatd_peer_skip_budget_take    (ChatdPeerSkipBudget *budget, guint want);
/* Gives back keys taken earlier (when they are used, dropped or wiped). */
void  chatd_peer_skip_budget_release (ChatdPeerSkipBudget *budget, guint keys);

guint chatd_peer_skip_budget_in_use  (const ChatdPeerSkipBudget *budget);
guint chatd_peer_skip_budget_max     (const ChatdPeerSkipBudget *budget);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerSkipBudget, chatd_peer_skip_budget_unref)
