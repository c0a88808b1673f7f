/* password.h: where a user node gets its password, never from argv:
 * --password-file, else $CHATD_PASSWORD (read once, then wiped from the
 * environment), else a prompt on the terminal. */
#pragma once
#include "chatd-crypto.h"

#define CHATD_PASSWORD_MAX 1024

/* may_prompt: FALSE for a --daemon node (no terminal) */
ChatdSecret *chatd_password_obtain (const char *password_file, const char *user, gboolean may_prompt,
                                    GError **error);
