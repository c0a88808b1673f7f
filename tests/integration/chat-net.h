/* chat-net.h: a server and user nodes for integration tests: the server
 * seeded at a low KDF cost, user nodes logged in with --daemon. */
#pragma once
#include "node-harness.h"

#include <json-glib/json-glib.h>

#define SERVER_CONFIG "[chatd]\nserver=true\n[server]\nkdf-memory-kib=256\nkdf-passes=1\npow-bits=6\n"

typedef struct {
  TestNode  *server;
  char      *connect;     /* 127.0.0.1:PORT */
  GPtrArray *users;       /* TestNode* of user nodes, stopped at the end */
} Net;

void      net_start  (Net *net);
/* the same with more lines for the server's [server] group, e.g. "queue-ttl=2\n" */
void      net_start_with (Net *net, const char *server_options);
void      net_stop   (Net *net);
/* chatctl --json ARGS on node: the parsed document */
JsonNode *json_of    (TestNode *node, const char *const *args);
char     *status_field (TestNode *node, const char *field);
/* one counter of `stats`; -1 if the node has no counter of that name */
gint64    stats_counter (TestNode *node, const char *name);
gboolean  list_has   (TestNode *node, const char *name);
/* rows of node's `outbox` in state ("sending", "queued"; NULL: all) */
guint     outbox_length (TestNode *node, const char *state);
gboolean  outbox_empty  (TestNode *node, const char *unused);
/* node's inbox (`recv`) holds a message with exactly this text */
gboolean  inbox_has     (TestNode *node, const char *text);
gboolean  not_listed (TestNode *node, const char *name);
/* node's `list` shows name with the address where its node is reached (a
 * moment after that user's login): a send to it can go */
gboolean  reachable  (TestNode *node, const char *name);
gboolean  login_state_is (TestNode *node, const char *state);
pid_t     node_pid   (TestNode *node);
/* chatd --user ... --daemon; its exit status, stderr in ret_err */
int       start_user (Net *net, TestNode *node, const char *user, const char *password,
                      const char *const *extra, char **ret_err);
/* a demo user (password: the name, capitalised) logged in and listed by the
 * server; stopped by net_stop */
TestNode *login      (Net *net, const char *user);
gboolean  wait_until (TestNode *node, gboolean (*check) (TestNode *, const char *), const char *arg,
                      int seconds);
