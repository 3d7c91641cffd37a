/* Environments built in the parent for box_spawn's envp. */
#include "box.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static void box_env_grow(struct box_env *env)
{
	if (env->n + 1 < env->cap)
		return;
	env->cap = env->cap ? env->cap * 2 : 32;
	env->v = box_xrealloc(env->v, env->cap * sizeof(char *));
}

void box_env_init(struct box_env *env)
{
	memset(env, 0, sizeof(*env));
	for (char **e = environ; e && *e; e++) {
		box_env_grow(env);
		env->v[env->n++] = *e;
	}
	box_env_grow(env);
	env->v[env->n] = NULL;
}

void box_env_put(struct box_env *env, char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t len = eq ? (size_t)(eq - kv) + 1 : strlen(kv);

	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, len)) {
			env->v[i] = kv;
			return;
		}
	box_env_grow(env);
	env->v[env->n++] = kv;
	env->v[env->n] = NULL;
}

void box_env_set(struct box_env *env, const char *name, const char *value)
{
	char *kv = box_xasprintf("%s=%s", name, value);

	env->owned = box_xrealloc(env->owned, (env->nowned + 1) * sizeof(char *));
	env->owned[env->nowned++] = kv;
	box_env_put(env, kv);
}

void box_env_free(struct box_env *env)
{
	for (size_t i = 0; i < env->nowned; i++)
		free(env->owned[i]);
	free(env->owned);
	free(env->v);
	memset(env, 0, sizeof(*env));
}
