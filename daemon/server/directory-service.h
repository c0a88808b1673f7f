/* directory-service.h: the "directory" service table that a server node
 * offers to command plugins (include/chatd/service-directory.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/service-directory.h>
#include "directory.h"

/* The table; its entries find the directory through the host's node. */
const ChatdDirectoryService *chatd_directory_service (void);

/* The results in the service's shapes, for a directory (also for tests). */
GVariant *chatd_directory_user_to_variant (const ChatdDirectoryUser *user);
GVariant *chatd_directory_users_to_variant (ChatdDirectory *directory, gint64 now, GError **error);
char     *chatd_directory_format_time (gint64 unix_seconds);
