/* not-a-plugin.c: a shared object that is no chatd plugin at all. */
#include <gmodule.h>

G_MODULE_EXPORT int not_a_plugin_answer (void);

int
not_a_plugin_answer (void)
{
  return 42;
}
