/* Table-driven unit tests: each C file in tests/unit declares its groups
 * with UNIT_GROUP(name) { ... CHECK(cond); ... } and the one binary runs
 * them by name: libbox_test GROUP (every group without one). */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>

struct unit_group {
	const char *name;
	void (*fn)(void);
	struct unit_group *next;
};

extern int unit_failures;
void unit_register(struct unit_group *g);

#define CHECK(cond) do { if (!(cond)) { unit_failures++; \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define UNIT_GROUP(id, name) \
	static void unit_##id(void); \
	__attribute__((constructor)) static void unit_register_##id(void) \
	{ \
		static struct unit_group g = { name, unit_##id, 0 }; \
		unit_register(&g); \
	} \
	static void unit_##id(void)

#endif
