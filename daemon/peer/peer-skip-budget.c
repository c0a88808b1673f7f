/* peer-skip-budget.c: the process-wide cap on skipped message keys. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-skip-budget.h"

struct _ChatdPeerSkipBudget {
  guint ref;
  guint max;
  guint used;
};

ChatdPeerSkipBudget *
chatd_peer_skip_budget_new (guint max_keys)
{
  ChatdPeerSkipBudget *budget = g_new0 (ChatdPeerSkipBudget, 1);
  budget->ref = 1;
  budget->max = max_keys;
  return budget;
}

ChatdPeerSkipBudget *
chatd_peer_skip_budget_ref (ChatdPeerSkipBudget *budget)
{
  g_return_val_if_fail (budget != NULL && budget->ref > 0, budget);
  budget->ref++;
  return budget;
}

void
chatd_peer_skip_budget_unref (ChatdPeerSkipBudget *budget)
{
  if (budget == NULL)
    return;
  g_return_if_fail (budget->ref > 0);
  if (--budget->ref == 0)
    g_free (budget);
}

guint
chatd_peer_skip_budget_take (ChatdPeerSkipBudget *budget, guint want)
{
  guint granted = MIN (want, budget->max - budget->used);
  budget->used += granted;
  return granted;
}

void
chatd_peer_skip_budget_release (ChatdPeerSkipBudget *budget, guint keys)
{
  g_return_if_fail (keys <= budget->used);
  budget->used -= keys;
}

guint
chatd_peer_skip_budget_in_use (const ChatdPeerSkipBudget *budget)
{
  return budget->used;
}

guint
chatd_peer_skip_budget_max (const ChatdPeerSkipBudget *budget)
{
  return budget->max;
}
