/* cycles.c: the unreachable objects of a collection, classified.
 *
 * Given the unreachable set U (sorted by address; nobody can reach, so
 * nobody changes them), the graph of pointers between members of U gives:
 *   direct    no member of U points to it: the program dropped it
 *   cycle     a member of a strongly connected component of U with more
 *             than one member, or pointing to itself, that no direct object
 *             reaches: CPython's isolated reference cycles
 *   indirect  the rest: reachable only from other unreachable objects
 *             (from a direct one, or hanging off a cycle)
 * Direct and indirect objects are grouped by allocation site, each cycle
 * is a group of its own.  Invariant of the result (mg_leaks):
 *   objects == direct_objects + indirect_objects + cycle_objects == |U|
 * and the same for bytes; the groups' objects sum to objects.
 *
 * Strongly connected components come from Tarjan's algorithm, iterative
 * (a 10^7-object ring is one component, far deeper than any stack).  All
 * working memory is mg_os_map'd and unmapped before returning.
 */
#include "config.h"
#include <string.h>

#include "header.h"
#include "internal.h"

struct graph {
	size_t n, m;
	void *const *obj;
	uint64_t *size;
	uint64_t *off;          /* adj[off[u] .. off[u+1]) are u's edges */
	uint32_t *adj;
};

struct scratch { void *p; size_t size; };
#define MAX_SCRATCH 12
static struct scratch held[MAX_SCRATCH];
static int nheld;

static void *take(size_t size)
{
	if (nheld == MAX_SCRATCH)
		return NULL;
	size = size ? size : 1;
	void *p = mg_os_map(size);
	if (p)
		held[nheld++] = (struct scratch){ p, size };
	return p;
}

static void give_back(void)
{
	while (nheld)
		mg_os_unmap(held[nheld - 1].p, held[nheld - 1].size), nheld--;
}

/* The member of U holding address v, or -1. */
static long member(const struct graph *g, uintptr_t v)
{
	size_t a = 0, b = g->n;
	while (a < b) {                 /* first obj > v */
		size_t mid = (a + b) / 2;
		if ((uintptr_t)g->obj[mid] <= v)
			a = mid + 1;
		else
			b = mid;
	}
	if (a == 0)
		return -1;
	uintptr_t s = (uintptr_t)g->obj[a - 1];
	uint64_t size = g->size[a - 1] ? g->size[a - 1] : 1;
	if (v == s || (mg_opt.interior && v - s < size))
		return (long)(a - 1);
	return -1;
}

/* Counts (adj NULL) or records u's edges. */
static size_t edges(const struct graph *g, size_t u, uint32_t *adj)
{
	uintptr_t lo = (uintptr_t)g->obj[u], lo_heap = (uintptr_t)g->obj[0];
	uintptr_t span = (uintptr_t)g->obj[g->n - 1] + g->size[g->n - 1] + 1 - lo_heap;
	const uintptr_t *w = (const uintptr_t *)lo, *end = (const uintptr_t *)(lo + (g->size[u] & ~(uint64_t)7));
	size_t k = 0;
	for (; w < end; w++) {
		if (*w - lo_heap >= span)
			continue;
		long t = member(g, *w);
		if (t >= 0) {
			if (adj)
				adj[k] = (uint32_t)t;
			k++;
		}
	}
	return k;
}

static int build(struct graph *g, void *const *objs, size_t n)
{
	g->n = n;
	g->obj = objs;
	g->size = take(n * sizeof *g->size);
	g->off = take((n + 1) * sizeof *g->off);
	if (!g->size || !g->off)
		return -1;
	for (size_t i = 0; i < n; i++)
		g->size[i] = mg_hdr_size(mg_hdr_of(objs[i]));
	g->off[0] = 0;
	for (size_t i = 0; i < n; i++)
		g->off[i + 1] = g->off[i] + edges(g, i, NULL);
	g->m = g->off[n];
	g->adj = take(g->m * sizeof *g->adj);
	if (!g->adj)
		return -1;
	for (size_t i = 0; i < n; i++)
		edges(g, i, g->adj + g->off[i]);
	return 0;
}

/* ---- the groups ---- */

