/* node-harness.h: real chatd processes and the real chatctl, for
 * integration tests: temporary state, socket and runtime directories. */
#pragma once
#include <gio/gio.h>

typedef struct {
  char        *root;          /* temporary directory holding everything below */
  char        *runtime_dir;   /* XDG_RUNTIME_DIR for this test's processes */
  char        *state_home;    /* XDG_STATE_HOME */
  char        *socket_path;
  char        *state_dir;
  GSubprocess *process;       /* NULL once stopped, or for --daemon nodes */
} TestNode;

/* A fresh set of directories; nothing started. */
TestNode *test_node_new      (void);
/* A launcher with this test's environment (XDG dirs), capturing stdout/stderr. */
GSubprocessLauncher *test_node_launcher (TestNode *node);
/* Starts `chatd --server --socket S --state-dir D --plugin-dir P extra...`
 * and waits until the socket answers (at most 10 s). */
void      test_node_start_server (TestNode *node, const char *const *extra);
/* Runs chatd with exactly these arguments (no defaults added), waits for it
 * to exit and returns its exit status; output in ret_stdout/ret_stderr. */
int       test_run_chatd     (TestNode *node, const char *const *args,
                              char **ret_stdout, char **ret_stderr);
/* Runs `chatctl --socket S args...` and returns its exit status. */
int       test_run_chatctl   (TestNode *node, const char *const *args,
                              char **ret_stdout, char **ret_stderr);
/* The same with input on chatctl's standard input. */
int       test_run_chatctl_input (TestNode *node, const char *const *args, const char *input,
                                  char **ret_stdout, char **ret_stderr);
/* Runs chatctl with exactly these arguments (no --socket). */
int       test_run_chatctl_raw (TestNode *node, const char *const *args,
                                char **ret_stdout, char **ret_stderr);
/* Waits for the started process to exit (at most 10 s) and returns its exit status. */
int       test_node_wait     (TestNode *node);
/* Stops a running node (shutdown command) and removes the directories. */
void      test_node_free     (TestNode *node);
/* TRUE if stderr is exactly one line. */
gboolean  test_is_one_line   (const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestNode, test_node_free)

#define CHATD_ARGS(...) ((const char *const []) { __VA_ARGS__, NULL })
