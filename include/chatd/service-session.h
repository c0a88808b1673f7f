/* service-session.h: what a node's role offers the session commands (list,
 * users, logout, passwd), looked up with host->get_service (host, CHATD_SERVICE_SESSION).
 * On a server node `list` is answered from its own presence table; on a user
 * node the node asks the server over its protected session.  Each function
 * ends the call (host->call_return or host->call_fail); an entry is NULL when
 * the role does not have it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once
#include <chatd/chatd-plugin.h>

G_BEGIN_DECLS

#define CHATD_SERVICE_SESSION "session"

typedef struct {
  /* aa{sv}: name, address, suite, fingerprint, since (ISO 8601) */
  void (*list)   (const ChatdHost *host, ChatdCall *call);
  /* aa{sv}: name, suite, fingerprint (user node: the server's signed key records) */
  void (*users)  (const ChatdHost *host, ChatdCall *call);
  /* a{sv}: status */
  void (*logout) (const ChatdHost *host, ChatdCall *call);
  /* a{sv}: status.  Re-wraps the user's key with new_password on this node
   * and stores the new blob at the server (user nodes only). */
  void (*passwd) (const ChatdHost *host, ChatdCall *call, const char *new_password);
} ChatdSessionService;

G_END_DECLS