static struct mg_leak_group *new_group(struct mg_leaks *out)
{
	if (out->ngroups == out->groups_cap) {
		size_t cap = out->groups_cap ? out->groups_cap * 2 : 256;
		struct mg_leak_group *g = mg_os_map(cap * sizeof *g);
		if (!g)
			return NULL;
		if (out->groups) {
			memcpy(g, out->groups, out->ngroups * sizeof *g);
			mg_os_unmap(out->groups, out->groups_cap * sizeof *g);
		}
		out->groups = g;
		out->groups_cap = cap;
	}
	struct mg_leak_group *g = &out->groups[out->ngroups++];
	memset(g, 0, sizeof *g);
	return g;
}

/* by_site[site] is 1 + the index of the site's group of this kind, or 0 */
static int add_to_site(struct mg_leaks *out, uint32_t *by_site, uint32_t nsites, int kind,
		       const struct graph *g, size_t u)
{
	uint32_t site = mg_hdr_site(mg_hdr_of(g->obj[u]));
	struct mg_leak_group *grp;
	uint32_t slot = site < nsites ? site : MG_SITE_OVERFLOW;
	if (by_site[slot]) {
		grp = &out->groups[by_site[slot] - 1];
	} else {
		if (!(grp = new_group(out)))
			return -1;
		grp->kind = kind;
		grp->site = slot;
		by_site[slot] = (uint32_t)out->ngroups;
	}
	grp->objects++;
	grp->bytes += g->size[u];
	return 0;
}

static void sort_groups(struct mg_leaks *out)
{
	struct mg_leak_group *a = out->groups;
	size_t n = out->ngroups;
	for (size_t gap = n / 2; gap; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && a[j - gap].bytes < a[j].bytes; j -= gap) {
				struct mg_leak_group x = a[j];
				a[j] = a[j - gap];
				a[j - gap] = x;
			}
}

/* ---- Tarjan, iterative, over the nodes not reached from a direct one ---- */

enum { UNSEEN = 0, DIRECT = 1, INDIRECT = 2, CYCLE = 3, OPEN = 4 };

struct tarjan {
	const struct graph *g;
	uint8_t *kind;
	uint32_t *idx, *low;    /* idx 0: not visited */
	uint32_t *stk;          /* Tarjan's stack */
	uint8_t *on;
	uint32_t *cs;           /* the call stack: nodes */
	uint64_t *ce;           /* and the next edge of each */
	size_t sp, csp;
	uint32_t counter;
};

static int component(struct tarjan *t, uint32_t root, struct mg_leaks *out)
{
	/* pop root's component; a cycle if it has two members or a self edge */
	size_t top = t->sp;
	while (t->stk[top - 1] != root)
		top--;
	size_t size = t->sp - (top - 1);
	bool cycle = size > 1;
	if (!cycle)
		for (uint64_t e = t->g->off[root]; e < t->g->off[root + 1]; e++)
			if (t->g->adj[e] == root)
				cycle = true;
	struct mg_leak_group *grp = NULL;
	if (cycle) {
		if (!(grp = new_group(out)))
			return -1;
		grp->kind = MG_LEAK_CYCLE;
		out->cycles++;
	}
	uint64_t biggest = 0;
	for (size_t i = top - 1; i < t->sp; i++) {
		uint32_t v = t->stk[i];
		t->on[v] = 0;
		t->kind[v] = cycle ? CYCLE : INDIRECT;
		if (!cycle)
			continue;
		uint64_t sz = t->g->size[v];
		uint32_t site = mg_hdr_site(mg_hdr_of(t->g->obj[v]));
		grp->objects++;
		grp->bytes += sz;
		if (grp->objects == 1 || sz > biggest) {
			biggest = sz;
			grp->site = site;
		}
		bool seen = false;
		for (uint32_t k = 0; k < grp->nsites; k++)
			seen |= grp->sites[k] == site;
		if (!seen && grp->nsites < MG_CYCLE_SITES)
			grp->sites[grp->nsites++] = site;
	}
	t->sp = top - 1;
	return 0;
}

