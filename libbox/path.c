/* Path names as text: the last component, the directory part, joining. */
#include "box.h"

#include <string.h>

const char *box_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

char *box_xdirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return box_xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return box_xstrdup("/");
	char *d = box_xmalloc((size_t)(slash - path) + 1);
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = 0;
	return d;
}

char *box_xpath_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (!n || !*name)
		return box_xstrdup(*name ? name : dir);
	return box_xasprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}