static int tarjan(struct tarjan *t, uint32_t start, struct mg_leaks *out)
{
	const struct graph *g = t->g;
	t->csp = 0;
	t->cs[t->csp] = start;
	t->ce[t->csp++] = g->off[start];
	t->idx[start] = t->low[start] = ++t->counter;
	t->stk[t->sp++] = start;
	t->on[start] = 1;
	while (t->csp) {
		uint32_t u = t->cs[t->csp - 1];
		uint64_t e = t->ce[t->csp - 1];
		if (e < g->off[u + 1]) {
			t->ce[t->csp - 1] = e + 1;
			uint32_t v = g->adj[e];
			if (t->kind[v] == DIRECT || t->kind[v] == INDIRECT || t->kind[v] == CYCLE) {
				if (!t->on[v])
					continue;      /* reached from a direct one, or done */
			}
			if (!t->idx[v]) {
				t->idx[v] = t->low[v] = ++t->counter;
				t->stk[t->sp++] = v;
				t->on[v] = 1;
				t->cs[t->csp] = v;
				t->ce[t->csp++] = g->off[v];
			} else if (t->on[v] && t->idx[v] < t->low[u]) {
				t->low[u] = t->idx[v];
			}
			continue;
		}
		t->csp--;
		if (t->low[u] == t->idx[u] && component(t, u, out))
			return -1;
		if (t->csp) {
			uint32_t p = t->cs[t->csp - 1];
			if (t->low[u] < t->low[p])
				t->low[p] = t->low[u];
		}
	}
	return 0;
}

int mg_cycles_classify(void *const *objs, size_t n, struct mg_leaks *out)
{
	out->checked = false;
	out->objects = out->bytes = 0;
	out->direct_objects = out->direct_bytes = 0;
	out->indirect_objects = out->indirect_bytes = 0;
	out->cycles = out->cycle_objects = out->cycle_bytes = 0;
	out->ngroups = 0;
	if (n == 0) {
		out->checked = true;
		return 0;
	}
	if (n >= UINT32_MAX)
		return -1;
	struct graph g;
	int ret = -1;
	if (build(&g, objs, n))
		goto out;
	struct tarjan t = { .g = &g };
	t.kind = take(n);
	t.idx = take(n * sizeof *t.idx);
	t.low = take(n * sizeof *t.low);
	t.stk = take(n * sizeof *t.stk);
	t.on = take(n);
	t.cs = take(n * sizeof *t.cs);
	t.ce = take(n * sizeof *t.ce);
	uint32_t nsites = mg_sites_count() + 2;
	uint32_t *direct_site = take((size_t)nsites * sizeof *direct_site);
	uint32_t *indirect_site = take((size_t)nsites * sizeof *indirect_site);
	if (!t.kind || !t.idx || !t.low || !t.stk || !t.on || !t.cs || !t.ce || !direct_site ||
	    !indirect_site)
		goto out;

	/* in-degrees (in idx, for now) give the direct ones */
	for (uint64_t e = 0; e < g.m; e++)
		t.idx[g.adj[e]]++;
	size_t sp = 0;
	for (size_t i = 0; i < n; i++)
		if (!t.idx[i]) {
			t.kind[i] = DIRECT;
			t.stk[sp++] = (uint32_t)i;
		}
	while (sp) {                    /* what they reach is indirect */
		uint32_t u = t.stk[--sp];
		for (uint64_t e = g.off[u]; e < g.off[u + 1]; e++)
			if (t.kind[g.adj[e]] == UNSEEN) {
				t.kind[g.adj[e]] = INDIRECT;
				t.stk[sp++] = g.adj[e];
			}
	}
	memset(t.idx, 0, n * sizeof *t.idx);
	for (size_t i = 0; i < n; i++)
		if (t.kind[i] == UNSEEN && tarjan(&t, (uint32_t)i, out))
			goto out;

	for (size_t i = 0; i < n; i++) {
		uint64_t sz = g.size[i];
		out->objects++;
		out->bytes += sz;
		switch (t.kind[i]) {
		case DIRECT:
			out->direct_objects++;
			out->direct_bytes += sz;
			if (add_to_site(out, direct_site, nsites, MG_LEAK_DIRECT, &g, i))
				goto out;
			break;
		case CYCLE:
			out->cycle_objects++;
			out->cycle_bytes += sz;
			break;
		default:
			out->indirect_objects++;
			out->indirect_bytes += sz;
			if (add_to_site(out, indirect_site, nsites, MG_LEAK_INDIRECT, &g, i))
				goto out;
			break;
		}
	}
	sort_groups(out);
	out->checked = true;
	ret = 0;
out:
	give_back();
	return ret;
}
